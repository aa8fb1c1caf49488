/**
 * Every API call is itself an audited call (issue 14), on the real stack: the API process publishes
 * a CloudTrail record of each authenticated call to events.raw; the enricher takes it like any
 * producer's record, the CIS rules of the alerter's pack match it, and the history service indexes
 * it so that LookupEvents finds it. A caller without the action is refused with CloudTrail's
 * AccessDeniedException, and the refusal is on record too.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRecordJson, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { CloudTrailApiClient } from '@opentrail/integrity';
import { RuleEvent, RuleLibrary, type CompiledRule } from '@opentrail/rules';
import { serdeFor } from '@opentrail/serde';
import { awsCliPath } from '../digester/helpers.js';
import { followEnriched, readToEnd, startEnricher } from '../enricher/enricher.js';
import { serviceEnv, testKafka, testRegistry, uniquePrefix } from '../helpers/env.js';
import { createTopics } from '../helpers/kafka.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { freshDatabase } from '../history/ingest-helpers.js';
import { awsClients, createTrailBucket, cloudTrailBucketPolicy, uniqueBucket } from './trail-helpers.js';

const ACCOUNT = '210987654321';
const REGION = 'eu-west-1';
const ADMIN = { id: 'AKIAAUDITADMIN00001', secret: 'audit-admin-secret-value-1' };
const READER = { id: 'AKIAAUDITREADER0001', secret: 'audit-reader-secret-value-2' };
const LEGACY = { id: 'AKIAAUDITLEGACY0001', secret: 'audit-legacy-secret-value-3' };
const PRINCIPALS = [
  { arn: `arn:aws:iam::${ACCOUNT}:user/platform/trail-admin`, accessKeys: [`${ADMIN.id}:${ADMIN.secret}`], allow: ['cloudtrail:*', 'opentrail:*'] },
  { arn: `arn:aws:iam::${ACCOUNT}:role/SecurityAudit`, sessionName: 'auditor', accessKeys: [`${READER.id}:${READER.secret}`], allow: ['cloudtrail:Describe*', 'cloudtrail:Get*', 'cloudtrail:List*', 'cloudtrail:LookupEvents'], deny: ['cloudtrail:GetTrailStatus'] },
];

const kafka = testKafka('audit-test');
const prefix = uniquePrefix('audit');
const raw = `${prefix}events.raw`;
let api: { service: ServiceProcess; url: string };
let enricher: ServiceProcess;
let history: ServiceProcess;
let enriched: Awaited<ReturnType<typeof followEnriched>>;

const client = (key: { id: string; secret: string }) => new CloudTrailApiClient({ endpoint: api.url, region: REGION, credentials: { accessKeyId: key.id, secretAccessKey: key.secret } });

/** The records on events.raw up to its current end, as the log file will hold them. */
async function rawRecords(): Promise<CloudTrailRecord[]> {
  const serde = serdeFor(testRegistry(), 'ApiCallEvent');
  const values = (await readToEnd(kafka, raw)).map((m) => m.value!);
  await serde.prepare(values);
  return values.map((v) => JSON.parse(writeRecordJson(serde.decode(v))) as CloudTrailRecord);
}

const cisRules = new RuleLibrary({ directories: [fileURLToPath(new URL('../../services/alerter/rules/cis', import.meta.url))] }).load().ruleSet.rules;
const cis = (id: string): CompiledRule => cisRules.find((r) => r.id === id)!;

beforeAll(async () => {
  await createTopics(kafka, [raw, `${prefix}events.enriched`, `${prefix}events.dlq`, `${prefix}identities`]);
  const databaseUrl = await freshDatabase('audit');
  enriched = await followEnriched(kafka, prefix);
  [enricher, history] = await Promise.all([startEnricher(prefix), startService('history', serviceEnv(prefix, { OPENTRAIL_DATABASE_URL: databaseUrl }))]);
  const service = await startService(
    'api',
    serviceEnv(prefix, {
      OPENTRAIL_API_PORT: '0',
      OPENTRAIL_API_PRINCIPALS: JSON.stringify(PRINCIPALS),
      OPENTRAIL_API_ACCESS_KEYS: `${LEGACY.id}:${LEGACY.secret}`,
      OPENTRAIL_API_DEFAULT_ACCOUNT_ID: ACCOUNT,
      OPENTRAIL_DATABASE_URL: databaseUrl,
      OPENTRAIL_API_HISTORY_LOOKUP_EVENTS_PER_SECOND: '100',
      OPENTRAIL_API_TRAIL_WRITES_PER_SECOND: '100',
      OPENTRAIL_AWS_REGION: 'us-east-1',
    }),
  );
  api = { service, url: await waitFor(() => service.logs().find((l) => typeof l.api === 'string')?.api as string | undefined, 'the API to log its URL') };
}, 240_000);

