import { eventAccountId, writeRecordJson } from '@opentrail/cloudtrail';
import type { ApiCallEvent } from '@opentrail/serde';
import { OpentrailError } from '@opentrail/errors';
import { eventResources, type LookupResource, type ResourceKey } from './resources.js';
import { eventUsername } from './username.js';

/** One events row (and its event_resources rows), in the columns of migrations/001_events.sql. */
export interface EventRow {
  /** eventTime as CloudTrail writes it (`YYYY-MM-DDTHH:MM:SSZ`). */
  eventTime: string;
  /** eventTime in Unix milliseconds (parsed once, here). */
  timeMs: number;
  /** The UTC day of eventTime, `YYYYMMDD`: its partition. */
  day: string;
  eventId: string;
  accountId: string;
  region: string;
  eventName: string;
  eventSource: string;
  readOnly: boolean | null;
  username: string | null;
  accessKeyId: string | null;
  sourceIp: string | null;
  errorCode: string | null;
  eventCategory: string;
  resources: LookupResource[];
  resourceKeys: ResourceKey[];
  /** The CloudTrailEvent JSON: the archiver's line for this event, byte for byte. */
  record: string;
}

/** Why an event cannot be stored, naming the member. Dead-lettered, never retried. */
export class UnstorableEventError extends OpentrailError<'UNSTORABLE_EVENT'> {
  constructor(
    readonly member: string,
    readonly reason: string,
  ) {
    super('UNSTORABLE_EVENT', `${member}: ${reason}`);
  }
}

/**
 * ApiCallEvent → events row. The record text comes from the archiver's writer (writeRecordJson),
 * so LookupEvents' CloudTrailEvent is byte-identical to the line in the log file.
 */
export function toEventRow(event: ApiCallEvent): EventRow {
  const time = Date.parse(event.eventTime);
  if (!Number.isFinite(time)) throw new UnstorableEventError('eventTime', `not a timestamp: ${JSON.stringify(event.eventTime.slice(0, 40))}`);
  const { shown, keys } = eventResources(event);
  const row: EventRow = {
    eventTime: event.eventTime,
    timeMs: time,
    day: dayOfEventTime(event.eventTime, time),
    eventId: event.eventID,
    accountId: eventAccountId(event),
    region: event.awsRegion,
    eventName: event.eventName ?? '',
    eventSource: event.eventSource ?? '',
    readOnly: event.readOnly,
    username: eventUsername(event.userIdentity),
    accessKeyId: event.userIdentity?.accessKeyId ?? null,
    sourceIp: event.sourceIPAddress,
    errorCode: event.errorCode,
    eventCategory: event.eventCategory ?? (event.eventType === 'AwsCloudTrailInsight' ? 'Insight' : 'Management'),
    resources: shown,
    resourceKeys: keys,
    record: writeRecordJson(event),
  };
  checkStorable(row);
  return row;
}

/**
 * PostgreSQL text is UTF-8: a lone UTF-16 surrogate would be stored as U+FFFD, silently, and the
 * event would no longer come back as it went in. Refused up front instead. (A NUL character, which
 * PostgreSQL refuses itself, is left to it: the writer dead-letters what the database refuses.)
 */
function checkStorable(row: EventRow) {
  const columns: [string, string | null][] = [
    ['eventID', row.eventId], ['recipientAccountId', row.accountId], ['awsRegion', row.region], ['eventName', row.eventName],
    ['eventSource', row.eventSource], ['userIdentity (username)', row.username], ['userIdentity.accessKeyId', row.accessKeyId],
    ['sourceIPAddress', row.sourceIp], ['errorCode', row.errorCode], ['eventCategory', row.eventCategory],
  ];
  for (const [member, value] of columns) {
    if (value !== null && LONE_SURROGATE.test(value)) throw new UnstorableEventError(member, 'contains a lone UTF-16 surrogate');
  }
  for (const key of row.resourceKeys) {
    if (LONE_SURROGATE.test(key.name)) throw new UnstorableEventError('resources', 'a resource name contains a lone UTF-16 surrogate');
  }
}

/** In a `u` regex a surrogate pair is one code point, so only unpaired halves match. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * The day of an eventTime: read from the text when it is CloudTrail's UTC form
 * (`YYYY-MM-DDTHH:MM:SSZ`, what validation lets through), which costs a tenth of formatting a Date
 * per event; any other form Date.parse accepted goes through the instant.
 */
function dayOfEventTime(text: string, ms: number): string {
  if (text.length === 20 && text.charCodeAt(19) === 0x5a /* Z */ && text.charCodeAt(10) === 0x54 /* T */ && text.charCodeAt(4) === 0x2d && text.charCodeAt(7) === 0x2d) {
    return text.slice(0, 4) + text.slice(5, 7) + text.slice(8, 10);
  }
  return dayOf(ms);
}

/** `YYYYMMDD` of a UTC instant (ms). */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
}
