import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptRecord, InvalidRecordError, KNOWN_AWS_REGIONS, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { CLOUDTRAIL_TARGET_PREFIX, CloudTrailApiClient } from '@opentrail/integrity';
import { createLogger, ServiceMetrics } from '@opentrail/observability';
import { ApiServer } from '../src/apiServer.js';
import { AuditRecordError, AuditTrail, auditRecord, camelCaseMembers, type ApiCall } from '../src/auditTrail.js';
import { Authorizer } from '../src/authorization.js';
import { ApiError, type Operations } from '../src/operations.js';
import type { Target } from '../src/targets.js';

const ACCOUNT = '111122223333';
const authorizer = Authorizer.fromConfig({
  principals: [
    { arn: `arn:aws:iam::${ACCOUNT}:user/admin`, accessKeys: [{ accessKeyId: 'AKIAADMIN', secretAccessKey: 'admin-secret' }], allow: ['cloudtrail:*', 'opentrail:*'], deny: [] },
    { arn: `arn:aws:iam::${ACCOUNT}:role/Reader`, sessionName: 'auditor', accessKeys: [{ accessKeyId: 'AKIAREAD', secretAccessKey: 'read-secret' }], allow: ['cloudtrail:Describe*', 'cloudtrail:Get*', 'cloudtrail:List*', 'cloudtrail:LookupEvents'], deny: [] },
  ],
  accessKeys: [],
  defaultAccountId: ACCOUNT,
});
const admin = authorizer.identify('AKIAADMIN', 'eu-west-1');
const reader = authorizer.identify('AKIAREAD', 'us-east-1');
const T = Date.UTC(2026, 11, 7, 5, 4, 3, 250);

const createTrail = (over: Partial<ApiCall> = {}): ApiCall => ({
  caller: admin,
  operation: 'CreateTrail',
  requestId: 'req-1',
  sourceIPAddress: '192.0.2.10',
  userAgent: 'aws-cli/2.15.0',
  input: { Name: 'main', S3BucketName: 'logs', IsMultiRegionTrail: true, TagsList: [{ Key: 'team', Value: 'sec' }] },
  output: { Name: 'main', S3BucketName: 'logs', TrailARN: `arn:aws:cloudtrail:eu-west-1:${ACCOUNT}:trail/main`, IsMultiRegionTrail: true },
  ...over,
});

