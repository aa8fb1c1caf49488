import type { ConsoleEvent } from './events.js';

/** The event table's columns (the CloudTrail console's, then opentrail's extras), in display order. */
export type EventColumn = { key: keyof ConsoleEvent; title: string; default: boolean };

export const EVENT_COLUMNS: readonly EventColumn[] = Object.freeze([
  { key: 'eventTime', title: 'Event time', default: true },
  { key: 'username', title: 'User name', default: true },
  { key: 'eventName', title: 'Event name', default: true },
  { key: 'resourceType', title: 'Resource type', default: true },
  { key: 'resourceName', title: 'Resource name', default: true },
  { key: 'eventSource', title: 'Event source', default: true },
  { key: 'accessKeyId', title: 'AWS access key', default: true },
  { key: 'sourceIp', title: 'Source IP address', default: true },
  { key: 'errorCode', title: 'Error code', default: true },
  { key: 'readOnly', title: 'Read-only', default: false },
  { key: 'awsRegion', title: 'AWS region', default: false },
  { key: 'userAgent', title: 'User agent', default: false },
  { key: 'eventId', title: 'Event ID', default: false },
]);

// A cell a spreadsheet would read as a formula (OWASP "CSV injection"): =, +, -, @, and a tab or
// carriage return before one of them.
const FORMULA_START = new Set(['=', '+', '-', '@', '\t', '\r']);

/** One CSV field (RFC 4180): quoted when it holds a quote, comma or line break; a formula-like value is prefixed with `'` so that it stays text. */
export function csvCell(value: string): string {
  let v = value;
  if (v.length > 0 && FORMULA_START.has(v[0]!)) v = `'${v}`;
  return /[",\r\n]/.test(v) || v !== v.trim() ? `"${v.replaceAll('"', '""')}"` : v;
}

export function cellText(e: ConsoleEvent, key: keyof ConsoleEvent): string {
  const v = e[key];
  if (key === 'eventTime') return Number.isFinite(v) ? new Date(v).toISOString() : '';
  return String(v);
}

/** The current result as CSV: a header of the column titles, one line per event, CRLF line ends (RFC 4180). */
export function toCsv(events: readonly ConsoleEvent[], columns: readonly EventColumn[] = EVENT_COLUMNS): string {
  const lines = [columns.map((c) => csvCell(c.title)).join(',')];
  for (const e of events) lines.push(columns.map((c) => csvCell(cellText(e, c.key))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
