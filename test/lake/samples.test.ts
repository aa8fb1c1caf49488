import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudTrailClient, DescribeQueryCommand, GetQueryResultsCommand, StartQueryCommand, type DescribeQueryCommandOutput } from '@aws-sdk/client-cloudtrail';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateRecord, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { startTrino, type TrinoServer } from '@opentrail/stack';
import type { TrailInput } from '@opentrail/trails';
import { cloudTrailSampleQueries, sampleStatement } from '../../packages/lake/test/sql/sampleQueries.js';
import { stackEndpoints, testKafka } from '../helpers/env.js';
import { serviceEnv } from '../helpers/env.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { archiverEnv, archiverTopics, createBucket, EnrichedProducer, readLogFiles } from '../archiver/helpers.js';
import { ACCOUNT, awsClients, KEY, REGION, startTrailApi, type TrailApi } from '../api/trail-helpers.js';
import { freshDatabase } from '../history/ingest-helpers.js';
import { sampleAnswers, sampleCorpus, type Cell, type SampleAnswer } from './sampleAnswers.js';

/**
 * Issue 20: AWS's published CloudTrail Lake sample queries (aws-samples/cloud-trail-lake-query-samples,
 * packages/lake/test/sql/sampleQueries.ts), each with only the event data store ID substituted
 * (sampleStatement), run through the query API (StartQuery, DescribeQuery, GetQueryResults page by
 * page) on a real Trino over the table the lake service writes, and their rows equal the same
 * question answered in TypeScript (sampleAnswers.ts) from the records read back out of the
 * CloudTrail log files the archiver delivered to S3 for a trail that logs the same events. Both the
 * lake and the archiver read one events.enriched topic; the corpus (sampleAnswers.ts sampleCorpus)
 * is built so that every sample checked here returns rows, with events inside and just outside each
 * sample's time window, filters and groups.
 *
 * Checked (see sampleAnswers): every entry of sampleAnswers, 39 files. Most of them compare eventTime
 * with a string (`eventTime > '2023-01-01 00:00:00'`), which Lake accepts and Trino refuses
 * (timestamp(3) > varchar); the guard types such strings as TIMESTAMP literals (parser.ts
 * timeLiterals), without which 32 of these 39 fail.
 *
 * Left out of cloudTrailSampleQueries, and why:
 * - MostEvaluatedConfigRule.sql: selects element_at(additionalEventData, …) while grouping by the
 *   map column additionalEventData itself; Trino rejects the select items as neither aggregated nor
 *   grouped (and MAP is not a groupable type).
 * - cloudtrail-configuration-changes.sql, data-by-week-day.sql, list-events-with-errors.sql,
 *   list-write-events-from-management-console.sql, tls-version.sql, top-s3-objects.sql,
 *   users-by-account.sql: their time range is empty as published (eventTime > X AND eventTime < X),
 *   so no corpus can make their answer non-empty.
 * - console-login-with-no-mfa.sql, dynamodb-scan-operations.sql, ec2-events.sql: SELECT *, every
 *   column of the table including the nested ROW columns, whose text form the API takes from
 *   Trino's JSON; not compared here. (dynamodb-scan-operations also asks for eventname = 'scan',
 *   which no DynamoDB record carries: the API is Scan.)
 * - list-all-manually-created-resources.sql: selects the whole userIdentity ROW and resources
 *   ARRAY(ROW), for the same reason.
 * - The Config samples (configSampleQueries): they read a Config configuration-item store.
 */
const aws = awsClients();
let trino: TrinoServer;
let trinoDir: string;
let api: TrailApi;
let lake: ServiceProcess;
let archiver: ServiceProcess;
let producer: EnrichedProducer;
let sdk: CloudTrailClient;
let storeId: string;
let trailBucket: string;
const corpus = sampleCorpus();
/** The records as the trail's log files hold them. */
let logged: CloudTrailRecord[] = [];

