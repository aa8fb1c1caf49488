import { CloudTrailClient, LookupEventsCommand, paginateLookupEvents, type LookupAttributeKey } from '@aws-sdk/client-cloudtrail';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoryApiClient, HistoryApiError } from '../../packages/cli/src/history/historyApiClient.js';
import { ACCESS_KEY, expected, HistoryDatabase, HOUR, insightEvent, managementEvent, names, NEXT_TOKEN_SECRET, REGION, startHistoryApi, THROTTLE_KEY, type RunningApi } from './lookupHelpers.js';

/**
 * LookupEvents as CloudTrail serves it (cloudtrail-spec.md §5.1), against the real API process
 * and a real PostgreSQL holding events written by the history store: every attribute, time
 * bounds, Insights, the SDK's paginator, every error, throttling.
 */
const seed = `lk${Math.random().toString(36).slice(2, 7)}`;
let db: HistoryDatabase;
let api: RunningApi;
let slowApi: RunningApi;
let sdk: CloudTrailClient;
let client: HistoryApiClient;

beforeAll(async () => {
  db = await HistoryDatabase.create('lookup');
  // 300 management events over the last ~3 days (several day partitions), two per second-stamp so
  // that pages break between events of the same second; Insights; a Data event; another region;
  // one event older than the 90 days served.
  const records = Array.from({ length: 300 }, (_, i) => managementEvent(seed, i, Math.floor(i / 2) * 29 * 60_000 + 5000));
  records.push(...[0, 1, 2].map((i) => insightEvent(seed, i, (i + 1) * HOUR)));
  records.push(managementEvent(seed, 900, 2 * HOUR, { eventCategory: 'Data', managementEvent: false, eventName: 'GetObject', eventSource: 's3.amazonaws.com' }));
  records.push(managementEvent(seed, 901, 3 * HOUR, { awsRegion: 'eu-west-1' }));
  records.push(managementEvent(seed, 902, 95 * 24 * HOUR));
  await db.write(records);
  [api, slowApi] = await Promise.all([
    startHistoryApi(db.url, { OPENTRAIL_API_HISTORY_LOOKUP_EVENTS_PER_SECOND: '1000', OPENTRAIL_API_HISTORY_QUERY_EVENTS_PER_SECOND: '1000' }),
    // CloudTrail's 2 TPS, and NextTokens that live five seconds.
    startHistoryApi(db.url, { OPENTRAIL_API_HISTORY_NEXT_TOKEN_TTL_SECONDS: '5' }),
  ]);
  sdk = new CloudTrailClient({ endpoint: api.url, region: REGION, credentials: { accessKeyId: ACCESS_KEY.id, secretAccessKey: ACCESS_KEY.secret } });
  client = new HistoryApiClient({ endpoint: api.url, region: REGION, credentials: { accessKeyId: ACCESS_KEY.id, secretAccessKey: ACCESS_KEY.secret } });
}, 120_000);

afterAll(async () => {
  sdk?.destroy();
  await Promise.all([api?.service.stop(), slowApi?.service.stop()]);
  await db?.close();
});

async function lookupAll(input: { key?: LookupAttributeKey; value?: string; start?: Date; end?: Date; insight?: boolean }, pageSize = 50): Promise<string[]> {
  const ids: string[] = [];
  const pages = paginateLookupEvents(
    { client: sdk, pageSize },
    {
      ...(input.key ? { LookupAttributes: [{ AttributeKey: input.key, AttributeValue: input.value }] } : {}),
      ...(input.start ? { StartTime: input.start } : {}),
      ...(input.end ? { EndTime: input.end } : {}),
      ...(input.insight ? { EventCategory: 'insight' } : {}),
    },
  );
  for await (const page of pages) ids.push(...(page.Events ?? []).map((e) => e.EventId!));
  return ids;
}

const code = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    if (err instanceof HistoryApiError) return `${err.status} ${err.code}`;
    throw err;
  }
  return 'ok';
};

