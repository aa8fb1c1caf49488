export { CONSOLE_DIST_DIR, CONSOLE_ROOT } from './dist.js';
export { consoleBuildIsFresh, ensureConsoleBuild, sourceDigest } from './build.js';
export { toCsv, csvCell, EVENT_COLUMNS, type EventColumn } from './csv.js';
export { parseTimeRange, type TimeRange, type TimeRangeInput } from './timeRange.js';
export { toConsoleEvent, type ConsoleEvent } from './events.js';