/** Every management event, and S3 object data events: the trail's selectors and the store's. */
const SELECTORS = [
  { name: 'management', fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }] },
  { name: 's3 objects', fieldSelectors: [{ field: 'eventCategory', equals: ['Data'] }, { field: 'resources.type', equals: ['AWS::S3::Object'] }] },
];

beforeAll(async () => {
  const endpoints = stackEndpoints();
  const bucket = `lakes-${Date.now().toString(36)}`;
  trailBucket = `lakes-trail-${Date.now().toString(36)}`;
  trinoDir = await mkdtemp(join(tmpdir(), 'opentrail-trino-'));
  const databaseUrl = await freshDatabase('lakes');
  [trino] = await Promise.all([
    startTrino({ dir: trinoDir, awsEndpoint: endpoints.awsEndpoint, region: REGION, accessKeyId: 'test', secretAccessKey: 'test', metastoreDir: `s3://${bucket}/_metastore` }),
    createBucket(aws.s3, trailBucket),
  ]);
  api = await startTrailApi({ OPENTRAIL_TRINO_URL: trino.url, OPENTRAIL_DATABASE_URL: databaseUrl, OPENTRAIL_LAKE_BUCKET: bucket, OPENTRAIL_API_TRAIL_WRITES_PER_SECOND: '50', OPENTRAIL_API_TRAIL_READS_PER_SECOND: '200' });
  const kafka = testKafka();
  await archiverTopics(kafka, api.prefix);
  const trail: TrailInput = {
    name: 'org-all',
    accountId: ACCOUNT,
    homeRegion: REGION,
    bucket: trailBucket,
    organizationId: 'o-trailopstest1',
    advancedEventSelectors: SELECTORS,
    roll: { intervalSeconds: 1 },
    digests: { enabled: false, periodMinutes: 60 },
  };
  [lake, archiver] = await Promise.all([
    startService('lake', serviceEnv(api.prefix, { OPENTRAIL_LAKE_BUCKET: bucket, OPENTRAIL_LAKE_ROLL_INTERVAL_SECONDS: '1' })),
    startService('archiver', archiverEnv(api.prefix, [trail])),
  ]);
  producer = await EnrichedProducer.create(kafka, api.prefix);
  sdk = new CloudTrailClient({ endpoint: api.url, region: REGION, credentials: { accessKeyId: KEY.id, secretAccessKey: KEY.secret }, maxAttempts: 8 });
}, 240_000);

afterAll(async () => {
  sdk?.destroy();
  await producer?.close();
  await Promise.all([lake?.stop(), archiver?.stop(), api?.stop()]);
  await trino?.stop();
  if (trinoDir) await rm(trinoDir, { recursive: true, force: true });
  aws.destroy();
});

type Row = Record<string, string | null>[];

async function runQuery(statement: string): Promise<{ described: DescribeQueryCommandOutput; rows: Row[] }> {
  const { QueryId } = await sdk.send(new StartQueryCommand({ QueryStatement: statement }));
  let described!: DescribeQueryCommandOutput;
  await waitFor(async () => {
    described = await sdk.send(new DescribeQueryCommand({ QueryId }));
    return !['QUEUED', 'RUNNING'].includes(described.QueryStatus!);
  }, `query ${QueryId} to end`, 150_000, 300);
  const rows: Row[] = [];
  if (described.QueryStatus !== 'FINISHED') return { described, rows };
  let token: string | undefined;
  do {
    const page = await sdk.send(new GetQueryResultsCommand({ QueryId, MaxQueryResults: 25, ...(token ? { NextToken: token } : {}) }));
    rows.push(...((page.QueryResultRows ?? []) as Row[]));
    token = page.NextToken;
  } while (token);
  return { described, rows };
}

/** A cell as compared: JSON columns parsed and re-written with sorted keys. */
function canonical(value: Cell, json: boolean): Cell {
  if (!json || value === null) return value;
  const sort = (v: unknown): unknown => (Array.isArray(v) ? v.map(sort) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])])) : v);
  return JSON.stringify(sort(JSON.parse(value)));
}

