import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRow } from '@opentrail/history';
import { HistoryApiClient, type HistoryApiError } from '../../packages/cli/src/history/historyApiClient.js';
import { awsCliPath } from '../digester/helpers.js';
import { ACCESS_KEY, HistoryDatabase, HOUR, insightEvent, managementEvent, names, newestFirst, REGION, startHistoryApi, type RunningApi } from './lookupHelpers.js';

/**
 * The clients of event history against the real API and PostgreSQL: the real AWS CLI's
 * lookup-events (automatic pagination, --max-items/--starting-token), pages that neither repeat
 * nor skip an event while new events keep arriving, opentrail's QueryEvents and
 * GetResourceHistory, and the `opentrail lookup` / `opentrail resource-history` commands.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const exec = promisify(execFile);
const seed = `lc${Math.random().toString(36).slice(2, 7)}`;
let db: HistoryDatabase;
let api: RunningApi;
let client: HistoryApiClient;

const CREDENTIALS = { AWS_ACCESS_KEY_ID: ACCESS_KEY.id, AWS_SECRET_ACCESS_KEY: ACCESS_KEY.secret, AWS_DEFAULT_REGION: REGION, AWS_REGION: REGION, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };

async function aws(args: string[]): Promise<{ Events: { EventId: string }[]; NextToken?: string }> {
  const { stdout } = await exec(awsCliPath(), ['cloudtrail', 'lookup-events', '--endpoint-url', api.url, '--region', REGION, '--output', 'json', ...args], { env: { ...process.env, ...CREDENTIALS }, maxBuffer: 1 << 26, timeout: 120_000 });
  return JSON.parse(stdout) as { Events: { EventId: string }[]; NextToken?: string };
}

async function opentrail(args: string[]): Promise<string> {
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', 'packages/cli/src/bin.ts', ...args, '--endpoint-url', api.url, '--region', REGION], { cwd: ROOT, env: { ...process.env, ...CREDENTIALS }, maxBuffer: 1 << 26, timeout: 120_000 });
  return stdout;
}

/** What opentrail's queries must answer: every category but Insights, the region and 90 days, newest first. */
function expectedAll(keep: (r: EventRow) => boolean, region = REGION): string[] {
  const oldest = Date.now() - 90 * 24 * HOUR;
  return db.rows
    .filter((r) => r.region === region && r.eventCategory !== 'Insight' && Date.parse(r.eventTime) >= oldest && keep(r))
    .sort(newestFirst)
    .map((r) => r.eventId);
}

async function queryAll(input: Record<string, unknown>, pageSize = 50): Promise<string[]> {
  return (await client.collect<{ EventId: string }>((i) => client.queryEvents(i), { ...input, MaxResults: pageSize }, 100_000)).map((e) => e.EventId);
}

beforeAll(async () => {
  db = await HistoryDatabase.create('lookup_clients');
  const records = Array.from({ length: 200 }, (_, i) => managementEvent(seed, i, Math.floor(i / 2) * 23 * 60_000 + 5000));
  records.push(insightEvent(seed, 0, HOUR));
  records.push(managementEvent(seed, 900, 2 * HOUR, { eventCategory: 'Data', managementEvent: false, eventName: 'GetObject', eventSource: 's3.amazonaws.com', readOnly: true }));
  records.push(managementEvent(seed, 901, 3 * HOUR, { awsRegion: 'eu-west-1' }));
  await db.write(records);
  api = await startHistoryApi(db.url, { OPENTRAIL_API_HISTORY_LOOKUP_EVENTS_PER_SECOND: '1000', OPENTRAIL_API_HISTORY_QUERY_EVENTS_PER_SECOND: '1000' });
  client = new HistoryApiClient({ endpoint: api.url, region: REGION, credentials: { accessKeyId: ACCESS_KEY.id, secretAccessKey: ACCESS_KEY.secret } });
}, 120_000);

afterAll(async () => {
  await api?.service.stop();
  await db?.close();
});