afterAll(async () => {
  await Promise.all([api?.service.stop(), enricher?.stop(), history?.stop(), enriched?.stop()]);
});

describe('audited API calls', () => {
  it('refuses a read-only caller CreateTrail with AccessDeniedException; the refusal is on events.raw before the answer, and CIS 4.1 and 4.5 match it', async () => {
    const started = Date.now();
    await expect(client(READER).call('CreateTrail', { Name: 'audit-denied', S3BucketName: 'some-bucket' })).rejects.toMatchObject({
      code: 'AccessDeniedException',
      status: 400,
      message: `AccessDeniedException: User: arn:aws:sts::${ACCOUNT}:assumed-role/SecurityAudit/auditor is not authorized to perform: cloudtrail:CreateTrail on resource: arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/audit-denied because no identity-based policy allows the cloudtrail:CreateTrail action`,
    });
    // A mutating call answers once its record is acknowledged: it is already there.
    const denied = (await rawRecords()).filter((r) => r.eventName === 'CreateTrail' && r.errorCode === 'AccessDenied');
    expect(denied).toHaveLength(1);
    const r = denied[0]!;
    expect(r).toMatchObject({
      eventVersion: '1.11',
      userIdentity: {
        type: 'AssumedRole',
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/SecurityAudit/auditor`,
        accountId: ACCOUNT,
        accessKeyId: READER.id,
        sessionContext: { sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${ACCOUNT}:role/SecurityAudit`, accountId: ACCOUNT, userName: 'SecurityAudit' } },
      },
      eventSource: 'cloudtrail.amazonaws.com',
      eventName: 'CreateTrail',
      awsRegion: REGION,
      sourceIPAddress: '127.0.0.1',
      errorMessage: expect.stringMatching(/^User: arn:aws:sts::\d{12}:assumed-role\/SecurityAudit\/auditor is not authorized to perform: cloudtrail:CreateTrail/),
      requestParameters: { name: 'audit-denied', s3BucketName: 'some-bucket' },
      responseElements: null,
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      eventCategory: 'Management',
      recipientAccountId: ACCOUNT,
    });
    expect(Math.abs(Date.parse(r.eventTime!) - started)).toBeLessThan(60_000);
    expect(r.eventID).toMatch(/^[0-9a-f-]{36}$/);

    const event = (await enriched.waitForEvents([r.eventID!])).get(r.eventID!)!.value;
    expect(cis('cis-4.5-cloudtrail-configuration-changes').matches(new RuleEvent(event))).toBe(true);
    expect(cis('cis-4.1-unauthorized-api-calls').matches(new RuleEvent(event))).toBe(true);
    expect(cis('cis-4.3-root-account-usage').matches(new RuleEvent(event))).toBe(false);
  });

  it("records each change to a trail before answering it, with CloudTrail's requestParameters and responseElements; CIS 4.5 matches every one", async () => {
    const aws = awsClients();
    const bucket = uniqueBucket('audit-trail');
    await createTrailBucket(aws.s3, bucket, { policy: cloudTrailBucketPolicy(bucket, 'audit', ACCOUNT) });
    aws.destroy();
    const name = `audited-${prefix.slice(6, 14)}`;
    const admin = client(ADMIN);
    const created = await admin.call<Record<string, unknown>>('CreateTrail', { Name: name, S3BucketName: bucket, S3KeyPrefix: 'audit', IsMultiRegionTrail: true, EnableLogFileValidation: true, TagsList: [{ Key: 'team', Value: 'security' }] });
    const arn = `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/${name}`;
    expect(created).toMatchObject({ Name: name, TrailARN: arn });
    // On record before the answer: the topic holds it already.
    const mine = async () => (await rawRecords()).filter((r) => !r.errorCode && [name, arn].includes(String((r.requestParameters as { name?: unknown } | null)?.name)));
    const [create] = await mine();
    expect(create).toMatchObject({
      eventName: 'CreateTrail',
      userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/platform/trail-admin`, userName: 'trail-admin', accessKeyId: ADMIN.id },
      requestParameters: { name, s3BucketName: bucket, s3KeyPrefix: 'audit', isMultiRegionTrail: true, enableLogFileValidation: true, tagsList: [{ key: 'team', value: 'security' }] },
      readOnly: false,
      recipientAccountId: ACCOUNT,
    });
    // responseElements: the answer, member for member, camel-cased (trailARN, s3BucketName…).
    expect(create!.responseElements).toEqual(Object.fromEntries(Object.entries(created).map(([k, v]) => [k.charAt(0).toLowerCase() + k.slice(1), v])));
    expect((create!.responseElements as Record<string, unknown>).trailARN).toBe(arn);

    await admin.call('StartLogging', { Name: name });
    await admin.call('StopLogging', { Name: arn });
    await admin.call('DeleteTrail', { Name: name });
    const records = await mine();
    expect(records.map((r) => r.eventName)).toEqual(['CreateTrail', 'StartLogging', 'StopLogging', 'DeleteTrail']);
    for (const r of records.slice(1)) expect(r).toMatchObject({ readOnly: false, responseElements: null });

    const byId = await enriched.waitForEvents(records.map((r) => r.eventID!));
    for (const r of records) expect(cis('cis-4.5-cloudtrail-configuration-changes').matches(new RuleEvent(byId.get(r.eventID!)!.value)), r.eventName).toBe(true);

    const page = await waitFor(async () => {
      const p = await client(READER).call<{ Events: { EventId: string; CloudTrailEvent: string; Username: string }[] }>('LookupEvents', { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateTrail' }] });
      return p.Events.some((e) => e.EventId === create!.eventID) ? p : undefined;
    }, 'the CreateTrail call in event history', 120_000, 1000);
    const found = page.Events.find((e) => e.EventId === create!.eventID)!;
    expect(found.Username).toBe('trail-admin');
    expect(JSON.parse(found.CloudTrailEvent)).toEqual(create);
  });

  it('records reads in the background with their request id, the SDK user agent, requestParameters and responseElements null', async () => {
    const sdk = new CloudTrailClient({ endpoint: api.url, region: REGION, credentials: { accessKeyId: ADMIN.id, secretAccessKey: ADMIN.secret } });
    const answer = await sdk.send(new DescribeTrailsCommand({ trailNameList: ['audit-none'], includeShadowTrails: false }));
    sdk.destroy();
    const requestId = answer.$metadata.requestId!;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const r = await waitFor(async () => (await rawRecords()).find((x) => x.requestID === requestId), 'the DescribeTrails record');
    expect(r).toMatchObject({
      userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/platform/trail-admin`, accountId: ACCOUNT, accessKeyId: ADMIN.id, userName: 'trail-admin', principalId: expect.stringMatching(/^AIDA[A-Z2-7]{17}$/) },
      eventName: 'DescribeTrails',
      userAgent: expect.stringContaining('aws-sdk-js'),
      requestParameters: { trailNameList: ['audit-none'], includeShadowTrails: false },
      responseElements: null,
      readOnly: true,
    });
    expect(r.errorCode).toBeUndefined();

    // An explicit deny wins over Get*; a key of api.accessKeys has full access as a user of the default account.
    await expect(client(READER).call('GetTrailStatus', { Name: 'x' })).rejects.toMatchObject({ code: 'AccessDeniedException', message: expect.stringContaining('with an explicit deny in an identity-based policy') });
    await expect(client(LEGACY).call('GetTrailStatus', { Name: 'audit-none' })).rejects.toMatchObject({ code: 'TrailNotFoundException' });
    const legacy = await waitFor(async () => (await rawRecords()).find((x) => x.userIdentity?.accessKeyId === LEGACY.id), 'the legacy key record');
    expect(legacy).toMatchObject({ userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/${LEGACY.id}`, accountId: ACCOUNT }, errorCode: 'TrailNotFoundException', readOnly: true });
    expect(await api.service.metric('opentrail_api_audit_records_total', { mode: 'async', outcome: 'published' })).toBeGreaterThanOrEqual(3);
  });

  it('the real AWS CLI shows the refusal as it shows CloudTrail\'s, and its call is on record with its user agent', async () => {
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        awsCliPath(),
        ['cloudtrail', 'stop-logging', '--name', 'cli-denied', '--endpoint-url', api.url, '--region', REGION],
        { env: { ...process.env, AWS_ACCESS_KEY_ID: READER.id, AWS_SECRET_ACCESS_KEY: READER.secret, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_MAX_ATTEMPTS: '1' }, timeout: 120_000 },
        (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim()).toBe(
      `An error occurred (AccessDeniedException) when calling the StopLogging operation: User: arn:aws:sts::${ACCOUNT}:assumed-role/SecurityAudit/auditor is not authorized to perform: cloudtrail:StopLogging on resource: arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/cli-denied because no identity-based policy allows the cloudtrail:StopLogging action`,
    );
    const r = (await rawRecords()).find((x) => x.eventName === 'StopLogging' && (x.requestParameters as { name?: string } | null)?.name === 'cli-denied');
    expect(r).toMatchObject({ errorCode: 'AccessDenied', userAgent: expect.stringMatching(/^aws-cli\//), readOnly: false });
  });

  it('does not record requests without a valid signature', async () => {
    const before = (await rawRecords()).length;
    await expect(client({ id: ADMIN.id, secret: 'wrong-secret' }).call('CreateTrail', { Name: 'unsigned' })).rejects.toMatchObject({ code: 'InvalidSignatureException', status: 403 });
    await expect(client({ id: 'AKIANOBODY', secret: 'x' }).call('StopLogging', { Name: 'unsigned' })).rejects.toMatchObject({ code: 'UnrecognizedClientException', status: 403 });
    await new Promise((r) => setTimeout(r, 1000));
    expect((await rawRecords()).filter((r) => (r.requestParameters as { name?: string } | null)?.name === 'unsigned')).toEqual([]);
    expect((await rawRecords()).length).toBe(before);
  });

  it('finds the calls in event history: LookupEvents EventName=CreateTrail, CloudTrailEvent the record', async () => {
    const denied = (await rawRecords()).find((r) => r.eventName === 'CreateTrail' && r.errorCode === 'AccessDenied')!;
    const page = await waitFor(async () => {
      const p = await client(READER).call<{ Events: { EventId: string; EventName: string; Username: string; AccessKeyId: string; ReadOnly: string; CloudTrailEvent: string }[] }>('LookupEvents', { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'CreateTrail' }] });
      return p.Events.some((e) => e.EventId === denied.eventID) ? p : undefined;
    }, 'the CreateTrail call in event history', 120_000, 1000);
    const found = page.Events.find((e) => e.EventId === denied.eventID)!;
    expect(found).toMatchObject({ EventName: 'CreateTrail', Username: 'auditor', AccessKeyId: READER.id, ReadOnly: 'false' });
    expect(JSON.parse(found.CloudTrailEvent)).toEqual(denied);
  });

  it('never writes a secret to its log', () => {
    const output = api.service.output();
    for (const secret of [ADMIN.secret, READER.secret, LEGACY.secret]) expect(output).not.toContain(secret);
    expect(api.service.logs().find((l) => typeof l.api === 'string')?.callers).toEqual([
      { principal: PRINCIPALS[0]!.arn, accessKeys: [ADMIN.id], allow: PRINCIPALS[0]!.allow, deny: [] },
      { principal: PRINCIPALS[1]!.arn, accessKeys: [READER.id], allow: PRINCIPALS[1]!.allow, deny: PRINCIPALS[1]!.deny },
      { accessKeys: [LEGACY.id], allow: ['*'] },
    ]);
  });
});
