/**
 * Helpers for the event-history query tests: a database of the test's own on the stack's
 * PostgreSQL (migrated by the store's migrations), events written by the store's writer, the API
 * started as a real process against it, and an oracle that filters the same rows in memory.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { toApiCallEvent, withDefaults, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { createPool, EventWriter, migrate, PartitionManager, toEventRow, type EventRow, type Pool } from '@opentrail/history';
import { serviceEnv, stackEndpoints, uniquePrefix } from '../helpers/env.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';

export const REGION = 'us-east-1';
export const ACCESS_KEY = { id: 'AKIAOPENTRAILHIST01', secret: 'opentrail-history-test-secret' };
export const THROTTLE_KEY = { id: 'AKIAOPENTRAILHIST02', secret: 'opentrail-history-test-secret-2' };
export const NEXT_TOKEN_SECRET = 'history-test-next-token-secret-0123456789';

const HOUR = 3_600_000;
export const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

const CALLS = [
  { eventName: 'RunInstances', eventSource: 'ec2.amazonaws.com', readOnly: false },
  { eventName: 'DescribeInstances', eventSource: 'ec2.amazonaws.com', readOnly: true },
  { eventName: 'PutBucketPolicy', eventSource: 's3.amazonaws.com', readOnly: false },
  { eventName: 'GetBucketPolicy', eventSource: 's3.amazonaws.com', readOnly: true },
  { eventName: 'AuthorizeSecurityGroupIngress', eventSource: 'ec2.amazonaws.com', readOnly: false },
  { eventName: 'AssumeRole', eventSource: 'sts.amazonaws.com', readOnly: false },
  { eventName: 'ConsoleLogin', eventSource: 'signin.amazonaws.com', readOnly: false },
] as const;
const ADDRESSES = (i: number) => [`10.0.${i % 3}.${(i % 250) + 1}`, '192.168.1.5', `2001:db8::${(i % 9) + 1}`, 'ec2.amazonaws.com'][i % 4]!;
const ERRORS = (i: number) => (i % 9 === 4 ? 'AccessDenied' : i % 13 === 6 ? 'Client.UnauthorizedOperation' : i % 17 === 8 ? 'ValidationException' : undefined);

/**
 * Management event `i` of a run, `ageMs` old: seven kinds of call, IAM users, assumed roles and
 * root, six access keys, addresses v4/v6/service, some refused for lack of permission, resources
 * both given (AssumeRole) and derived (bucket names, security groups).
 */
export function managementEvent(seed: string, i: number, ageMs: number, overrides: Partial<CloudTrailRecord> = {}): CloudTrailRecord {
  const account = '111122223333';
  const call = CALLS[i % CALLS.length]!;
  const identity =
    i % 11 === 0
      ? { type: 'Root', principalId: account, arn: `arn:aws:iam::${account}:root`, accountId: account, accessKeyId: `AKIA${seed.toUpperCase()}${i % 6}` }
      : i % 7 === 3
        ? { type: 'AssumedRole', principalId: `AROA:s${i % 2}`, arn: `arn:aws:sts::${account}:assumed-role/deployer/session-${i % 2}`, accountId: account, accessKeyId: `ASIA${seed.toUpperCase()}${i % 6}` }
        : { type: 'IAMUser', principalId: `AIDA${i % 5}`, arn: `arn:aws:iam::${account}:user/user-${i % 5}`, accountId: account, accessKeyId: `AKIA${seed.toUpperCase()}${i % 6}`, userName: `user-${i % 5}` };
  const requestParameters =
    call.eventSource === 's3.amazonaws.com'
      ? { bucketName: `bucket-${seed}-${i % 3}` }
      : call.eventName === 'AuthorizeSecurityGroupIngress'
        ? { groupId: `sg-${seed}${i % 2}` }
        : call.eventName === 'AssumeRole'
          ? { roleArn: `arn:aws:iam::${account}:role/deployer`, roleSessionName: `session-${i % 2}` }
          : null;
  const error = ERRORS(i);
  return withDefaults({
    eventVersion: '1.09',
    userIdentity: identity,
    eventTime: isoSeconds(Date.now() - ageMs),
    eventSource: call.eventSource,
    eventName: call.eventName,
    awsRegion: REGION,
    sourceIPAddress: ADDRESSES(i),
    userAgent: 'aws-cli/2.15.0',
    requestParameters,
    responseElements: null,
    ...(error ? { errorCode: error, errorMessage: 'denied' } : {}),
    ...(call.eventName === 'AssumeRole' ? { resources: [{ ARN: `arn:aws:iam::${account}:role/deployer`, accountId: account, type: 'AWS::IAM::Role' }] } : {}),
    eventID: `${seed}-${String(i).padStart(6, '0')}`,
    readOnly: call.readOnly,
    eventType: 'AwsApiCall',
    managementEvent: true,
    eventCategory: 'Management',
    recipientAccountId: account,
    ...overrides,
  });
}

