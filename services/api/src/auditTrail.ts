import { randomUUID } from 'node:crypto';
import { InvalidRecordError, javaMediumDate, type CloudTrailRecord } from '@opentrail/cloudtrail';
import type { Logger, ServiceMetrics } from '@opentrail/observability';
import { OpentrailError } from '@opentrail/errors';
import type { CallerIdentity } from './authorization.js';

/**
 * Every authenticated API call is itself a CloudTrail event (issue 14; cloudtrail-spec.md §1.3–1.5):
 * the API publishes one management record per call to events.raw through @opentrail/producer, so
 * that it is enriched, archived, indexed for event history and seen by the alert rules (CIS 4.5
 * matches CreateTrail, UpdateTrail, DeleteTrail, StartLogging and StopLogging).
 *
 * A mutating call answers only once Kafka has acknowledged its record (retried a bounded number
 * of times): a change the client saw succeed is always on record. A read-only call answers at
 * once and its record follows in the background, batched with others by the producer; a record
 * that cannot be published is logged and counted, never turned into an error of the read.
 */

/** What the API knows of one call when it has answered it. */
export interface ApiCall {
  caller: CallerIdentity;
  /** The operation (eventName). */
  operation: string;
  /** x-amzn-RequestId of the answer. */
  requestId: string;
  sourceIPAddress: string;
  userAgent?: string | undefined;
  /** The request body, as the client sent it (null when it was not a JSON object). */
  input: Record<string, unknown> | null;
  /** The answer of a successful call. */
  output?: unknown;
  /** The error of a failed call: its code (as CloudTrail records it) and message. */
  error?: { code: string; message: string } | undefined;
}

/** Where records go: a Recorder of @opentrail/producer, or anything with its `record`. */
export interface AuditPublisher {
  record(event: CloudTrailRecord): Promise<unknown>;
}

/** A mutating call's record could not be published: the client must not be told the call is on record. */
export class AuditRecordError extends OpentrailError<'AUDIT_RECORD_UNPUBLISHED'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AUDIT_RECORD_UNPUBLISHED', message, options);
  }
}

export interface AuditTrailOptions {
  publisher: AuditPublisher;
  logger: Logger;
  metrics: ServiceMetrics;
  /** Attempts after the first for a record Kafka did not acknowledge. @default 3 */
  retries?: number;
  /** Backoff before the first retry; doubles per attempt. @default 100 */
  initialDelayMs?: number;
  /**
   * How long a mutating call waits for its record at most (kafkajs retries inside each attempt
   * too); past it the call is answered as not on record, and the record, if it lands later, is
   * counted `late`. @default 15000
   */
  syncTimeoutMs?: number;
  /** Read records being published at most; beyond, a read's record is dropped (logged, counted) rather than queued without bound. @default 10000 */
  maxPendingReads?: number;
  now?: () => number;
}

/** Operations CloudTrail records as read-only (cloudtrail-spec.md §1.3 `readOnly`). */
const READ_ONLY = /^(?:Describe|Get|List|Lookup|Query)/;
export const isReadOnly = (operation: string): boolean => READ_ONLY.test(operation);

/** CloudTrail omits request parameters and response elements over 100 KB (cloudtrail-spec.md §1.3). */
export const MAX_PARAMETERS_BYTES = 100 * 1024;
/** userAgent, errorCode and errorMessage are cut at 1 KB (cloudtrail-spec.md §1.3). */
const MAX_TEXT = 1024;
/** Deeper request bodies are not recorded member by member (RECORD_LIMITS.maxDepth is 64). */
const MAX_DEPTH = 32;
/** Top-level request members that are timestamps (epoch seconds on the wire), logged as CloudTrail's Java dates. */
const TIME_MEMBERS = new Set(['StartTime', 'EndTime']);

class TooDeep extends OpentrailError<'TOO_DEEP'> {
  constructor() {
    super('TOO_DEEP', `nested deeper than ${MAX_DEPTH} levels`);
  }
}

/**
 * CloudTrail logs a request's members in lower camel case (`{"name": "x", "s3BucketName": "b"}` for
 * CreateTrail's `Name` and `S3BucketName`; `trailARN` for `TrailARN`): the first letter of every
 * member name lower-cased, at every level. Objects are built with Object.fromEntries, so that a
 * member named `__proto__` stays a member.
 */
export function camelCaseMembers(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new TooDeep();
  if (Array.isArray(value)) return value.map((v) => camelCaseMembers(v, depth + 1));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.charAt(0).toLowerCase() + k.slice(1), camelCaseMembers(v, depth + 1)]));
}

/** A request body or answer as the record holds it: camel-cased, or null when empty, too large or too deep. */
function recorded(value: unknown, top?: (k: string, v: unknown) => unknown): Record<string, unknown> | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  if (Object.keys(value).length === 0) return null;
  try {
    if (JSON.stringify(value).length > MAX_PARAMETERS_BYTES) return null;
    const source = top ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, top(k, v)])) : value;
    return camelCaseMembers(source) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TooDeep || err instanceof RangeError) return null;
    throw err;
  }
}

const asJavaDate = (k: string, v: unknown) => (TIME_MEMBERS.has(k) && typeof v === 'number' && Number.isFinite(v) && Math.abs(v) < 1e11 ? javaMediumDate(new Date(v * 1000)) : v);

