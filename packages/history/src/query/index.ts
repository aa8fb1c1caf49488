export { HistoryQueries, type HistoryQueriesOptions, type LookupEventsResponse, type QueryEventsResponse } from './historyQueries.js';
export { HistoryQueryError, type HistoryQueryErrorCode } from './errors.js';
export { NextTokenCodec, type Position } from './nextToken.js';
export { openQueryPool, type QueryPoolOptions } from './queryPool.js';
export { PERMISSION_ERROR_CODES } from './permissionErrors.js';
export { LOOKUP_ATTRIBUTE_KEYS, QUERY_EVENTS_MEMBERS, attributeValueLength, parseLookupEvents, parseQueryEvents, parseResourceHistory } from './requests.js';
export { type LookupEvent, type HistoryEvent } from './eventShape.js';
export type { Queryable } from './pageWalk.js';
export { activitySummary, parseActivitySummary, MAX_SUMMARY_RANGE_MS, type ActivitySummary, type ActivitySummaryRequest } from './summary.js';
