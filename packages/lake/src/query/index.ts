export { TrinoEngine, QueryEngineError, QueryCancelledError, type QueryEngine, type ExecuteOptions, type ExecuteResult } from './engine.js';
export { LakeQueryStore, FINAL_STATUSES, type LakeQueryRecord, type QueryStatus, type ResultRow } from './queryStore.js';
export { LakeTables } from './tables.js';
export { LakeQueries, LakeQueryRefused, resultText, type LakeCaller, type LakeQueriesOptions } from './lakeQueries.js';
