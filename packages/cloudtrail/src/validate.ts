import { randomUUID } from 'node:crypto';
import type { ApiCallEvent } from '@opentrail/serde';
import { checkJsonMembers, toApiCallEvent, userIdentityJsonBytes, writeRecordJson } from './codec.js';
import { checkRecordContent, describeValue, type RecordProblem } from './content.js';
import {
  ACCOUNT_ID_PATTERN,
  CURRENT_EVENT_VERSION,
  KNOWN_AWS_REGIONS,
  MAX_EVENT_BYTES,
  MAX_USER_IDENTITY_BYTES,
  formatEventTime,
  parseEventTime,
  type CloudTrailRecord,
} from './record.js';
import { OpentrailError } from '@opentrail/errors';

/** A record refused up front: nothing was sent. `problems` names each bad member and why. */
export class InvalidRecordError extends OpentrailError<'INVALID_RECORD'> {
  constructor(readonly problems: RecordProblem[]) {
    super('INVALID_RECORD', `invalid CloudTrail record: ${problems.map((p) => `${p.member} ${p.problem}`).join('; ')}`);
  }
}

/** The account whose trail the record belongs to: the recipient, else the caller's account. */
export function recordAccountId(record: { recipientAccountId?: unknown; userIdentity?: unknown }): string | undefined {
  if (typeof record.recipientAccountId === 'string') return record.recipientAccountId;
  const identity = record.userIdentity as { accountId?: unknown } | null | undefined;
  return typeof identity?.accountId === 'string' ? identity.accountId : undefined;
}

/** Kafka key of an event: every event of one (account, region) lives in one partition. */
export function routingKey(accountId: string, region: string): string {
  return `${accountId}/${region}`;
}

/**
 * Fills what the producer may leave out (cloudtrail-spec.md §1.3): eventID (a new UUID),
 * eventVersion (the current version) and eventTime (now), each only when ABSENT. An explicit null
 * is the caller's value, not a request for a default: validation refuses it rather than replace it.
 * Returns a new object; the caller's is untouched.
 */
export function withDefaults(record: CloudTrailRecord, now: Date = new Date()): CloudTrailRecord {
  if (record.eventID !== undefined && record.eventVersion !== undefined && record.eventTime !== undefined) return record;
  return {
    ...record,
    eventVersion: record.eventVersion === undefined ? CURRENT_EVENT_VERSION : record.eventVersion,
    eventTime: record.eventTime === undefined ? formatEventTime(now) : record.eventTime,
    eventID: record.eventID === undefined ? randomUUID() : record.eventID,
  };
}

/** Optional string members: a string, or null/absent (an explicit null is carried as null). */
const OPTIONAL_STRINGS = ['eventType', 'eventCategory', 'sourceIPAddress', 'userAgent', 'errorCode', 'errorMessage', 'requestID', 'apiVersion', 'sharedEventID', 'vpcEndpointId', 'vpcEndpointAccountId', 'recipientAccountId'] as const;
const OPTIONAL_BOOLEANS = ['readOnly', 'managementEvent'] as const;
/** Members that are a JSON object or null/absent (cloudtrail-spec.md §1.3). */
const OPTIONAL_OBJECTS = ['userIdentity', 'requestParameters', 'responseElements', 'additionalEventData', 'serviceEventDetails', 'insightDetails', 'addendum', 'tlsDetails', 'edgeDeviceDetails'] as const;

/** Insights types (cloudtrail-spec.md §7.1); a trail's insight selectors choose among them. */
export const INSIGHT_TYPES: ReadonlySet<string> = new Set(['ApiCallRateInsight', 'ApiErrorRateInsight']);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The members' checks (after defaults), each problem saying what was expected and what came.
 * Assumes checkRecordContent passed (plain JSON data).
 */