describe('the AWS CLI', () => {
  it('aws cloudtrail lookup-events pages through everything by itself', async () => {
    const want = db.rows.filter((r) => r.region === REGION && r.eventCategory === 'Management' && r.eventSource === 'ec2.amazonaws.com').sort(newestFirst).map((r) => r.eventId);
    const all = await aws(['--lookup-attributes', 'AttributeKey=EventSource,AttributeValue=ec2.amazonaws.com', '--page-size', '7']);
    expect(all.Events.map((e) => e.EventId)).toEqual(want);
    expect(all.NextToken).toBeUndefined();
  });

  it('--max-items and --starting-token continue where the last call stopped', async () => {
    const attribute = ['--lookup-attributes', 'AttributeKey=ReadOnly,AttributeValue=false'];
    const want = db.rows.filter((r) => r.region === REGION && r.eventCategory === 'Management' && r.readOnly === false).sort(newestFirst).map((r) => r.eventId);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await aws([...attribute, '--max-items', '45', '--page-size', '20', ...(token ? ['--starting-token', token] : [])]);
      seen.push(...page.Events.map((e) => e.EventId));
      token = page.NextToken;
    } while (token);
    expect(seen).toEqual(want);
    expect(want.length).toBeGreaterThan(90);
  });
});

describe('pagination while events keep arriving', () => {
  it('neither repeats nor skips an event, LookupEvents and QueryEvents alike', async () => {
    for (const [name, page] of [
      ['LookupEvents', (token?: string) => client.lookupEvents<{ EventId: string }>({ LookupAttributes: [{ AttributeKey: 'Username', AttributeValue: 'user-1' }], MaxResults: 6, ...(token ? { NextToken: token } : {}) })],
      ['QueryEvents', (token?: string) => client.queryEvents<{ EventId: string }>({ Username: 'user-1', MaxResults: 6, ...(token ? { NextToken: token } : {}) })],
    ] as const) {
      const before = db.rows.filter((r) => r.region === REGION && r.eventCategory === 'Management' && r.username === 'user-1').sort(newestFirst).map((r) => r.eventId);
      const seen: string[] = [];
      let token: string | undefined;
      let n = 1000 + (name === 'QueryEvents' ? 500 : 0);
      do {
        const result = await page(token);
        seen.push(...result.Events.map((e) => e.EventId));
        token = result.NextToken;
        // New calls by the same user land between pages, newer than anything paged so far.
        await db.write([0, 1, 2].map(() => managementEvent(seed, (n += 5) + 1, 0)));
      } while (token);
      expect(new Set(seen).size, name).toBe(seen.length);
      expect(seen, name).toEqual(before);
    }
  });
});

describe("opentrail's QueryEvents", () => {
  it('combines filters: user and lack of permission, source CIDR, IPv6 CIDR and writes, source and error code, another region', async () => {
    const cases: [Record<string, unknown>, (r: EventRow) => boolean, string?][] = [
      [{ Username: 'user-4', AccessDenied: true }, (r) => r.username === 'user-4' && ['AccessDenied', 'Client.UnauthorizedOperation'].includes(r.errorCode ?? '')],
      [{ AccessDenied: true }, (r) => ['AccessDenied', 'Client.UnauthorizedOperation'].includes(r.errorCode ?? '')],
      [{ SourceIPAddress: '10.0.1.0/24' }, (r) => (r.sourceIp ?? '').startsWith('10.0.1.')],
      [{ SourceIPAddress: '2001:db8::/32', ReadOnly: false }, (r) => (r.sourceIp ?? '').startsWith('2001:db8::') && r.readOnly === false],
      [{ SourceIPAddress: 'ec2.amazonaws.com' }, (r) => r.sourceIp === 'ec2.amazonaws.com'],
      [{ EventSource: 's3.amazonaws.com', ErrorCode: 'AccessDenied' }, (r) => r.eventSource === 's3.amazonaws.com' && r.errorCode === 'AccessDenied'],
      [{ ResourceName: `bucket-${seed}-2`, EventName: 'PutBucketPolicy' }, (r) => names(r).has(`bucket-${seed}-2`) && r.eventName === 'PutBucketPolicy'],
      [{ AccountId: '111122223333', ReadOnly: true, EventSource: 's3.amazonaws.com' }, (r) => r.accountId === '111122223333' && r.readOnly === true && r.eventSource === 's3.amazonaws.com'],
      [{ Region: 'eu-west-1' }, () => true, 'eu-west-1'],
    ];
    for (const [input, keep, region] of cases) {
      const want = expectedAll(keep, region);
      expect(want.length, JSON.stringify(input)).toBeGreaterThan(0);
      expect(await queryAll(input, 11), JSON.stringify(input)).toEqual(want);
    }
    const denied = await client.queryEvents<Record<string, unknown>>({ AccessDenied: true, MaxResults: 1 });
    expect(denied.Events[0]).toMatchObject({ ErrorCode: expect.stringMatching(/AccessDenied|UnauthorizedOperation/), SourceIPAddress: expect.any(String), AccountId: '111122223333', AwsRegion: REGION, EventCategory: 'Management' });
  });

  it('refuses bad input with 400s, never a 500', async () => {
    const code = (p: Promise<unknown>) => p.then(() => 'ok', (err: HistoryApiError) => `${err.status} ${err.code}`);
    expect(await code(client.queryEvents({ SourceIPAddress: '10.0.0.0/40' }))).toBe('400 InvalidParameterException');
    expect(await code(client.queryEvents({ SourceIPAddress: "10.0.0.0/8' OR '1'='1" }))).toBe('400 InvalidParameterException');
    expect(await code(client.queryEvents({ Bogus: 1 }))).toBe('400 InvalidParameterException');
    expect(await code(client.queryEvents({ StartTime: 10, EndTime: 5 }))).toBe('400 InvalidTimeRangeException');
    expect(await code(client.queryEvents({ NextToken: 'x.y' }))).toBe('400 InvalidNextTokenException');
    expect(await code(client.resourceHistory({}))).toBe('400 InvalidParameterException');
    expect(await code(client.call('OpenTrail_20261201.DropEverything', {}))).toBe('400 UnknownOperationException');
    expect(await code(client.call('CloudTrail_20131101.QueryEvents', {}))).toBe('400 UnknownOperationException');
  });
});