const cut = (s: string) => (s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) : s);
const eventTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The CloudTrail record of one call (cloudtrail-spec.md §1.5, a management AwsApiCall). */
export function auditRecord(call: ApiCall, eventID: string, nowMs: number): CloudTrailRecord {
  const { caller } = call;
  const p = caller.principal;
  const readOnly = isReadOnly(call.operation);
  const userIdentity: Record<string, unknown> = {
    type: p.type,
    principalId: p.principalId,
    arn: p.arn,
    accountId: p.accountId,
    accessKeyId: caller.accessKeyId,
    // CloudTrail names the user of an IAM user only; a role session's name is in its ARN, the role in sessionIssuer.
    ...(p.type === 'IAMUser' ? { userName: p.userName } : {}),
    ...(p.sessionIssuer ? { sessionContext: { sessionIssuer: p.sessionIssuer, attributes: { mfaAuthenticated: 'false' } } } : {}),
  };
  return {
    eventVersion: '1.11',
    userIdentity,
    eventTime: eventTime(nowMs),
    eventSource: 'cloudtrail.amazonaws.com',
    eventName: call.operation,
    awsRegion: caller.region,
    sourceIPAddress: call.sourceIPAddress,
    ...(call.userAgent !== undefined ? { userAgent: cut(call.userAgent) } : {}),
    ...(call.error ? { errorCode: cut(call.error.code), errorMessage: cut(call.error.message) } : {}),
    requestParameters: recorded(call.input, asJavaDate),
    // The answer of a successful mutating call; null for reads and failures, as CloudTrail writes.
    responseElements: readOnly || call.error ? null : recorded(call.output),
    requestID: call.requestId,
    eventID,
    readOnly,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: p.accountId,
    eventCategory: 'Management',
  };
}

export class AuditTrail {
  private readonly pending = new Set<Promise<void>>();
  private readonly retries: number;
  private readonly initialDelayMs: number;
  private readonly now: () => number;
  private readonly syncTimeoutMs: number;
  private readonly maxPendingReads: number;
  private readonly m;

  constructor(private readonly o: AuditTrailOptions) {
    this.retries = o.retries ?? 3;
    this.initialDelayMs = o.initialDelayMs ?? 100;
    this.now = o.now ?? Date.now;
    this.syncTimeoutMs = o.syncTimeoutMs ?? 15_000;
    this.maxPendingReads = o.maxPendingReads ?? 10_000;
    this.m = {
      records: o.metrics.counter('audit_records_total', "Records of the API's own calls, by how they were published (sync: before the answer; async: after) and outcome (published, failed, late: after its call was answered as not on record, dropped: too many reads pending)", ['mode', 'outcome']),
      retries: o.metrics.counter('audit_publish_retries_total', 'Attempts to publish an audit record again after Kafka refused it'),
      trimmed: o.metrics.counter('audit_parameters_omitted_total', 'Audit records published without their request parameters and response elements, which the record could not hold'),
    };
  }

  /**
   * Records a call. Mutating calls: resolves once Kafka has the record, rejects with
   * AuditRecordError when it could not be published. Read-only calls: resolves at once.
   */
  async record(call: ApiCall): Promise<void> {
    const event = auditRecord(call, randomUUID(), this.now());
    if (!event.readOnly) return this.recordNow(event);
    if (this.pending.size >= this.maxPendingReads) return this.failed('async', event, new Error(`${this.pending.size} read records are still being published`), 'dropped');
    const background = this.publish(event).then(
      () => this.m.records.inc({ mode: 'async', outcome: 'published' }),
      (err: unknown) => this.failed('async', event, err),
    );
    this.pending.add(background);
    void background.finally(() => this.pending.delete(background));
  }

  /** Waits for the records still being published in the background. */
  async drain(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  /** A mutating call's record: published and acknowledged within syncTimeoutMs, or AuditRecordError. */
  private async recordNow(event: CloudTrailRecord): Promise<void> {
    const publishing = this.publish(event);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.syncTimeoutMs)));
    try {
      const outcome = await Promise.race([publishing.then(() => 'published' as const), deadline]);
      if (outcome === 'published') {
        this.m.records.inc({ mode: 'sync', outcome });
        return;
      }
      // Still trying: what becomes of the record is counted when it is known.
      publishing.then(
        () => {
          this.m.records.inc({ mode: 'sync', outcome: 'late' });
          this.o.logger.warn({ eventID: event.eventID, requestID: event.requestID }, 'audit record published after its call was answered as not on record');
        },
        (err: unknown) => this.failed('sync', event, err),
      );
    } catch (err) {
      this.failed('sync', event, err);
    } finally {
      clearTimeout(timer);
    }
    throw new AuditRecordError(`the audit record of ${event.eventName} (requestID ${event.requestID}) could not be published`);
  }

  private failed(mode: 'sync' | 'async', event: CloudTrailRecord, err: unknown, outcome: 'failed' | 'dropped' = 'failed') {
    this.m.records.inc({ mode, outcome });
    // The record in full: an operator can publish it again from the log. It holds no secret (an
    // access key id is not one; the request's signature never reaches this point).
    this.o.logger.error({ err: { message: (err as Error).message, name: (err as Error).name }, record: event }, 'audit record not published');
  }

  private async publish(event: CloudTrailRecord): Promise<void> {
    let delay = this.initialDelayMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.o.publisher.record(event);
        return;
      } catch (err) {
        if (err instanceof InvalidRecordError) {
          // Free-form members the record cannot hold (a lone surrogate, too many members): record
          // the call without them rather than not at all.
          if (event.requestParameters === null && event.responseElements === null) throw err;
          this.m.trimmed.inc();
          event = { ...event, requestParameters: null, responseElements: null };
          continue;
        }
        if (attempt >= this.retries) throw err;
        this.m.retries.inc();
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay *= 2;
      }
    }
  }
}
