/**
 * One event as the console's table shows it, from a LookupEvents event (the SDK's shape) or a
 * QueryEvents / GetResourceHistory event (opentrail's, with SourceIPAddress and ErrorCode): the
 * CloudTrail console's columns. Members absent from the answer are read from the CloudTrailEvent
 * JSON; every value is kept as text and rendered as text.
 */
export interface ConsoleEvent {
  eventId: string;
  /** Epoch milliseconds. */
  eventTime: number;
  username: string;
  eventName: string;
  resourceType: string;
  resourceName: string;
  eventSource: string;
  accessKeyId: string;
  sourceIp: string;
  errorCode: string;
  readOnly: string;
  awsRegion: string;
  userAgent: string;
  /** The CloudTrailEvent JSON as the API answered it. */
  cloudTrailEvent: string;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');

function timeMs(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number') return v * 1000;
  if (typeof v === 'string') return Date.parse(v);
  return NaN;
}

function parseRecord(json: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(json);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : Object.create(null);
  } catch {
    return Object.create(null);
  }
}

export function toConsoleEvent(e: Record<string, unknown>): ConsoleEvent {
  const json = text(e.CloudTrailEvent);
  const record = parseRecord(json);
  const resources = Array.isArray(e.Resources) ? (e.Resources as unknown[]).filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null) : [];
  return {
    eventId: text(e.EventId) || text(record.eventID),
    eventTime: timeMs(e.EventTime),
    username: text(e.Username),
    eventName: text(e.EventName) || text(record.eventName),
    resourceType: resources.map((r) => text(r.ResourceType)).join(', '),
    resourceName: resources.map((r) => text(r.ResourceName)).join(', '),
    eventSource: text(e.EventSource) || text(record.eventSource),
    accessKeyId: text(e.AccessKeyId),
    sourceIp: text(e.SourceIPAddress) || text(record.sourceIPAddress),
    errorCode: text(e.ErrorCode) || text(record.errorCode),
    readOnly: text(e.ReadOnly) || text(record.readOnly),
    awsRegion: text(e.AwsRegion) || text(record.awsRegion),
    userAgent: text(record.userAgent),
    cloudTrailEvent: json,
  };
}
