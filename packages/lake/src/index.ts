export * from './stores/index.js';
export * from './table/index.js';
export { checkLakeQuery, MAX_STATEMENT_LENGTH, MAX_QUERY_PARAMETERS, MAX_QUERY_PARAMETER_LENGTH, type CheckLakeQueryOptions, type LakeQueryCheck, type ResolvedStore } from './sql/guard.js';
export { LakeQueryError, type LakeQueryErrorCode, type SourcePosition } from './sql/errors.js';
export { parseLakeSql, type ParsedQuery, type SqlNode, type TableReference } from './sql/parser.js';
export * from './query/index.js';
