/** Helpers for the history ingest tests: a database of each test's own, events dated near now. */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { validateRecord, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { stackEndpoints } from '../helpers/env.js';
import { realRecords } from '../helpers/fixtures.js';

/** A fresh database on the stack's PostgreSQL server; returns its URL. */
export async function freshDatabase(label: string, serverUrl = stackEndpoints().databaseUrl): Promise<string> {
  const name = `${label}_${Math.random().toString(36).slice(2, 10)}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  await withClient(serverUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function countRows(url: string, table = 'events'): Promise<number> {
  return withClient(url, async (c) => {
    const exists = await c.query<{ r: string | null }>('SELECT to_regclass($1) AS r', [table]);
    if (!exists.rows[0]?.r) return 0;
    return Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
  });
}

function uuid(seed: string, i: number): string {
  const h = createHash('sha256').update(`${seed}:${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const CORPUS = realRecords().filter((r) => validateRecord(r).length === 0);
const ACCOUNTS = ['111122223333', '444455556666', '777788889999'];
const REGIONS = ['us-east-1', 'eu-west-1'];

export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Event `i` of a run, dated `dayOffset` days from now (minus up to an hour): every third one a real
 * record of the corpus, every 50th an Insights record, the rest IAM and EC2 management calls
 * without a resources member (so their resources are derived).
 */
export function historyEvent(i: number, seed: string, dayOffset = 0): CloudTrailRecord {
  const account = ACCOUNTS[i % ACCOUNTS.length]!;
  const region = REGIONS[i % REGIONS.length]!;
  const eventTime = isoSeconds(Date.now() + dayOffset * 86_400_000 - (i % 3600) * 1000);
  const eventID = uuid(seed, i);
  if (i % 50 === 0) {
    return {
      eventVersion: '1.08', eventTime, awsRegion: region, eventID, eventType: 'AwsCloudTrailInsight', eventCategory: 'Insight',
      eventSource: 'ec2.amazonaws.com', eventName: 'RunInstances', recipientAccountId: account, sharedEventID: uuid(`${seed}-shared`, i),
      insightDetails: { state: 'Start', eventSource: 'ec2.amazonaws.com', eventName: 'RunInstances', insightType: 'ApiCallRateInsight', insightContext: { statistics: { baseline: { average: 0.1 }, insight: { average: 2 } } } },
    };
  }
  if (i % 3 === 0) {
    const base = CORPUS[(i / 3) % CORPUS.length]!;
    return { ...base, eventID, awsRegion: region, recipientAccountId: account, eventTime };
  }
  const iam = i % 2 === 0;
  return {
    eventVersion: '1.09',
    userIdentity: { type: 'IAMUser', principalId: `AIDA${i % 11}`, arn: `arn:aws:iam::${account}:user/dev${i % 11}`, accountId: account, accessKeyId: `AKIA${String(i % 17).padStart(16, '0')}`, userName: `dev${i % 11}` },
    eventTime,
    eventSource: iam ? 'iam.amazonaws.com' : 'ec2.amazonaws.com',
    eventName: iam ? 'AttachRolePolicy' : 'TerminateInstances',
    awsRegion: region,
    sourceIPAddress: `198.51.100.${i % 200}`,
    userAgent: 'aws-cli/2.15.0',
    requestParameters: iam ? { roleName: `role${i % 5}`, policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' } : { instancesSet: { items: [{ instanceId: `i-${(i % 97).toString(16).padStart(17, '0')}` }] } },
    responseElements: null,
    requestID: uuid(`${seed}-req`, i),
    eventID,
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    eventCategory: 'Management',
    recipientAccountId: account,
  };
}
