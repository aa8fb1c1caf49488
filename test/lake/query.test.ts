import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { gunzipSync } from 'node:zlib';
import { Trino } from 'trino-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toApiCallEvent } from '@opentrail/cloudtrail';
import { compileEventDataStores, eventDataStoreSchema } from '@opentrail/lake';
import { startTrino, type TrinoServer } from '@opentrail/stack';
import { serviceEnv, stackEndpoints, testKafka } from '../helpers/env.js';
import { createTopics } from '../helpers/kafka.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { awsCliPath } from '../digester/helpers.js';
import { EnrichedProducer } from '../archiver/helpers.js';
import { ACCOUNT, awsClients, KEY, REGION, startTrailApi, type TrailApi } from '../api/trail-helpers.js';
import { freshDatabase, historyEvent } from '../history/ingest-helpers.js';

/**
 * CloudTrail Lake's query API end to end, on real servers: Trino 476 (hive catalog over moto S3),
 * the lake service writing the store's table, the API running queries and keeping their rows in
 * PostgreSQL. The real AWS CLI runs create-event-data-store, start-query, describe-query,
 * get-query-results (page by page), list-queries and cancel-query unchanged, and the answers equal
 * the same question answered from the events themselves.
 */
const run = promisify(execFile);
const aws = awsClients();
let trino: TrinoServer;
let trinoDir: string;
let api: TrailApi;
let lake: ServiceProcess;
let producer: EnrichedProducer;
let storeId: string;
const records = Array.from({ length: 900 }, (_, i) => historyEvent(i, 'lakeq', -(Math.floor(i / 7) % 3)));

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(awsCliPath(), ['cloudtrail', ...args, '--endpoint-url', api.url, '--region', REGION, '--output', 'json'], {
      timeout: 120_000,
      env: { ...process.env, AWS_ACCESS_KEY_ID: KEY.id, AWS_SECRET_ACCESS_KEY: KEY.secret, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_MAX_ATTEMPTS: '8' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function json<T = Record<string, unknown>>(args: string[]): Promise<T> {
  const r = await cli(args);
  expect(r.code, `aws cloudtrail ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return (r.stdout.trim() === '' ? {} : JSON.parse(r.stdout)) as T;
}

async function refused(args: string[], code: string): Promise<string> {
  const r = await cli(args);
  expect(r.code, r.stderr).toBe(255);
  expect(r.stderr).toContain(`(${code})`);
  return r.stderr;
}

async function finished(queryId: string): Promise<Record<string, unknown>> {
  let described: Record<string, unknown> = {};
  await waitFor(async () => {
    described = await json(['describe-query', '--query-id', queryId]);
    return !['QUEUED', 'RUNNING'].includes(described.QueryStatus as string);
  }, `query ${queryId} to end`, 120_000, 500);
  return described;
}

type Rows = Record<string, string | null>[][];

beforeAll(async () => {
  const endpoints = stackEndpoints();
  const bucket = `lakeq-${Date.now().toString(36)}`;
  trinoDir = await mkdtemp(join(tmpdir(), 'opentrail-trino-'));
  trino = await startTrino({ dir: trinoDir, awsEndpoint: endpoints.awsEndpoint, region: REGION, accessKeyId: 'test', secretAccessKey: 'test', metastoreDir: `s3://${bucket}/_metastore` });
  const databaseUrl = await freshDatabase('lakeq');
  api = await startTrailApi({ OPENTRAIL_TRINO_URL: trino.url, OPENTRAIL_DATABASE_URL: databaseUrl, OPENTRAIL_LAKE_BUCKET: bucket, OPENTRAIL_API_TRAIL_WRITES_PER_SECOND: '50', OPENTRAIL_API_TRAIL_READS_PER_SECOND: '100' });
  const kafka = testKafka();
  await createTopics(kafka, [`${api.prefix}events.enriched`, `${api.prefix}events.dlq`]);
  lake = await startService('lake', serviceEnv(api.prefix, { OPENTRAIL_LAKE_BUCKET: bucket, OPENTRAIL_LAKE_ROLL_INTERVAL_SECONDS: '1' }));
  producer = await EnrichedProducer.create(kafka, api.prefix);
}, 240_000);

afterAll(async () => {
  await producer?.close();
  await Promise.all([lake?.stop(), api?.stop()]);
  await trino?.stop();
  if (trinoDir) await rm(trinoDir, { recursive: true, force: true });
});

describe('CloudTrail Lake queries through the AWS CLI', () => {
  it('create-event-data-store, then the lake service fills it', async () => {
    const created = await json<{ EventDataStoreArn: string }>(['create-event-data-store', '--name', 'lake-query-test', '--organization-enabled']);
    storeId = created.EventDataStoreArn.split('/')[1]!;
    await producer.send(records);
    const selected = records.filter((r) => selection().select(toApiCallEvent(r)).length > 0);
    await waitFor(async () => (await lake.metric('opentrail_lake_rows_written_total').catch(() => 0)) >= selected.length, `${selected.length} rows in the lake`, 120_000, 500);
  });

  it('start-query, describe-query, get-query-results page by page: the answer the events give', async () => {
    const statement = `SELECT eventName, COUNT(*) AS apiCount FROM ${storeId} WHERE eventTime > DATE_ADD('day', -7, CURRENT_TIMESTAMP) GROUP BY eventName ORDER BY apiCount DESC, eventName`;
    const { QueryId } = await json<{ QueryId: string }>(['start-query', '--query-statement', statement]);
    const described = await finished(QueryId);
    expect(described).toMatchObject({ QueryId, QueryString: statement, QueryStatus: 'FINISHED' });
    const stats = described.QueryStatistics as Record<string, number>;
    expect(stats.BytesScanned).toBeGreaterThan(0);

    const rows: Rows = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await json<{ QueryResultRows: Rows; NextToken?: string; QueryStatistics: { ResultsCount: number; TotalResultsCount: number } }>(['get-query-results', '--query-id', QueryId, '--max-query-results', '2', ...(token ? ['--next-token', token] : [])]);
      rows.push(...page.QueryResultRows);
      expect(page.QueryStatistics.ResultsCount).toBe(page.QueryResultRows.length);
      token = page.NextToken;
      pages++;
    } while (token);

    const expected = new Map<string, number>();
    for (const r of records) if (selection().select(toApiCallEvent(r)).length > 0) expected.set(r.eventName!, (expected.get(r.eventName!) ?? 0) + 1);
    const want = [...expected].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([name, n]) => [{ eventName: name }, { apiCount: String(n) }]);
    expect(rows).toEqual(want);
    expect(pages).toBe(Math.ceil(want.length / 2));

    const listed = await json<{ Queries: { QueryId: string; QueryStatus: string }[] }>(['list-queries', '--event-data-store', storeId]);
    expect(listed.Queries).toContainEqual(expect.objectContaining({ QueryId, QueryStatus: 'FINISHED' }));
    await refused(['cancel-query', '--query-id', QueryId], 'InactiveQueryException');
  });

  it('binds QueryParameters, delivers to S3, and cancels a running query', async () => {
    const { QueryId } = await json<{ QueryId: string }>(['start-query', '--query-statement', `SELECT eventID FROM ${storeId} WHERE eventName = ? AND awsRegion = ? ORDER BY eventID`, '--query-parameters', "Attach'RolePolicy", 'us-east-1']);
    expect((await finished(QueryId)).QueryStatus).toBe('FINISHED');
    expect((await json<{ QueryResultRows: Rows }>(['get-query-results', '--query-id', QueryId])).QueryResultRows).toEqual([]);

    const bucket = `lakeq-out-${Date.now().toString(36)}`;
    await aws.s3.send(new (await import('@aws-sdk/client-s3')).CreateBucketCommand({ Bucket: bucket }));
    const delivered = await json<{ QueryId: string }>(['start-query', '--query-statement', `SELECT eventID, eventName FROM ${storeId} WHERE eventName = ? ORDER BY eventID`, '--query-parameters', 'AttachRolePolicy', '--delivery-s3-uri', `s3://${bucket}/results`]);
    const described = await finished(delivered.QueryId);
    expect(described).toMatchObject({ QueryStatus: 'FINISHED', DeliveryS3Uri: `s3://${bucket}/results`, DeliveryStatus: 'SUCCESS' });
    const listing = await aws.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `results/AWSLogs/${ACCOUNT}/CloudTrail-Lake/Query/` }));
    const key = listing.Contents?.[0]?.Key;
    expect(key).toMatch(new RegExp(`/${delivered.QueryId}/result_1\\.csv\\.gz$`));
    const body = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key! }));
    const lines = gunzipSync(await body.Body!.transformToByteArray()).toString('utf8').trim().split('\n');
    const ids = records.filter((r) => r.eventName === 'AttachRolePolicy' && selection().select(toApiCallEvent(r)).length > 0).map((r) => r.eventID!).sort();
    expect(lines).toEqual(['eventID,eventName', ...ids.map((id) => `${id},AttachRolePolicy`)]);

    // A query that runs for a long time (a cross join), cancelled while it runs.
    const slow = await json<{ QueryId: string }>(['start-query', '--query-statement', `SELECT count(*) FROM ${storeId} a CROSS JOIN ${storeId} b CROSS JOIN ${storeId} c WHERE a.eventID < b.eventID AND b.eventID < c.eventID`]);
    await waitFor(async () => (await json<{ QueryStatus: string }>(['describe-query', '--query-id', slow.QueryId])).QueryStatus === 'RUNNING', 'the slow query to run', 60_000, 200);
    // While it runs, DescribeQuery tells what it has scanned so far (no row has come yet).
    await waitFor(
      async () => {
        const d = await json<{ QueryStatus: string; QueryStatistics?: { EventsScanned?: number; BytesScanned?: number } }>(['describe-query', '--query-id', slow.QueryId]);
        return d.QueryStatus === 'RUNNING' && (d.QueryStatistics?.EventsScanned ?? 0) > 0 && (d.QueryStatistics?.BytesScanned ?? 0) > 0;
      },
      'the running query to report what it has scanned',
      60_000,
      200,
    );
    expect(await json(['cancel-query', '--query-id', slow.QueryId])).toEqual({ QueryId: slow.QueryId, QueryStatus: 'CANCELLED' });
    expect((await finished(slow.QueryId)).QueryStatus).toBe('CANCELLED');
    // And Trino stopped it: the query is over there too, cancelled, not left running to its end.
    // (Asked through trino-client, a client independent of the engine under test.)
    const admin = Trino.create({ server: trino.url, catalog: 'system', schema: 'runtime', source: 'test' });
    let inTrino: unknown[][] = [];
    await waitFor(
      async () => {
        inTrino = [];
        for await (const page of await admin.query({ query: "SELECT state, error_code FROM system.runtime.queries WHERE \"user\" = 'lake-query' AND query LIKE '%CROSS JOIN%'", user: 'lake-admin' })) {
          if (page.error) throw new Error(page.error.message);
          inTrino.push(...((page.data ?? []) as unknown[][]));
        }
        return inTrino.length === 1 && inTrino[0]![0] === 'FAILED';
      },
      'Trino to end the cancelled query',
      15_000,
      250,
    );
    expect(inTrino).toEqual([['FAILED', 'USER_CANCELED']]);
  });

  it('refuses what is not one SELECT over the caller\'s stores, with CloudTrail\'s codes', async () => {
    await refused(['start-query', '--query-statement', `DROP TABLE ${storeId}`], 'InvalidQueryStatementException');
    await refused(['start-query', '--query-statement', `SELECT 1 FROM ${storeId}; DELETE FROM ${storeId}`], 'InvalidQueryStatementException');
    await refused(['start-query', '--query-statement', 'SELECT * FROM system.runtime.queries'], 'InvalidQueryStatementException');
    await refused(['start-query', '--query-statement', 'SELECT * FROM 00000000-0000-4000-8000-000000000000'], 'EventDataStoreNotFoundException');
    await refused(['start-query', '--query-statement', `SELECT eventID FROM ${storeId} WHERE eventName = ?`], 'InvalidParameterException');
    await refused(['get-query-results', '--query-id', '00000000-0000-4000-8000-000000000000'], 'QueryIdNotFoundException');
    // A column that does not exist: the engine's message, the query FAILED.
    const { QueryId } = await json<{ QueryId: string }>(['start-query', '--query-statement', `SELECT nosuchcolumn FROM ${storeId}`]);
    const described = await finished(QueryId);
    expect(described.QueryStatus).toBe('FAILED');
    expect(described.ErrorMessage).toMatch(/nosuchcolumn/i);
  });
});

function selection() {
  return compileEventDataStores([{ definition: eventDataStoreSchema.parse({ id: storeId, name: 'selection', accountId: ACCOUNT, homeRegion: REGION, organizationId: 'o-trailopstest1', retentionPeriodDays: 366 }), status: 'ENABLED', tags: [], createdAt: 0, updatedAt: 0 }]);
}
