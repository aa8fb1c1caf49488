/**
 * Record times as TIMESTAMP(3) values (epoch milliseconds, UTC).
 *
 * eventTime is `yyyy-MM-ddTHH:mm:ssZ` (cloudtrail-spec.md §1.3); sessionContext.attributes
 * .creationDate is documented in ISO-8601 basic form (`20131102T010628Z`) but real events use the
 * extended form (§1.4): both are read, with optional fractional seconds (kept to the millisecond).
 * Anything else, including impossible dates (2025-02-30, T24:00, leap seconds), is not a time: the
 * column is null and the text lives on in eventjson. Date.parse alone is lenient about these.
 */

const EXTENDED = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;
const BASIC = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?Z$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function parseLakeTimestamp(text: string): number | undefined {
  const m = EXTENDED.exec(text) ?? BASIC.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!)) return undefined;
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  // Date.UTC reads years 0-99 as 1900-1999: set the full year explicitly.
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, millis));
  date.setUTCFullYear(year);
  return date.getTime();
}