describe('auditRecord', () => {
  it("writes a mutating call as CloudTrail does: the caller's identity, camel-cased parameters and response", () => {
    const r = auditRecord(createTrail(), 'e-1', T);
    expect(r).toEqual({
      eventVersion: '1.11',
      userIdentity: { type: 'IAMUser', principalId: admin.principal.principalId, arn: `arn:aws:iam::${ACCOUNT}:user/admin`, accountId: ACCOUNT, accessKeyId: 'AKIAADMIN', userName: 'admin' },
      eventTime: '2026-12-07T05:04:03Z',
      eventSource: 'cloudtrail.amazonaws.com',
      eventName: 'CreateTrail',
      awsRegion: 'eu-west-1',
      sourceIPAddress: '192.0.2.10',
      userAgent: 'aws-cli/2.15.0',
      requestParameters: { name: 'main', s3BucketName: 'logs', isMultiRegionTrail: true, tagsList: [{ key: 'team', value: 'sec' }] },
      responseElements: { name: 'main', s3BucketName: 'logs', trailARN: `arn:aws:cloudtrail:eu-west-1:${ACCOUNT}:trail/main`, isMultiRegionTrail: true },
      requestID: 'req-1',
      eventID: 'e-1',
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: ACCOUNT,
      eventCategory: 'Management',
    });
    // The producer takes it as it is.
    expect(() => acceptRecord(r, KNOWN_AWS_REGIONS)).not.toThrow();
  });

  it('writes reads with responseElements null, a role session as AssumedRole, failures with their code', () => {
    const read = auditRecord({ caller: reader, operation: 'LookupEvents', requestId: 'r', sourceIPAddress: '::1', input: { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateTrail' }], StartTime: 1_765_083_600, MaxResults: 5 }, output: { Events: [] } }, 'e-2', T);
    expect(read).toMatchObject({ readOnly: true, responseElements: null, requestParameters: { lookupAttributes: [{ attributeKey: 'EventName', attributeValue: 'CreateTrail' }], startTime: 'Dec 7, 2025, 5:00:00 AM', maxResults: 5 } });
    expect(read.userAgent).toBeUndefined();
    expect(read.userIdentity).toEqual({
      type: 'AssumedRole',
      principalId: reader.principal.principalId,
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Reader/auditor`,
      accountId: ACCOUNT,
      accessKeyId: 'AKIAREAD',
      sessionContext: { sessionIssuer: { type: 'Role', principalId: reader.principal.sessionIssuer!.principalId, arn: `arn:aws:iam::${ACCOUNT}:role/Reader`, accountId: ACCOUNT, userName: 'Reader' }, attributes: { mfaAuthenticated: 'false' } },
    });
    for (const op of ['DescribeTrails', 'GetTrailStatus', 'ListPublicKeys', 'QueryEvents', 'GetResourceHistory']) expect(auditRecord({ ...createTrail(), operation: op }, 'e', T).readOnly, op).toBe(true);
    for (const op of ['StartLogging', 'StopLogging', 'DeleteTrail', 'PutEventSelectors', 'AddTags']) expect(auditRecord({ ...createTrail(), operation: op }, 'e', T).readOnly, op).toBe(false);

    const denied = auditRecord(createTrail({ caller: reader, error: { code: 'AccessDenied', message: 'User: x is not authorized' }, output: undefined }), 'e-3', T);
    expect(denied).toMatchObject({ errorCode: 'AccessDenied', errorMessage: 'User: x is not authorized', responseElements: null, requestParameters: { name: 'main' } });
    // An empty answer (StartLogging) is recorded as null.
    expect(auditRecord(createTrail({ operation: 'StartLogging', input: { Name: 'main' }, output: {} }), 'e', T).responseElements).toBeNull();
  });

  it('keeps hostile member names as members, and omits what a record cannot hold', () => {
    const hostile = JSON.parse('{"__proto__": {"Polluted": 1}, "Constructor": "x"}') as Record<string, unknown>;
    const r = auditRecord(createTrail({ input: hostile }), 'e', T);
    expect(Object.hasOwn(r.requestParameters as object, '__proto__')).toBe(true);
    expect(JSON.stringify(r.requestParameters)).toBe('{"__proto__":{"polluted":1},"constructor":"x"}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    let deep: unknown = 'bottom';
    for (let i = 0; i < 1000; i++) deep = { Down: deep };
    expect(auditRecord(createTrail({ input: { Name: 'x', Deep: deep } }), 'e', T).requestParameters).toBeNull();
    expect(auditRecord(createTrail({ input: { Name: 'x'.repeat(120 * 1024) } }), 'e', T).requestParameters).toBeNull();
    expect(auditRecord(createTrail({ input: null }), 'e', T).requestParameters).toBeNull();
    const long = auditRecord(createTrail({ userAgent: 'u'.repeat(5000), error: { code: 'X', message: 'm'.repeat(5000) } }), 'e', T);
    expect([long.userAgent!.length, (long.errorMessage as string).length]).toEqual([1024, 1024]);
    expect(camelCaseMembers([{ A: [{ BC: 1 }] }])).toEqual([{ a: [{ bC: 1 }] }]);
  });
});

/** A publisher whose answers the test decides. */
class FakePublisher {
  readonly records: CloudTrailRecord[] = [];
  failures = 0;
  hold: Promise<void> | undefined;
  async record(event: CloudTrailRecord) {
    await this.hold;
    if (this.failures > 0) {
      this.failures--;
      throw new Error('KafkaJSNumberOfRetriesExceeded');
    }
    acceptRecord(event, KNOWN_AWS_REGIONS);
    this.records.push(event);
    return { eventID: event.eventID!, key: 'k' };
  }
}

const logger = createLogger('api', 'silent');
const trailOf = (publisher: FakePublisher, metrics = new ServiceMetrics('api')) => ({ trail: new AuditTrail({ publisher, logger, metrics, retries: 2, initialDelayMs: 1, now: () => T }), metrics });
const metricValue = async (metrics: ServiceMetrics, name: string, labels: Record<string, string> = {}) =>
  (await metrics.registry.getSingleMetric(`opentrail_api_${name}`)!.get()).values.filter((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, string>)[k] === l)).reduce((s, v) => s + v.value, 0);

describe('AuditTrail', () => {
  it('answers a mutating call only once its record is acknowledged, retrying a bounded number of times', async () => {
    const publisher = new FakePublisher();
    const { trail, metrics } = trailOf(publisher);
    let release!: () => void;
    publisher.hold = new Promise((r) => (release = r));
    let done = false;
    const recording = trail.record(createTrail()).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    release();
    await recording;
    expect(publisher.records.map((r) => r.eventName)).toEqual(['CreateTrail']);

    publisher.hold = undefined;
    publisher.failures = 2;
    await trail.record(createTrail());
    expect(publisher.records).toHaveLength(2);
    expect(await metricValue(metrics, 'audit_publish_retries_total')).toBe(2);

    publisher.failures = 3;
    await expect(trail.record(createTrail())).rejects.toBeInstanceOf(AuditRecordError);
    expect(await metricValue(metrics, 'audit_records_total', { mode: 'sync', outcome: 'failed' })).toBe(1);
    expect(await metricValue(metrics, 'audit_records_total', { mode: 'sync', outcome: 'published' })).toBe(2);
  });

  it('answers a read at once; its record follows, and a failure is counted, not thrown', async () => {
    const publisher = new FakePublisher();
    const { trail, metrics } = trailOf(publisher);
    let release!: () => void;
    publisher.hold = new Promise((r) => (release = r));
    await trail.record(createTrail({ operation: 'DescribeTrails' }));
    expect(publisher.records).toHaveLength(0);
    release();
    await trail.drain();
    expect(publisher.records.map((r) => r.eventName)).toEqual(['DescribeTrails']);

    publisher.hold = undefined;
    publisher.failures = 10;
    await trail.record(createTrail({ operation: 'GetTrailStatus' }));
    await trail.drain();
    expect(await metricValue(metrics, 'audit_records_total', { mode: 'async', outcome: 'failed' })).toBe(1);
  });

  it('answers a mutating call as not on record past its deadline, and counts the record when it lands late', async () => {
    const publisher = new FakePublisher();
    const metrics = new ServiceMetrics('api');
    const trail = new AuditTrail({ publisher, logger, metrics, syncTimeoutMs: 30, now: () => T });
    let release!: () => void;
    publisher.hold = new Promise((r) => (release = r));
    const started = performance.now();
    await expect(trail.record(createTrail())).rejects.toBeInstanceOf(AuditRecordError);
    expect(performance.now() - started).toBeLessThan(1000);
    release();
    await waitUntil(() => publisher.records.length === 1);
    await new Promise((r) => setTimeout(r, 10));
    expect(await metricValue(metrics, 'audit_records_total', { mode: 'sync', outcome: 'late' })).toBe(1);
  });

  it('drops read records beyond maxPendingReads rather than queueing without bound', async () => {
    const publisher = new FakePublisher();
    const metrics = new ServiceMetrics('api');
    const trail = new AuditTrail({ publisher, logger, metrics, maxPendingReads: 2, now: () => T });
    let release!: () => void;
    publisher.hold = new Promise((r) => (release = r));
    for (let i = 0; i < 5; i++) await trail.record(createTrail({ operation: 'DescribeTrails', requestId: `r${i}` }));
    release();
    await trail.drain();
    expect(publisher.records.map((r) => r.requestID)).toEqual(['r0', 'r1']);
    expect(await metricValue(metrics, 'audit_records_total', { mode: 'async', outcome: 'dropped' })).toBe(3);
  });

  it('records a call without the parameters the producer refuses, rather than not at all', async () => {
    const refusing = {
      records: [] as CloudTrailRecord[],
      async record(event: CloudTrailRecord) {
        if (event.requestParameters !== null) throw new InvalidRecordError([{ member: 'requestParameters.x', problem: 'lone surrogate' }]);
        this.records.push(event);
        return {};
      },
    };
    const trail = new AuditTrail({ publisher: refusing, logger, metrics: new ServiceMetrics('api'), now: () => T });
    await trail.record(createTrail({ input: { Name: '\uD800' } }));
    expect(refusing.records).toEqual([expect.objectContaining({ eventName: 'CreateTrail', requestParameters: null, responseElements: null })]);
  });
});

describe('ApiServer with authorisation and audit', () => {
  const publisher = new FakePublisher();
  let server: ApiServer;
  const calls: { target: NonNullable<Target>; caller: unknown }[] = [];
  const operations = {
    run: async (target: NonNullable<Target>, input: Record<string, unknown>, caller: unknown) => {
      calls.push({ target, caller });
      if (target.operation === 'CreateTrail') return { Name: input.Name, TrailARN: `arn:aws:cloudtrail:eu-west-1:${ACCOUNT}:trail/${String(input.Name)}` };
      if (target.operation === 'GetTrailStatus') throw new ApiError('TrailNotFoundException', `Unknown trail: ${String(input.Name)}`);
      return { trailList: [] };
    },
  } as unknown as Operations;
  const client = (id: string, secret: string, region = 'eu-west-1') => new CloudTrailApiClient({ endpoint: server.url, region, credentials: { accessKeyId: id, secretAccessKey: secret } });

  beforeAll(async () => {
    server = new ApiServer({ port: 0, host: '127.0.0.1', authorizer, audit: trailOf(publisher).trail, maxClockSkewSeconds: 300, maxBodyBytes: 65536, operations, logger, metrics: new ServiceMetrics('api') });
    await server.start();
  });
  afterAll(() => server.stop());

  it('refuses a caller without the action, records the refusal, and never runs the operation', async () => {
    publisher.records.length = 0;
    calls.length = 0;
    await expect(client('AKIAREAD', 'read-secret').call('CreateTrail', { Name: 'main', S3BucketName: 'b' })).rejects.toMatchObject({
      code: 'AccessDeniedException',
      status: 400,
      message: `AccessDeniedException: User: arn:aws:sts::${ACCOUNT}:assumed-role/Reader/auditor is not authorized to perform: cloudtrail:CreateTrail on resource: arn:aws:cloudtrail:eu-west-1:${ACCOUNT}:trail/main because no identity-based policy allows the cloudtrail:CreateTrail action`,
    });
    expect(calls).toEqual([]);
    expect(publisher.records).toEqual([expect.objectContaining({ eventName: 'CreateTrail', errorCode: 'AccessDenied', readOnly: false, sourceIPAddress: '127.0.0.1', requestParameters: { name: 'main', s3BucketName: 'b' }, responseElements: null })]);
  });

  it('runs an allowed call with the caller, records it with the same request id', async () => {
    publisher.records.length = 0;
    calls.length = 0;
    const created = await client('AKIAADMIN', 'admin-secret').call<Record<string, unknown>>('CreateTrail', { Name: 'main', S3BucketName: 'b' });
    expect(created.Name).toBe('main');
    expect(calls[0]!.caller).toMatchObject({ accessKeyId: 'AKIAADMIN', region: 'eu-west-1', accountId: ACCOUNT, principalArn: `arn:aws:iam::${ACCOUNT}:user/admin`, userName: 'admin' });
    // Mutating: on record before the answer.
    expect(publisher.records).toEqual([expect.objectContaining({ eventName: 'CreateTrail', responseElements: { name: 'main', trailARN: `arn:aws:cloudtrail:eu-west-1:${ACCOUNT}:trail/main` }, userIdentity: expect.objectContaining({ userName: 'admin' }) })]);
    await expect(client('AKIAREAD', 'read-secret').call('GetTrailStatus', { Name: 'gone' })).rejects.toMatchObject({ code: 'TrailNotFoundException' });
    await waitUntil(() => publisher.records.length === 2);
    expect(publisher.records[1]).toMatchObject({ eventName: 'GetTrailStatus', errorCode: 'TrailNotFoundException', readOnly: true });
  });

  it('does not record unauthenticated requests; answers 500 when a change cannot be put on record, never for a read', async () => {
    publisher.records.length = 0;
    const unsigned = await fetch(server.url, { method: 'POST', headers: { 'x-amz-target': `${CLOUDTRAIL_TARGET_PREFIX}CreateTrail` }, body: '{}' });
    expect(unsigned.status).toBe(403);
    await expect(client('AKIAADMIN', 'wrong').call('CreateTrail', {})).rejects.toMatchObject({ code: 'InvalidSignatureException' });
    await expect(client('AKIAADMIN', 'admin-secret', 'mars-north-1').call('DescribeTrails', {})).rejects.toMatchObject({ code: 'InvalidSignatureException', status: 403 });
    await new Promise((r) => setTimeout(r, 50));
    expect(publisher.records).toEqual([]);

    publisher.failures = 1000;
    await expect(client('AKIAADMIN', 'admin-secret').call('DescribeTrails', {})).resolves.toEqual({ trailList: [] });
    await expect(client('AKIAADMIN', 'admin-secret').call('CreateTrail', { Name: 'x' })).rejects.toMatchObject({ code: 'InternalFailure', status: 500 });
    publisher.failures = 0;
  });
});

async function waitUntil(probe: () => boolean) {
  for (let i = 0; i < 200 && !probe(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(probe()).toBe(true);
}