function checkMembers(r: CloudTrailRecord, regions: ReadonlySet<string>): RecordProblem[] {
  const problems: RecordProblem[] = [];
  const add = (member: string, problem: string) => problems.push({ member, problem });
  const expected = (member: string, what: string, value: unknown) => add(member, `expected ${what}, got ${describeValue(value)}`);

  for (const member of ['eventVersion', 'eventID'] as const) {
    const value = r[member];
    if (typeof value !== 'string' || value === '') {
      expected(member, value === null ? 'a non-empty string, or no member at all to have one filled in' : 'a non-empty string', value);
    }
  }
  if (typeof r.eventTime !== 'string' || parseEventTime(r.eventTime) === undefined) {
    expected('eventTime', 'a real UTC instant as yyyy-MM-ddTHH:mm:ssZ (years 0001-9999)', r.eventTime);
  }
  if (typeof r.awsRegion !== 'string') expected('awsRegion', 'a region name such as us-east-1', r.awsRegion);
  else if (!regions.has(r.awsRegion)) add('awsRegion', `expected a known AWS region (or one allowed by additionalRegions), got ${describeValue(r.awsRegion)}`);

  const insight = r.eventType === 'AwsCloudTrailInsight';
  // Insights records carry no top-level eventSource/eventName (cloudtrail-spec.md §7.1).
  if (!insight) {
    for (const member of ['eventSource', 'eventName'] as const) {
      if (typeof r[member] !== 'string' || r[member] === '') expected(member, 'a non-empty string', r[member]);
    }
  }
  for (const member of OPTIONAL_STRINGS) {
    const value = r[member];
    if (value !== undefined && value !== null && typeof value !== 'string') expected(member, 'a string (or null, or no member)', value);
  }
  for (const member of OPTIONAL_BOOLEANS) {
    const value = r[member];
    if (value !== undefined && value !== null && typeof value !== 'boolean') expected(member, 'a boolean (or null, or no member)', value);
  }
  for (const member of OPTIONAL_OBJECTS) {
    const value = r[member];
    if (value !== undefined && value !== null && !isObject(value)) expected(member, 'an object (or null, or no member)', value);
  }
  if (isObject(r.userIdentity)) {
    const bytes = Buffer.byteLength(JSON.stringify(r.userIdentity));
    if (bytes > MAX_USER_IDENTITY_BYTES) add('userIdentity', `is ${bytes} bytes of JSON; the limit is ${MAX_USER_IDENTITY_BYTES} (MAX_USER_IDENTITY_BYTES)`);
  }
  if (insight) {
    const type = isObject(r.insightDetails) ? r.insightDetails.insightType : undefined;
    if (typeof type !== 'string' || !INSIGHT_TYPES.has(type)) {
      expected('insightDetails.insightType', `one of ${[...INSIGHT_TYPES].join(', ')} on an Insights record (eventType AwsCloudTrailInsight)`, type);
    }
  }

  const account = recordAccountId(r);
  if (account === undefined) add('recipientAccountId', 'or userIdentity.accountId is required (the account the event belongs to): expected a 12-digit account id, got nothing');
  else if (!ACCOUNT_ID_PATTERN.test(account)) {
    expected(typeof r.recipientAccountId === 'string' ? 'recipientAccountId' : 'userIdentity.accountId', 'a 12-digit account id', account);
  }
  return problems;
}

/** The record as accepted: with defaults, in its Avro form, and its log-line size. */
export interface AcceptedRecord {
  record: CloudTrailRecord;
  event: ApiCallEvent;
  /** UTF-8 bytes of the record's JSON in the log file: what MAX_EVENT_BYTES limits. */
  jsonBytes: number;
}

function refuse(problems: RecordProblem[]): never {
  throw new InvalidRecordError(problems);
}

/**
 * The one check where a record enters the pipeline (the producer client): content (plain JSON
 * data, RECORD_LIMITS), defaults for absent eventID/eventVersion/eventTime, members, and the size
 * of the log line it will become. Returns the record and its Avro form, or throws
 * InvalidRecordError naming every problem: a record it returns comes out of the log file equal to
 * `record` (same members, same values; member order may differ).
 */
export function acceptRecord(input: unknown, regions: ReadonlySet<string> = KNOWN_AWS_REGIONS, now?: Date): AcceptedRecord {
  if (!isObject(input)) refuse([{ member: '(record)', problem: `expected a JSON object, got ${describeValue(input)}` }]);
  const content = checkRecordContent(input);
  if (content.length > 0) refuse(content);
  const record = withDefaults(input, now);
  const problems = checkMembers(record, regions);
  if (problems.length > 0) refuse(problems);
  const event = toApiCallEvent(record);
  const jsonBytes = eventJsonBytes(event);
  if (jsonBytes > MAX_EVENT_BYTES) refuse([sizeProblem(jsonBytes)]);
  return { record, event, jsonBytes };
}

/**
 * Everything wrong with a record (defaults are NOT filled: pass withDefaults(record) to check a
 * record as the producer would), or an empty list.
 */