export function insightEvent(seed: string, i: number, ageMs: number): CloudTrailRecord {
  return {
    eventVersion: '1.08',
    eventTime: isoSeconds(Date.now() - ageMs),
    awsRegion: REGION,
    eventID: `${seed}-insight-${i}`,
    eventType: 'AwsCloudTrailInsight',
    eventCategory: 'Insight',
    eventSource: 'ec2.amazonaws.com',
    eventName: 'RunInstances',
    recipientAccountId: '111122223333',
    sharedEventID: `${seed}-shared-${i}`,
    insightDetails: { state: 'Start', eventSource: 'ec2.amazonaws.com', eventName: 'RunInstances', insightType: 'ApiCallRateInsight', insightContext: { statistics: { baseline: { average: 0.1 }, insight: { average: 5 } } } },
  };
}

/** A database of the test's own, migrated; events go in through the store's writer. */
export class HistoryDatabase {
  readonly pool: Pool;
  private readonly writer: EventWriter;
  readonly rows: EventRow[] = [];

  private constructor(readonly url: string) {
    this.pool = createPool({ url, applicationName: 'lookup-test' });
    this.writer = new EventWriter(this.pool, new PartitionManager(this.pool));
  }

  static async create(label: string): Promise<HistoryDatabase> {
    const server = stackEndpoints().databaseUrl;
    const name = `${label}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: server });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    const url = new URL(server);
    url.pathname = `/${name}`;
    const db = new HistoryDatabase(url.toString());
    await migrate(db.pool);
    return db;
  }

  async write(records: CloudTrailRecord[]): Promise<EventRow[]> {
    const rows = records.map((r) => toEventRow(toApiCallEvent(r)));
    const result = await this.writer.write(rows);
    if (result.refused.length) throw new Error(`rows refused: ${JSON.stringify(result.refused).slice(0, 500)}`);
    this.rows.push(...rows);
    return rows;
  }

  async close() {
    await this.pool.end();
  }
}

const timeOf = (r: EventRow) => Date.parse(r.eventTime);
/** Newest first, as the API answers: eventTime, then eventID, descending (byte order: the C collation). */
export const newestFirst = (a: EventRow, b: EventRow) => timeOf(b) - timeOf(a) || (a.eventId < b.eventId ? 1 : a.eventId > b.eventId ? -1 : 0);

/** What LookupEvents must answer: management events of the region and the last 90 days, newest first. */
export function expected(rows: EventRow[], keep: (r: EventRow) => boolean, category = 'Management'): string[] {
  const oldest = Date.now() - 90 * 24 * HOUR;
  return rows
    .filter((r) => r.region === REGION && r.eventCategory === category && Date.parse(r.eventTime) >= oldest && keep(r))
    .sort(newestFirst)
    .map((r) => r.eventId);
}

export const names = (r: EventRow) => new Set(r.resourceKeys.map((k) => k.name));

export interface RunningApi {
  service: ServiceProcess;
  url: string;
}

export async function startHistoryApi(databaseUrl: string, extra: Record<string, string> = {}): Promise<RunningApi> {
  const service = await startService(
    'api',
    serviceEnv(uniquePrefix('lookup'), {
      OPENTRAIL_API_PORT: '0',
      OPENTRAIL_API_ACCESS_KEYS: `${ACCESS_KEY.id}:${ACCESS_KEY.secret},${THROTTLE_KEY.id}:${THROTTLE_KEY.secret}`,
      OPENTRAIL_DATABASE_URL: databaseUrl,
      OPENTRAIL_API_HISTORY_NEXT_TOKEN_SECRET: NEXT_TOKEN_SECRET,
      ...extra,
    }),
  );
  const url = await waitFor(() => service.logs().find((l) => typeof l.api === 'string')?.api as string | undefined, 'the API to log its URL');
  return { service, url };
}

export { HOUR };
