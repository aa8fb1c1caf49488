import type { TrailsSubcommand } from './trailArguments.js';

/**
 * How `opentrail trails` prints answers: tables for people, the API's JSON for programs. Values are
 * shown, never interpreted: control characters are replaced so that a trail name or an error
 * message cannot rewrite the terminal.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const printable = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

export interface DescribedTrail {
  Name?: string;
  TrailARN?: string;
  HomeRegion?: string;
  S3BucketName?: string;
  S3KeyPrefix?: string;
  IsMultiRegionTrail?: boolean;
  IsOrganizationTrail?: boolean;
  LogFileValidationEnabled?: boolean;
}

const LIST_COLUMNS = ['NAME', 'HOME REGION', 'S3 BUCKET/PREFIX', 'MULTI-REGION', 'ORGANIZATION', 'VALIDATION', 'ARN'] as const;
const yesNo = (b: boolean | undefined) => (b === undefined ? '-' : b ? 'yes' : 'no');

function table(rows: string[][]): string {
  const safe = rows.map((r) => r.map(printable));
  const widths = safe[0]!.map((_, i) => Math.max(...safe.map((r) => r[i]!.length)));
  return `${safe.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')}\n`;
}

export function trailListTable(trails: DescribedTrail[]): string {
  if (trails.length === 0) return 'no trails\n';
  return table([
    [...LIST_COLUMNS],
    ...trails.map((t) => [t.Name ?? '-', t.HomeRegion ?? '-', t.S3BucketName ? `${t.S3BucketName}${t.S3KeyPrefix ? `/${t.S3KeyPrefix}` : ''}` : '-', yesNo(t.IsMultiRegionTrail), yesNo(t.IsOrganizationTrail), yesNo(t.LogFileValidationEnabled), t.TrailARN ?? '-']),
  ]);
}

/** GetTrailStatus members that are epoch-second times (the obsolete ISO-string twins are left to --output json). */
const STATUS_TIMES = ['LatestDeliveryTime', 'LatestDigestDeliveryTime', 'LatestNotificationTime', 'LatestCloudWatchLogsDeliveryTime', 'StartLoggingTime', 'StopLoggingTime'];
const STATUS_ORDER = ['IsLogging', 'StartLoggingTime', 'StopLoggingTime', 'LatestDeliveryTime', 'LatestDeliveryError', 'LatestDigestDeliveryTime', 'LatestDigestDeliveryError', 'LatestNotificationTime', 'LatestNotificationError', 'LatestCloudWatchLogsDeliveryTime', 'LatestCloudWatchLogsDeliveryError'];

// Second precision, as the AWS CLI shows times.
const isoTime = (seconds: number) => new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function cell(value: unknown): string {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  return JSON.stringify(value);
}

export function statusTable(status: Record<string, unknown>): string {
  const rows = STATUS_ORDER.filter((k) => Object.hasOwn(status, k)).map((k) => [k, STATUS_TIMES.includes(k) && typeof status[k] === 'number' ? isoTime(status[k]) : cell(status[k])]);
  return table(rows.length ? rows : [['IsLogging', '-']]);
}

/** A trail as CreateTrail / UpdateTrail answer it: one member per line. */
export function trailTable(trail: Record<string, unknown>): string {
  const rows = Object.entries(trail).map(([k, v]) => [k, cell(v)]);
  return rows.length ? table(rows) : '\n';
}

/** What a subcommand prints for an answer. */
export function render(subcommand: TrailsSubcommand, input: Record<string, unknown>, output: unknown, format: 'table' | 'json'): string {
  if (format === 'json') return `${JSON.stringify(output, null, 2)}\n`;
  const answer = (output ?? {}) as Record<string, unknown>;
  const name = printable(typeof input.Name === 'string' ? input.Name : '');
  switch (subcommand) {
    case 'list':
      return trailListTable((answer.trailList ?? []) as DescribedTrail[]);
    case 'status':
      return statusTable(answer);
    case 'create':
    case 'update':
      return trailTable(answer);
    case 'delete':
      return `deleted trail ${name}\n`;
    case 'start':
      return `logging started: ${name}\n`;
    case 'stop':
      return `logging stopped: ${name}\n`;
  }
}