export function validateRecord(record: unknown, regions: ReadonlySet<string> = KNOWN_AWS_REGIONS): RecordProblem[] {
  if (!isObject(record)) return [{ member: '(record)', problem: `expected a JSON object, got ${describeValue(record)}` }];
  const content = checkRecordContent(record);
  if (content.length > 0) return content;
  const problems = checkMembers(record, regions);
  if (problems.length > 0) return problems;
  const bytes = eventJsonBytes(toApiCallEvent(record));
  return bytes > MAX_EVENT_BYTES ? [sizeProblem(bytes)] : [];
}

function sizeProblem(bytes: number): RecordProblem {
  return { member: '(record)', problem: `is ${bytes} bytes as JSON in the log file; CloudTrail's limit is ${MAX_EVENT_BYTES} (256 KB)` };
}

/** UTF-8 bytes of the event's JSON as the archiver writes it into a log file. */
export function eventJsonBytes(event: ApiCallEvent): number {
  return Buffer.byteLength(writeRecordJson(event));
}

/**
 * A bound on the log-line size from the Avro size, so the consumers' check measures only large
 * events exactly: a string of n UTF-8 bytes is at most 6n in JSON (every byte escaped as \u00XX),
 * JSON-text members are copied as they travel, and member names and the braces of resources add
 * at most 8 bytes per Avro byte spent on them, plus the names of the fixed members (under 2 KB).
 * The codec's property tests check this bound on arbitrary events.
 */
export const JSON_BYTES_PER_AVRO_BYTE = 8;
export const JSON_BYTES_FIXED = 4096;

/**
 * The consumer-side check of an event read from Kafka (any producer may write there, not only the
 * producer client): what the pipeline relies on downstream. Returns why it is refused, or
 * undefined. `encodedBytes` is the size of the message the event came in (the raw or the enriched
 * one); only the event counts against MAX_EVENT_BYTES, measured as its log line exactly as the
 * producer measures it, so the enricher and the archiver reach the same verdict on the same event.
 */
export function validateApiCallEvent(event: ApiCallEvent, encodedBytes: number, regions: ReadonlySet<string> = KNOWN_AWS_REGIONS): string | undefined {
  if (parseEventTime(event.eventTime) === undefined) return `eventTime: expected a real UTC instant as yyyy-MM-ddTHH:mm:ssZ, got ${describeValue(event.eventTime)}`;
  if (!regions.has(event.awsRegion)) return `awsRegion: expected a known AWS region (or one allowed by additionalRegions), got ${describeValue(event.awsRegion)}`;
  if (!event.eventID) return 'eventID: expected a non-empty string, got the string ""';
  const account = event.recipientAccountId ?? event.userIdentity?.accountId;
  if (!account || !ACCOUNT_ID_PATTERN.test(account)) return `the event's account (recipientAccountId or userIdentity.accountId): expected a 12-digit id, got ${describeValue(account ?? null)}`;
  if (event.eventType === 'AwsCloudTrailInsight' && !INSIGHT_TYPES.has(insightTypeOf(event.insightDetails) ?? '')) {
    return `insightDetails.insightType: expected one of ${[...INSIGHT_TYPES].join(', ')} on an Insights record`;
  }
  const malformed = checkJsonMembers(event);
  if (malformed !== undefined) return malformed;
  const jsonBound = encodedBytes * JSON_BYTES_PER_AVRO_BYTE + JSON_BYTES_FIXED;
  if (jsonBound > MAX_USER_IDENTITY_BYTES && event.userIdentity !== null) {
    const bytes = userIdentityJsonBytes(event.userIdentity);
    if (bytes > MAX_USER_IDENTITY_BYTES) return `userIdentity is ${bytes} bytes of JSON; the limit is ${MAX_USER_IDENTITY_BYTES} (MAX_USER_IDENTITY_BYTES)`;
  }
  if (jsonBound > MAX_EVENT_BYTES) {
    const bytes = eventJsonBytes(event);
    if (bytes > MAX_EVENT_BYTES) return `event ${sizeProblem(bytes).problem}`;
  }
  return undefined;
}

function insightTypeOf(text: string | null): string | undefined {
  if (text === null) return undefined;
  try {
    const details = JSON.parse(text) as unknown;
    return isObject(details) && typeof details.insightType === 'string' ? details.insightType : undefined;
  } catch {
    return undefined;
  }
}

/** The account an ApiCallEvent belongs to (see recordAccountId). */
export function eventAccountId(event: ApiCallEvent): string {
  return event.recipientAccountId ?? event.userIdentity?.accountId ?? '';
}
