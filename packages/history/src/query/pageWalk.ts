import { createHash } from 'node:crypto';
import { dayStart, MICROS_PER_DAY, type Micros } from './timeRange.js';
import { windowStatement, type EventFilter, type EventRow, type TimeRange } from './eventFilter.js';
import type { Position } from './nextToken.js';

/** The part of a pg Pool or Client the queries use. */
export interface Queryable {
  query<R extends object>(config: { text: string; values: unknown[]; name?: string }): Promise<{ rows: R[] }>;
}

/**
 * How a statement is planned. `custom`: unnamed, planned for its actual values each time (the
 * combined query, where value skew decides which index wins). `prepared`: a named statement, whose
 * generic plan the connection caches (with plan_cache_mode = force_generic_plan) and prunes to the
 * window's partitions at executor start-up: LookupEvents has one attribute and resource history
 * one resource, so one index serves every value and planning over the day partitions would be
 * most of their cost (measured: bench/history-lookup.bench.ts, BENCH_CUSTOM_PLANS_ONLY=1).
 */
export type Planning = 'custom' | 'prepared';

const statementName = (text: string) => `history_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;

/**
 * One page, newest first, walking back through the time range a window at a time: first the day
 * of the upper bound, then a week at a time. Each statement covers a few day partitions, so its
 * plan stays cheap (planning over all 90 partitions costs 10–25 ms on this machine, more than the
 * scan) and a page usually ends within the first window. It asks for one row more than the page
 * so that a NextToken is given only when there is a next page.
 *
 * With generic plans ('prepared') nothing is planned per statement, and what a window costs is a
 * round trip and the executor's start over its partitions; a rare value (an access key seen a few
 * times a month, an EventId) walked all thirteen weeks, 14 statements. Those windows grow instead:
 * the day, a week, four weeks, then the rest of the range in one statement (at most four).
 * Measured at 10M events, both walks alternating on one connection, p50/p99 ms: EventId 8.3/24 →
 * 5.1/16, a value that matches nothing 2.0/8.9 → 1.2/3.0; AccessKeyId, ResourceName and Username
 * unchanged at p50 (their pages fill within the first windows either way).
 */
export const LATER_WINDOW = 7n * MICROS_PER_DAY;
/** Window lengths after the first, for generic plans; the last one repeats. */
const PREPARED_WINDOWS = [7n * MICROS_PER_DAY, 28n * MICROS_PER_DAY, 3650n * MICROS_PER_DAY];

export interface Page {
  rows: EventRow[];
  /** The position after the last row, when more rows follow. */
  next?: Position;
}

export async function walkPage(db: Queryable, filter: EventFilter, range: TimeRange, after: Position | undefined, pageSize: number, planning: Planning = 'custom'): Promise<Page> {
  const rows: EventRow[] = [];
  const wanted = pageSize + 1;
  let upper: Micros = after ? after.time : range.end;
  if (upper > range.end) upper = range.end;
  let first = true;
  let step = 0;
  while (rows.length < wanted && upper >= range.start) {
    let from = first ? dayStart(upper) : upper - (planning === 'prepared' ? PREPARED_WINDOWS[Math.min(step++, PREPARED_WINDOWS.length - 1)]! : LATER_WINDOW);
    if (!first) from = dayStart(from);
    if (from < range.start) from = range.start;
    // Below the first window the upper bound is exclusive: the window above covered it.
    const statement = windowStatement(filter, { from, to: upper, toInclusive: first, ...(first && after ? { after } : {}) }, wanted - rows.length);
    const result = await db.query<EventRow>(planning === 'prepared' ? { ...statement, name: statementName(statement.text) } : statement);
    rows.push(...result.rows);
    if (from === range.start) break;
    upper = from;
    first = false;
  }
  if (rows.length <= pageSize) return { rows };
  const page = rows.slice(0, pageSize);
  const last = page[page.length - 1]!;
  return { rows: page, next: { time: BigInt(last.time_us), eventId: last.event_id } };
}
