/**
 * How the history commands print events: a table for people (newest first, one line each: when,
 * what, who, from where, the outcome and the resources), or the API's JSON for programs.
 */
export interface PrintedEvent {
  EventId: string;
  EventName: string;
  EventTime: number;
  EventSource: string;
  Username?: string;
  SourceIPAddress?: string;
  ErrorCode?: string;
  AccountId?: string;
  AwsRegion?: string;
  Resources: { ResourceType: string | null; ResourceName: string }[];
}

// ERROR CODE, not "result": a failed console sign-in has an errorMessage but no errorCode, so the
// absence of a code does not prove success.
const COLUMNS = ['TIME (UTC)', 'EVENT', 'SOURCE', 'USER', 'FROM', 'ERROR CODE', 'RESOURCES'] as const;
// A free-form value (a user name, an error code) is shown, never interpreted: control characters
// would let a recorded value rewrite the terminal.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const printable = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

function cells(e: PrintedEvent): string[] {
  return [
    new Date(e.EventTime * 1000).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ''),
    e.EventName,
    e.EventSource.replace(/\.amazonaws\.com$/, ''),
    e.Username ?? '-',
    e.SourceIPAddress ?? '-',
    e.ErrorCode ?? '-',
    e.Resources.map((r) => r.ResourceName).join(', ') || '-',
  ].map(printable);
}

export function eventTable(events: PrintedEvent[]): string {
  if (events.length === 0) return 'no events\n';
  const rows = [COLUMNS as readonly string[], ...events.map(cells)];
  const widths = COLUMNS.map((_, i) => Math.min(i === COLUMNS.length - 1 ? 80 : 40, Math.max(...rows.map((r) => r[i]!.length))));
  const fit = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width));
  return `${rows.map((r) => r.map((c, i) => fit(c, widths[i]!)).join('  ').trimEnd()).join('\n')}\n`;
}

export function eventJson(events: unknown[]): string {
  return `${JSON.stringify({ Events: events }, null, 2)}\n`;
}