function compare(check: SampleAnswer, actual: Row[], expected: Cell[][]): void {
  const json = new Set(check.json ?? []);
  const names = actual[0]?.map((cell) => Object.keys(cell)[0]!.toLowerCase());
  if (names) expect(names, `${check.file}: columns`).toEqual(check.columns.map((c) => c.toLowerCase()));
  const got = actual.map((row) => row.map((cell, i) => canonical(Object.values(cell)[0] ?? null, json.has(i))));
  const want = expected.map((row) => row.map((cell, i) => canonical(cell, json.has(i))));
  const sorted = (rows: Cell[][]) => rows.map((r) => JSON.stringify(r)).sort();
  expect(sorted(got), `${check.file}: rows`).toEqual(sorted(want));
  if (check.orderedOn) {
    const key = (row: Cell[]) => JSON.stringify(check.orderedOn!.map((i) => row[i]));
    expect(got.map(key), `${check.file}: order`).toEqual(want.map(key));
  }
}

describe('AWS sample queries on the lake equal the answers from the trail\'s log files', () => {
  it('the lake and the trail take the corpus', async () => {
    for (const r of corpus) expect(validateRecord(r), r.eventName).toEqual([]);
    const created = await sdk.send(
      new (await import('@aws-sdk/client-cloudtrail')).CreateEventDataStoreCommand({
        Name: 'samples',
        OrganizationEnabled: true,
        MultiRegionEnabled: true,
        RetentionPeriod: 3653,
        AdvancedEventSelectors: SELECTORS.map((s) => ({ Name: s.name, FieldSelectors: s.fieldSelectors.map((f) => ({ Field: f.field, Equals: f.equals })) })),
      }),
    );
    storeId = created.EventDataStoreArn!.split('/')[1]!;
    // The store is ENABLED through the API's catalog topic; the lake service follows it.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await producer.send(corpus);
    await waitFor(async () => (await lake.metric('opentrail_lake_rows_written_total').catch(() => 0)) >= corpus.length, `${corpus.length} rows in the lake`, 150_000, 500);
    await waitFor(
      async () => {
        const files = await readLogFiles(aws.s3, trailBucket);
        logged = files.filter((f) => f.key.includes('/CloudTrail/')).flatMap((f) => f.records);
        return logged.length >= corpus.length;
      },
      `${corpus.length} records in the trail's log files`,
      150_000,
      1000,
    );
    expect(logged.length).toBe(corpus.length);
    expect(new Set(logged.map((r) => r.eventID)).size).toBe(corpus.length);
  });

  const samples = new Map(cloudTrailSampleQueries.map((s) => [s.file, s]));
  it(`${sampleAnswers.length} samples, verbatim, answer as the log files do`, async () => {
    expect(sampleAnswers.length).toBeGreaterThanOrEqual(20);
    const failures: string[] = [];
    const one = async (check: SampleAnswer) => {
      const sample = samples.get(check.file);
      if (!sample) throw new Error(`no sample ${check.file}`);
      const statement = sampleStatement(sample, storeId);
      // Only the store ID differs from the published text.
      expect(statement.split(storeId).join(sample.placeholder)).toBe(sample.text);
      const expected = check.answer(logged);
      try {
        const { described, rows } = await runQuery(statement);
        expect(described.QueryStatus, `${check.file}: ${described.ErrorMessage ?? ''}`).toBe('FINISHED');
        expect(expected.length, `${check.file}: the corpus gives it rows`).toBeGreaterThan(0);
        compare(check, rows, expected);
      } catch (err) {
        failures.push(`${check.file}: ${(err as Error).message}`);
      }
    };
    // Three at a time from the first: the API makes the schema and the store's table once, for
    // whichever queries come first together.
    const queue = [...sampleAnswers];
    await Promise.all(Array.from({ length: 3 }, async () => {
      for (let check = queue.shift(); check; check = queue.shift()) await one(check);
    }));
    if (failures.length > 0) console.log(api.service.logs().filter((l) => (l.level as number) >= 40).map((l) => JSON.stringify(l)).join('\n'));
    expect(failures).toEqual([]);
  }, 300_000);
});