describe('resource history', () => {
  it('lists every successful change to a resource newest first, with who and from where; --last is the first of them', async () => {
    const group = `sg-${seed}1`;
    const want = expectedAll((r) => names(r).has(group) && r.readOnly !== true && r.errorCode === null);
    const withFailed = expectedAll((r) => names(r).has(group) && r.readOnly !== true);
    expect(want.length).toBeGreaterThan(3);
    expect(withFailed.length).toBeGreaterThan(want.length);
    const changes = await client.collect<Record<string, unknown>>((i) => client.resourceHistory(i), { ResourceName: group }, 1000);
    expect(changes.map((e) => e.EventId)).toEqual(want);
    expect(changes[0]).toMatchObject({ EventName: 'AuthorizeSecurityGroupIngress', SourceIPAddress: expect.any(String), EventTime: expect.any(Number) });
    expect((await client.collect<{ EventId: string }>((i) => client.resourceHistory(i), { ResourceName: group, IncludeFailed: true }, 1000)).map((e) => e.EventId)).toEqual(withFailed);

    const last = JSON.parse(await opentrail(['resource-history', group, '--last', '--output', 'json'])) as { Events: { EventId: string; Username: string }[] };
    expect(last.Events.map((e) => e.EventId)).toEqual([want[0]]);
    const table = await opentrail(['resource-history', group]);
    expect(table.split('\n')[0]).toMatch(/^TIME \(UTC\)\s+EVENT\s+SOURCE\s+USER\s+FROM\s+ERROR CODE\s+RESOURCES$/);
    expect(table.trim().split('\n')).toHaveLength(want.length + 1);
  });

  it('opentrail lookup combines filters and prints JSON or a table', async () => {
    const json = JSON.parse(await opentrail(['lookup', '--username', 'user-4', '--access-denied', '--output', 'json', '--max-items', '1000'])) as { Events: { EventId: string }[] };
    expect(json.Events.map((e) => e.EventId)).toEqual(expectedAll((r) => r.username === 'user-4' && ['AccessDenied', 'Client.UnauthorizedOperation'].includes(r.errorCode ?? '')));
    const table = await opentrail(['lookup', '--source-ip', '10.0.0.0/8', '--writes', '--max-items', '5']);
    const lines = table.trim().split('\n');
    expect(lines).toHaveLength(6);
    for (const line of lines.slice(1)) expect(line).toMatch(/ 10\.0\.\d+\.\d+ /);
  });
});