describe('LookupEvents', () => {
  it('without attributes: every management event of the region and 90 days, newest first, in pages', async () => {
    const ids = await lookupAll({}, 37);
    expect(ids).toEqual(expected(db.rows, () => true));
    // 300 written; the 95-day-old one is past the 90 days served.
    expect(ids).toHaveLength(300);
    expect(ids).not.toContain(`${seed}-000902`);
  });

  it('answers each of the eight attributes exactly', async () => {
    const some = db.rows.find((r) => r.eventId === `${seed}-000010`)!;
    const cases: [LookupAttributeKey, string, (r: (typeof db.rows)[number]) => boolean][] = [
      ['EventId', some.eventId, (r) => r.eventId === some.eventId],
      ['EventName', 'AuthorizeSecurityGroupIngress', (r) => r.eventName === 'AuthorizeSecurityGroupIngress'],
      ['ReadOnly', 'true', (r) => r.readOnly === true],
      ['ReadOnly', 'false', (r) => r.readOnly === false],
      ['Username', 'user-2', (r) => r.username === 'user-2'],
      ['Username', 'session-1', (r) => r.username === 'session-1'],
      ['Username', 'root', (r) => r.username === 'root'],
      ['ResourceType', 'AWS::IAM::Role', (r) => r.resourceKeys.some((k) => k.type === 'AWS::IAM::Role')],
      ['ResourceName', `bucket-${seed}-1`, (r) => names(r).has(`bucket-${seed}-1`)],
      ['ResourceName', 'arn:aws:iam::111122223333:role/deployer', (r) => names(r).has('arn:aws:iam::111122223333:role/deployer')],
      ['EventSource', 'sts.amazonaws.com', (r) => r.eventSource === 'sts.amazonaws.com'],
      ['AccessKeyId', `AKIA${seed.toUpperCase()}4`, (r) => r.accessKeyId === `AKIA${seed.toUpperCase()}4`],
    ];
    for (const [key, value, keep] of cases) {
      const want = expected(db.rows, keep);
      expect(want.length, `${key}=${value} has events to find`).toBeGreaterThan(0);
      expect(await lookupAll({ key, value }, 20), `${key}=${value}`).toEqual(want);
    }
    expect(await lookupAll({ key: 'Username', value: 'nobody' })).toEqual([]);
  });

  it('returns CloudTrail\'s Event shape, CloudTrailEvent byte-identical to the archived line', async () => {
    const row = db.rows.find((r) => r.eventName === 'AssumeRole' && r.region === REGION)!;
    const raw = await client.lookupEvents<Record<string, unknown>>({ LookupAttributes: [{ AttributeKey: 'EventId', AttributeValue: row.eventId }] });
    expect(raw.NextToken).toBeUndefined();
    expect(raw.Events).toHaveLength(1);
    const e = raw.Events[0]!;
    expect(e.EventId).toBe(row.eventId);
    expect(e.ReadOnly).toBe('false');
    expect(e.EventTime).toBe(Date.parse(row.eventTime) / 1000);
    expect(e.CloudTrailEvent).toBe(row.record);
    expect(e.Username).toBe(row.username);
    expect(e.AccessKeyId).toBe(row.accessKeyId);
    expect(e.Resources).toEqual(row.resources);
    expect(e.Resources).toContainEqual({ ResourceType: 'AWS::IAM::Role', ResourceName: 'arn:aws:iam::111122223333:role/deployer' });
  });

  it('time bounds are inclusive, and an end before the start is InvalidTimeRangeException', async () => {
    const sorted = expected(db.rows, () => true).map((id) => db.rows.find((r) => r.eventId === id)!);
    const newer = new Date(Date.parse(sorted[40]!.eventTime));
    const older = new Date(Date.parse(sorted[120]!.eventTime));
    const want = expected(db.rows, (r) => Date.parse(r.eventTime) >= older.getTime() && Date.parse(r.eventTime) <= newer.getTime());
    expect(want[0]).toBe(sorted.find((r) => r.eventTime === sorted[40]!.eventTime)!.eventId);
    expect(await lookupAll({ start: older, end: newer }, 50)).toEqual(want);
    expect(await lookupAll({ start: newer, end: newer })).toEqual(expected(db.rows, (r) => Date.parse(r.eventTime) === newer.getTime()));
    await expect(sdk.send(new LookupEventsCommand({ StartTime: newer, EndTime: older }))).rejects.toMatchObject({ name: 'InvalidTimeRangeException', $metadata: { httpStatusCode: 400 } });
  });

  it('EventCategory insight returns only Insights events; without it none', async () => {
    const insights = expected(db.rows, () => true, 'Insight');
    expect(insights).toHaveLength(3);
    expect(await lookupAll({ insight: true })).toEqual(insights);
    expect(await lookupAll({ insight: true, key: 'EventSource', value: 'ec2.amazonaws.com' })).toEqual(insights);
    expect(await lookupAll({ key: 'EventName', value: 'RunInstances' })).not.toEqual(expect.arrayContaining([insights[0]]));
    expect(await code(client.lookupEvents({ EventCategory: 'insight', LookupAttributes: [{ AttributeKey: 'Username', AttributeValue: 'root' }] }))).toBe('400 InvalidLookupAttributesException');
  });

  it('answers the short (Smithy) and the long (botocore) X-Amz-Target alike', async () => {
    const short = await client.call<{ Events: { EventId: string }[] }>('CloudTrail_20131101.LookupEvents', { MaxResults: 5 });
    const long = await client.call<{ Events: { EventId: string }[] }>('com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents', { MaxResults: 5 });
    expect(short.Events.map((e) => e.EventId)).toEqual(expected(db.rows, () => true).slice(0, 5));
    expect(long.Events).toEqual(short.Events);
  });

  it('answers every malformed request with CloudTrail\'s error code, never a 500', async () => {
    const attr = (AttributeKey: unknown, AttributeValue: unknown) => ({ LookupAttributes: [{ AttributeKey, AttributeValue }] });
    const cases: [Record<string, unknown>, string][] = [
      [{ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'a' }, { AttributeKey: 'Username', AttributeValue: 'b' }] }, 'InvalidLookupAttributesException'],
      [attr('Bogus', 'x'), 'InvalidLookupAttributesException'],
      [attr('EventName', ''), 'InvalidLookupAttributesException'],
      [attr('EventName', '_'.repeat(1001)), 'InvalidLookupAttributesException'],
      [attr('ReadOnly', 'maybe'), 'InvalidLookupAttributesException'],
      [attr('EventName', "x' OR 1=1 --"), 'ok'],
      [{ MaxResults: 0 }, 'InvalidMaxResultsException'],
      [{ MaxResults: 51 }, 'InvalidMaxResultsException'],
      [{ StartTime: 2000, EndTime: 1000 }, 'InvalidTimeRangeException'],
      [{ StartTime: 'not a time' }, 'SerializationException'],
      [{ EventCategory: 'management' }, 'InvalidEventCategoryException'],
      [{ NextToken: 'forged' }, 'InvalidNextTokenException'],
      [{ NextToken: `${Buffer.from('[1,"x","1","e",9999999999]').toString('base64url')}.AAAA` }, 'InvalidNextTokenException'],
    ];
    for (const [input, want] of cases) expect(`${JSON.stringify(input).slice(0, 80)} -> ${await code(client.lookupEvents(input))}`).toBe(`${JSON.stringify(input).slice(0, 80)} -> ${want === 'ok' ? 'ok' : `400 ${want}`}`);
    for (const body of ['not json', '[]', '"x"', '{"LookupAttributes": {"a": 1}}', '{"MaxResults": "ten"}']) {
      const res = await rawCall(body);
      expect(res.status, body).toBe(400);
      expect(JSON.stringify(res.body)).not.toMatch(/SQL|syntax|relation|postgres/i);
    }
  });

  it('binds a NextToken to its query: another query\'s token and an expired one are refused', async () => {
    const first = await client.lookupEvents({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'RunInstances' }], MaxResults: 2 });
    expect(first.NextToken).toBeDefined();
    expect(await code(client.lookupEvents({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'RunInstances' }], MaxResults: 2, NextToken: first.NextToken }))).toBe('ok');
    // MaxResults is not part of the binding: the SDK paginators may change the page size.
    expect(await code(client.lookupEvents({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'RunInstances' }], MaxResults: 7, NextToken: first.NextToken }))).toBe('ok');
    expect(await code(client.lookupEvents({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'AssumeRole' }], NextToken: first.NextToken }))).toBe('400 InvalidNextTokenException');
    expect(await code(client.lookupEvents({ NextToken: first.NextToken }))).toBe('400 InvalidNextTokenException');
    expect(await code(client.lookupEvents({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'RunInstances' }], StartTime: 1, NextToken: first.NextToken }))).toBe('400 InvalidNextTokenException');
    const edited = first.NextToken!.slice(0, 10) + (first.NextToken![10] === 'A' ? 'B' : 'A') + first.NextToken!.slice(11);
    expect(await code(client.lookupEvents({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'RunInstances' }], NextToken: edited }))).toBe('400 InvalidNextTokenException');
    // Both instances share the secret: a token from one is good on the other until it expires.
    const slow = new HistoryApiClient({ endpoint: slowApi.url, region: REGION, credentials: { accessKeyId: THROTTLE_KEY.id, secretAccessKey: THROTTLE_KEY.secret } });
    const short = await slow.lookupEvents({ MaxResults: 1 });
    expect(await code(slow.lookupEvents({ MaxResults: 1, NextToken: short.NextToken }))).toBe('ok');
    await new Promise((r) => setTimeout(r, 6100));
    expect(await code(slow.lookupEvents({ MaxResults: 1, NextToken: short.NextToken }))).toBe('400 InvalidNextTokenException');
    expect(NEXT_TOKEN_SECRET.length).toBeGreaterThanOrEqual(32);
  });

  it('throttles LookupEvents at 2 per second per caller and region with ThrottlingException "Rate exceeded"', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    const slow = new HistoryApiClient({ endpoint: slowApi.url, region: REGION, credentials: { accessKeyId: THROTTLE_KEY.id, secretAccessKey: THROTTLE_KEY.secret } });
    const burst = await Promise.all(Array.from({ length: 6 }, () => slow.lookupEvents({ MaxResults: 1 }).then(() => 'ok', (err: HistoryApiError) => `${err.status} ${err.code} ${err.message}`)));
    expect(burst.filter((o) => o === 'ok')).toHaveLength(2);
    expect(burst.filter((o) => o !== 'ok')).toEqual(Array(4).fill('400 ThrottlingException ThrottlingException: Rate exceeded'));
    // Another region is another quota; and the quota refills.
    const otherRegion = new HistoryApiClient({ endpoint: slowApi.url, region: 'eu-west-1', credentials: { accessKeyId: THROTTLE_KEY.id, secretAccessKey: THROTTLE_KEY.secret } });
    expect((await otherRegion.lookupEvents({})).Events.map((e) => (e as { EventId: string }).EventId)).toEqual([`${seed}-000901`]);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await code(slow.lookupEvents({ MaxResults: 1 }))).toBe('ok');
    expect(await slowApi.service.metric('opentrail_api_requests_total', { operation: 'LookupEvents', outcome: 'ThrottlingException' })).toBe(4);
    // The SDK retries throttling by itself: its paginator still gets every page at 2 TPS.
    const throttledSdk = new CloudTrailClient({ endpoint: slowApi.url, region: REGION, credentials: { accessKeyId: THROTTLE_KEY.id, secretAccessKey: THROTTLE_KEY.secret }, maxAttempts: 10 });
    const ids: string[] = [];
    for await (const page of paginateLookupEvents({ client: throttledSdk, pageSize: 50 }, { LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }] })) ids.push(...(page.Events ?? []).map((e) => e.EventId!));
    throttledSdk.destroy();
    expect(ids).toEqual(expected(db.rows, (r) => r.readOnly === false));
  });
});

async function rawCall(body: string): Promise<{ status: number; body: unknown }> {
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { NodeSha256 } = await import('@opentrail/integrity');
  const url = new URL(api.url);
  const signer = new SignatureV4({ service: 'cloudtrail', region: REGION, credentials: { accessKeyId: ACCESS_KEY.id, secretAccessKey: ACCESS_KEY.secret }, sha256: NodeSha256 });
  const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query: {}, headers: { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'CloudTrail_20131101.LookupEvents' }, body });
  const res = await fetch(url, { method: 'POST', headers: signed.headers, body });
  return { status: res.status, body: await res.json() };
}
