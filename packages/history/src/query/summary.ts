import { HistoryQueryError } from './errors.js';
import type { Queryable } from './pageWalk.js';

/**
 * The console's Overview (issue 15): events per minute, the busiest callers and the callers and
 * calls that failed most, over one region and a bounded time range. Every statement is
 * parameterised; the range bounds the partitions scanned (event_time is the partition key) and is
 * at most `MAX_SUMMARY_RANGE_MS`, so a summary never walks the whole retention period.
 */
export const MAX_SUMMARY_RANGE_MS = 24 * 3_600_000;
export const DEFAULT_SUMMARY_RANGE_MS = 3_600_000;
const TOP = 10;

export interface ActivitySummaryRequest {
  region: string;
  startMs: number;
  endMs: number;
}

export interface ActivitySummary {
  StartTime: number;
  EndTime: number;
  /** One entry per minute that had events, oldest first: minute start in epoch seconds. */
  EventsPerMinute: { Minute: number; Count: number; Failed: number }[];
  TopCallers: { Username: string; Count: number }[];
  TopFailedCalls: { EventName: string; EventSource: string; ErrorCode: string; Count: number }[];
  TotalEvents: number;
  FailedEvents: number;
}

function seconds(value: unknown, member: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw new HistoryQueryError('SerializationException', `${member} must be a timestamp (epoch seconds)`);
  return n * 1000;
}

/** `{StartTime?, EndTime?}` in epoch seconds; the last hour when neither is given. */
export function parseActivitySummary(input: Record<string, unknown>, region: string, now: number): ActivitySummaryRequest {
  for (const key of Object.keys(input)) {
    if (key !== 'StartTime' && key !== 'EndTime') throw new HistoryQueryError('InvalidParameterException', `Unknown parameter: ${key.slice(0, 100)}`);
  }
  const end = seconds(input.EndTime, 'EndTime') ?? now;
  const start = seconds(input.StartTime, 'StartTime') ?? end - DEFAULT_SUMMARY_RANGE_MS;
  if (start > end) throw new HistoryQueryError('InvalidTimeRangeException', 'Start time must be earlier than end time');
  if (end - start > MAX_SUMMARY_RANGE_MS) throw new HistoryQueryError('InvalidTimeRangeException', `The time range of a summary is at most ${MAX_SUMMARY_RANGE_MS / 3_600_000} hours`);
  return { region, startMs: start, endMs: end };
}

const PER_MINUTE = `SELECT (extract(epoch FROM date_trunc('minute', event_time)))::bigint AS minute, count(*)::int AS count,
    (count(*) FILTER (WHERE error_code IS NOT NULL AND error_code <> ''))::int AS failed
  FROM events WHERE region = $1 AND event_time >= $2 AND event_time <= $3 AND event_category <> 'Insight'
  GROUP BY 1 ORDER BY 1`;
const TOP_CALLERS = `SELECT coalesce(username, '') AS username, count(*)::int AS count
  FROM events WHERE region = $1 AND event_time >= $2 AND event_time <= $3 AND event_category <> 'Insight'
  GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ${TOP}`;
const TOP_FAILED = `SELECT event_name, event_source, error_code, count(*)::int AS count
  FROM events WHERE region = $1 AND event_time >= $2 AND event_time <= $3 AND error_code IS NOT NULL AND error_code <> ''
  GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3 LIMIT ${TOP}`;

export async function activitySummary(db: Queryable, r: ActivitySummaryRequest): Promise<ActivitySummary> {
  const values = [r.region, new Date(r.startMs).toISOString(), new Date(r.endMs).toISOString()];
  const [perMinute, callers, failed] = await Promise.all([
    db.query<{ minute: string; count: number; failed: number }>({ text: PER_MINUTE, values }),
    db.query<{ username: string; count: number }>({ text: TOP_CALLERS, values }),
    db.query<{ event_name: string; event_source: string; error_code: string; count: number }>({ text: TOP_FAILED, values }),
  ]);
  const EventsPerMinute = perMinute.rows.map((row) => ({ Minute: Number(row.minute), Count: row.count, Failed: row.failed }));
  return {
    StartTime: r.startMs / 1000,
    EndTime: r.endMs / 1000,
    EventsPerMinute,
    TopCallers: callers.rows.map((row) => ({ Username: row.username, Count: row.count })),
    TopFailedCalls: failed.rows.map((row) => ({ EventName: row.event_name, EventSource: row.event_source, ErrorCode: row.error_code, Count: row.count })),
    TotalEvents: EventsPerMinute.reduce((n, m) => n + m.Count, 0),
    FailedEvents: EventsPerMinute.reduce((n, m) => n + m.Failed, 0),
  };
}
