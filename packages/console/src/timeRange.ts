/**
 * The event history's time range: relative (the last 15 minutes, 12 hours, 7 days…, as
 * `<n><unit>` with unit m, h, d or w) or absolute (two ISO 8601 times, either may be empty), as
 * the CloudTrail console offers. Parsed with linear patterns; anything else is an error message
 * for the user, never an exception.
 */
export type TimeRangeInput = { kind: 'relative'; value: string } | { kind: 'absolute'; start: string; end: string };
export type TimeRange = { ok: true; start?: Date; end?: Date } | { ok: false; error: string };

const UNIT_MS = new Map([
  ['m', 60_000],
  ['h', 3_600_000],
  ['d', 86_400_000],
  ['w', 7 * 86_400_000],
]);
const RELATIVE = /^(\d{1,5})\s*([mhdw])$/;
// YYYY-MM-DD, optionally THH:MM, optional :SS and fraction, optional zone (Z or ±HH:MM); no zone: UTC.
const ABSOLUTE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?\s*(Z|[+-]\d{2}:\d{2})?$/i;
/** LookupEvents serves 90 days; a wider relative range is refused here rather than by the API. */
export const MAX_RELATIVE_MS = 90 * 86_400_000;

function absolute(text: string, name: string): Date | string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const m = ABSOLUTE.exec(t);
  if (!m) return `${name}: expected a date and time such as 2026-12-01T09:30Z`;
  const [, y, mo, d, h = '00', mi = '00', s = '00', zone] = m;
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}${zone ? zone.toUpperCase() : 'Z'}`;
  const date = new Date(iso);
  // Date rolls 2026-02-31 over to March: refuse what does not read back as written.
  if (Number.isNaN(date.getTime()) || Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return `${name}: not a valid date and time`;
  if (!zone && date.getUTCDate() !== Number(d)) return `${name}: not a valid date and time`;
  return date;
}

export function parseTimeRange(input: TimeRangeInput, now: number = Date.now()): TimeRange {
  if (input.kind === 'relative') {
    const m = RELATIVE.exec(input.value.trim());
    if (!m) return { ok: false, error: 'Relative range: a number and a unit, m, h, d or w (15m, 12h, 7d)' };
    const ms = Number(m[1]) * UNIT_MS.get(m[2]!)!;
    if (ms <= 0) return { ok: false, error: 'Relative range: must be longer than zero' };
    if (ms > MAX_RELATIVE_MS) return { ok: false, error: 'Relative range: at most 90 days (the event history keeps 90 days)' };
    return { ok: true, start: new Date(now - ms), end: new Date(now) };
  }
  const start = absolute(input.start, 'Start');
  if (typeof start === 'string') return { ok: false, error: start };
  const end = absolute(input.end, 'End');
  if (typeof end === 'string') return { ok: false, error: end };
  if (start && end && start.getTime() > end.getTime()) return { ok: false, error: 'The start must be before the end' };
  return { ok: true, ...(start ? { start } : {}), ...(end ? { end } : {}) };
}
