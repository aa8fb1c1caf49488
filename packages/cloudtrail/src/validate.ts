import { randomUUID } from 'node:crypto';
import type { ApiCallEvent } from '@opentrail/serde';
import { checkJsonMembers } from './codec.js';
import {
  ACCOUNT_ID_PATTERN,
  CURRENT_EVENT_VERSION,
  EVENT_TIME_PATTERN,
  MAX_EVENT_BYTES,
  REGION_PATTERN,
  formatEventTime,
  type CloudTrailRecord,
} from './record.js';

/** One thing wrong with a record: the member (a dotted path) and what is wrong with it. */
export interface RecordProblem {
  member: string;
  problem: string;
}

export class InvalidRecordError extends Error {
  readonly canRetry = false;
  constructor(readonly problems: RecordProblem[]) {
    super(`invalid CloudTrail record: ${problems.map((p) => `${p.member} ${p.problem}`).join('; ')}`);
    this.name = 'InvalidRecordError';
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
 * eventVersion (the current version) and eventTime (now). Returns a new object; the caller's is untouched.
 */
export function withDefaults(record: CloudTrailRecord, now: Date = new Date()): CloudTrailRecord {
  if (record.eventID !== undefined && record.eventVersion !== undefined && record.eventTime !== undefined) return record;
  return {
    ...record,
    eventVersion: record.eventVersion ?? CURRENT_EVENT_VERSION,
    eventTime: record.eventTime ?? formatEventTime(now),
    eventID: record.eventID ?? randomUUID(),
  };
}

/**
 * Everything wrong with a record (after defaults), or an empty list. `serializedBytes` is the
 * record's JSON size when the caller already knows it.
 */
export function validateRecord(record: unknown, serializedBytes?: number): RecordProblem[] {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    return [{ member: '(record)', problem: 'must be a JSON object' }];
  }
  const r = record as CloudTrailRecord;
  const problems: RecordProblem[] = [];
  const add = (member: string, problem: string) => problems.push({ member, problem });

  for (const member of ['eventVersion', 'eventID'] as const) {
    if (typeof r[member] !== 'string' || r[member] === '') add(member, 'must be a non-empty string');
  }
  if (typeof r.eventTime !== 'string') add('eventTime', 'is required (yyyy-MM-ddTHH:mm:ssZ)');
  else if (!EVENT_TIME_PATTERN.test(r.eventTime) || Number.isNaN(Date.parse(r.eventTime))) {
    add('eventTime', `must be UTC yyyy-MM-ddTHH:mm:ssZ, got ${JSON.stringify(r.eventTime)}`);
  }
  if (typeof r.awsRegion !== 'string') add('awsRegion', 'is required');
  else if (!REGION_PATTERN.test(r.awsRegion)) add('awsRegion', `is not a region name: ${JSON.stringify(r.awsRegion)}`);

  // Insights records carry no top-level eventSource/eventName (cloudtrail-spec.md §7.1).
  if (r.eventType !== 'AwsCloudTrailInsight') {
    for (const member of ['eventSource', 'eventName'] as const) {
      if (typeof r[member] !== 'string' || r[member] === '') add(member, 'is required');
    }
  }
  for (const member of ['eventType', 'eventCategory', 'sourceIPAddress', 'userAgent', 'errorCode', 'errorMessage'] as const) {
    if (r[member] !== undefined && typeof r[member] !== 'string') add(member, 'must be a string');
  }
  for (const member of ['readOnly', 'managementEvent'] as const) {
    if (r[member] !== undefined && r[member] !== null && typeof r[member] !== 'boolean') add(member, 'must be a boolean');
  }
  if (r.userIdentity !== undefined && r.userIdentity !== null && (typeof r.userIdentity !== 'object' || Array.isArray(r.userIdentity))) {
    add('userIdentity', 'must be an object');
  }

  const account = recordAccountId(r);
  if (account === undefined) add('recipientAccountId', 'or userIdentity.accountId is required (the account the event belongs to)');
  else if (!ACCOUNT_ID_PATTERN.test(account)) {
    add(typeof r.recipientAccountId === 'string' ? 'recipientAccountId' : 'userIdentity.accountId', `must be a 12-digit account id, got ${JSON.stringify(account)}`);
  }

  const bytes = serializedBytes ?? Buffer.byteLength(JSON.stringify(r));
  if (bytes > MAX_EVENT_BYTES) add('(record)', `is ${bytes} bytes; CloudTrail's limit is ${MAX_EVENT_BYTES} (256 KB)`);
  return problems;
}

/**
 * The consumer-side check of an event read from Kafka (any producer may write there, not only the
 * producer client): what the pipeline relies on downstream. Returns why it is refused, or undefined.
 * `encodedBytes` is the Avro size, a lower bound of the JSON size.
 */
export function validateApiCallEvent(event: ApiCallEvent, encodedBytes: number): string | undefined {
  if (!EVENT_TIME_PATTERN.test(event.eventTime) || Number.isNaN(Date.parse(event.eventTime))) return `eventTime must be UTC yyyy-MM-ddTHH:mm:ssZ, got ${JSON.stringify(event.eventTime)}`;
  if (!REGION_PATTERN.test(event.awsRegion)) return `awsRegion is not a region name: ${JSON.stringify(event.awsRegion)}`;
  if (!event.eventID) return 'eventID is empty';
  const account = event.recipientAccountId ?? event.userIdentity?.accountId;
  if (!account || !ACCOUNT_ID_PATTERN.test(account)) return `the event's account (recipientAccountId or userIdentity.accountId) must be a 12-digit id, got ${JSON.stringify(account ?? null)}`;
  if (encodedBytes > MAX_EVENT_BYTES) return `event is ${encodedBytes} bytes encoded; the limit is ${MAX_EVENT_BYTES} (256 KB)`;
  return checkJsonMembers(event);
}

/** The account an ApiCallEvent belongs to (see recordAccountId). */
export function eventAccountId(event: ApiCallEvent): string {
  return event.recipientAccountId ?? event.userIdentity?.accountId ?? '';
}
