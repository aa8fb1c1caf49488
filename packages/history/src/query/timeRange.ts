import { HistoryQueryError } from './errors.js';

/**
 * Times inside the query layer are epoch MICROseconds (bigint): PostgreSQL keeps timestamptz to the
 * microsecond, and a NextToken position must be exact, or a page boundary between two events of the
 * same millisecond would skip or repeat one.
 */
export type Micros = bigint;

export const MICROS_PER_DAY = 86_400_000_000n;

/** A request timestamp: JSON 1.1 sends epoch seconds (cloudtrail-spec.md §5), possibly fractional; ISO text is accepted too. */
export function parseTimestamp(value: unknown, member: string): Micros | undefined {
  if (value === undefined || value === null) return undefined;
  let ms: number | undefined;
  if (typeof value === 'number' && Number.isFinite(value)) ms = value * 1000;
  else if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    ms = Number.isFinite(n) ? n * 1000 : Date.parse(value);
  }
  // Beyond year 10000 or before 1970 no event can match; refuse rather than overflow PostgreSQL's range.
  if (ms === undefined || !Number.isFinite(ms) || ms < 0 || ms > 253_402_300_799_000) {
    throw new HistoryQueryError('SerializationException', `${member} must be a timestamp (epoch seconds)`);
  }
  return BigInt(Math.round(ms * 1000));
}

export const microsFromMillis = (ms: number): Micros => BigInt(Math.trunc(ms)) * 1000n;

/** The UTC midnight at or before `t`: windows align to the day partitions. */
export const dayStart = (t: Micros): Micros => t - (((t % MICROS_PER_DAY) + MICROS_PER_DAY) % MICROS_PER_DAY);

/**
 * A timestamptz literal with all six fractional digits. Passed as a query parameter (not computed
 * in SQL) so that, with custom plans, the planner sees constants and prunes partitions at plan time.
 */
export function isoMicros(t: Micros): string {
  const ms = t / 1000n;
  const us = Number(t % 1000n);
  return new Date(Number(ms)).toISOString().replace('Z', `${String(us).padStart(3, '0')}Z`);
}

/** Epoch seconds as the wire shows them (`"EventTime": 1424476529.0`). */
export const epochSeconds = (t: Micros): number => Number(t) / 1e6;
