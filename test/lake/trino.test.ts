/**
 * The lake's query engine: a real single-node Trino (the tarball `stack:install` fetched, on a
 * JDK 24+) over moto's S3. Shows that Parquet written from Node (apache-arrow + parquet-wasm) with
 * the types the lake's tables use (struct, map, timestamp) reads back exactly through the Hive
 * connector, and that Trino's own access control keeps the query user to SELECT on `lake`.
 */
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import * as arrow from 'apache-arrow';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pq from 'parquet-wasm';
import { Trino } from 'trino-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, processRss, startTrino, TRINO_ADMIN_USER, TRINO_QUERY_USER, type TrinoServer } from '@opentrail/stack';
import { stackEndpoints } from '../helpers/env.js';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

interface Result {
  columns: string[];
  rows: unknown[][];
}

/** Thrown for a query Trino failed, with its error name (e.g. PERMISSION_DENIED). */
class TrinoQueryError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(`${errorName}: ${message}`);
  }
}

/**
 * Runs one statement as `user` and collects every page. trino-client reports a failed query as a
 * page with `error` rather than by rejecting, and keeps session headers per client: one client per
 * test file, the user given per query.
 */
async function sql(client: Trino, user: string, query: string): Promise<Result> {
  const pages = await client.query({ query, user, catalog: 'lake' });
  const result: Result = { columns: [], rows: [] };
  for await (const page of pages) {
    if (page.error) throw new TrinoQueryError(page.error.errorName, page.error.message);
    if (page.columns) result.columns = page.columns.map((c) => c.name);
    if (page.data) result.rows.push(...(page.data as unknown[][]));
  }
  return result;
}

async function refusal(promise: Promise<unknown>): Promise<TrinoQueryError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof TrinoQueryError)) throw new Error(`expected Trino to refuse the statement, got ${String(err)}`);
  return err;
}

/**
 * A Lake-like table: the Arrow types that Trino's Hive connector reads as the table's declared
 * types (timestamp(3), row(...), map(varchar, varchar)).
 */
const USER_IDENTITY = new arrow.Struct<{ type: arrow.Utf8; arn: arrow.Utf8 }>([new arrow.Field('type', new arrow.Utf8(), true), new arrow.Field('arn', new arrow.Utf8(), true)]);
// Arrow's Map_ is a list of non-null `entries` structs with a non-null key: Parquet's MAP layout.
const STRING_MAP = new arrow.Map_(
  new arrow.Field('entries', new arrow.Struct<{ key: arrow.Utf8; value: arrow.Utf8 }>([new arrow.Field('key', new arrow.Utf8(), false), new arrow.Field('value', new arrow.Utf8(), true)]), false),
);

const EVENTS = [
  { eventid: 'e-1', eventtime: '2026-12-01T09:59:59.999Z', type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice', params: { bucketName: 'logs', key: 'a.json' } },
  { eventid: 'e-2', eventtime: '2026-12-01T10:00:00.123Z', type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/ops/bob', params: { bucketName: 'logs' } },
  { eventid: 'e-3', eventtime: '2026-12-01T10:30:00.456Z', type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/carol', params: { bucketName: 'data', key: 'b.json' } },
  { eventid: 'e-4', eventtime: '2026-12-01T11:00:00.000Z', type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/dave', params: {} },
];

function eventsParquet(): Uint8Array {
  const table = new arrow.Table({
    eventid: arrow.vectorFromArray(EVENTS.map((e) => e.eventid), new arrow.Utf8()),
    // Milliseconds since the epoch, no time zone: Parquet INT64 TIMESTAMP(MILLIS, isAdjustedToUTC=false),
    // which Trino reads as the timestamp(3) wall-clock value in UTC.
    eventtime: arrow.vectorFromArray(EVENTS.map((e) => Date.parse(e.eventtime)), new arrow.TimestampMillisecond()),
    useridentity: arrow.vectorFromArray(EVENTS.map((e) => ({ type: e.type, arn: e.arn })), USER_IDENTITY),
    requestparameters: arrow.vectorFromArray(EVENTS.map((e) => new Map(Object.entries(e.params))), STRING_MAP),
  });
  return pq.writeParquet(
    pq.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')),
    new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).build(),
  );
}

describe('Trino, the lake query engine (single node, Hive connector over moto S3)', () => {
  let dir: string;
  let trino: TrinoServer;
  let client: Trino;
  let stopped = false;
  const schema = `trail_${Date.now().toString(36)}`;
  const bucket = `lake-trino-${Date.now().toString(36)}`;
  const s3 = new S3Client({ endpoint: stackEndpoints().awsEndpoint, region: REGION, forcePathStyle: true, credentials: CREDENTIALS });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opentrail-trino-'));
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    // The metastore beside the data (as the lake will run it), so that tables and partitions
    // outlive the server; startTrino's default, a directory under `dir`, was checked by hand.
    trino = await startTrino({ dir, awsEndpoint: stackEndpoints().awsEndpoint, region: REGION, ...CREDENTIALS, metastoreDir: `s3://${bucket}/_metastore` });
    const rss = await processRss(trino.pid);
    console.log(`trino: started in ${(trino.startupMs / 1000).toFixed(1)} s; JVM RSS after start ${((rss ?? 0) / 2 ** 20).toFixed(0)} MiB (pid ${trino.pid}, ${trino.url})`);
    client = Trino.create({ server: trino.url, catalog: 'lake', source: 'opentrail-test' });
  });

  afterAll(async () => {
    if (trino && !stopped) await trino.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    s3.destroy();
  });

  it('starts from the installed tarball and answers SELECT 1', async () => {
    expect(await sql(client, TRINO_ADMIN_USER, 'SELECT 1')).toEqual({ columns: ['_col0'], rows: [[1]] });
    const info = (await (await fetch(`${trino.url}/v1/info`)).json()) as { nodeVersion: { version: string }; starting: boolean };
    expect(info).toMatchObject({ nodeVersion: { version: '476' }, starting: false });
  });

  it('reads Parquet written from Node (struct, map, timestamp(3)) in a registered partition of an external table', async () => {
    await sql(client, TRINO_ADMIN_USER, `CREATE SCHEMA lake.${schema} WITH (location = 's3://${bucket}/${schema}/')`);
    await sql(
      client,
      TRINO_ADMIN_USER,
      `CREATE TABLE lake.${schema}.events (
         eventid varchar,
         eventtime timestamp(3),
         useridentity row(type varchar, arn varchar),
         requestparameters map(varchar, varchar),
         eventdate varchar
       ) WITH (format = 'PARQUET', external_location = 's3://${bucket}/${schema}/events/', partitioned_by = ARRAY['eventdate'])`,
    );
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${schema}/events/eventdate=2026-12-01/part-00000.zstd.parquet`, Body: eventsParquet() }));
    // Until the partition is registered the table is empty: the file metastore lists no partitions.
    expect((await sql(client, TRINO_QUERY_USER, `SELECT count(*) FROM lake.${schema}.events`)).rows).toEqual([[0]]);
    await sql(client, TRINO_ADMIN_USER, `CALL lake.system.register_partition('${schema}', 'events', ARRAY['eventdate'], ARRAY['2026-12-01'])`);

    const all = await sql(client, TRINO_QUERY_USER, `SELECT eventid, eventtime, useridentity, requestparameters, eventdate FROM lake.${schema}.events ORDER BY eventid`);
    expect(all.rows).toEqual([
      ['e-1', '2026-12-01 09:59:59.999', ['IAMUser', 'arn:aws:iam::111122223333:user/alice'], { bucketName: 'logs', key: 'a.json' }, '2026-12-01'],
      ['e-2', '2026-12-01 10:00:00.123', ['AssumedRole', 'arn:aws:sts::111122223333:assumed-role/ops/bob'], { bucketName: 'logs' }, '2026-12-01'],
      ['e-3', '2026-12-01 10:30:00.456', ['IAMUser', 'arn:aws:iam::111122223333:user/carol'], { bucketName: 'data', key: 'b.json' }, '2026-12-01'],
      ['e-4', '2026-12-01 11:00:00.000', ['IAMUser', 'arn:aws:iam::111122223333:user/dave'], {}, '2026-12-01'],
    ]);

    // A filter on the struct field, element_at on the map and a half-open time range with
    // millisecond edges: e-1 is a millisecond early, e-4 exactly at the (excluded) end.
    const filtered = await sql(
      client,
      TRINO_QUERY_USER,
      `SELECT eventid, useridentity.arn, element_at(requestparameters, 'key') AS key, to_unixtime(eventtime) AS epoch
         FROM lake.${schema}.events
        WHERE eventdate = '2026-12-01'
          AND useridentity.type = 'IAMUser'
          AND element_at(requestparameters, 'bucketName') IS NOT NULL
          AND eventtime >= TIMESTAMP '2026-12-01 10:00:00.000' AND eventtime < TIMESTAMP '2026-12-01 11:00:00.000'
        ORDER BY eventid`,
    );
    expect(filtered).toEqual({ columns: ['eventid', 'arn', 'key', 'epoch'], rows: [['e-3', 'arn:aws:iam::111122223333:user/carol', 'b.json', Date.parse(EVENTS[2]!.eventtime) / 1000]] });

    // The table and its partition are recorded in the file metastore in S3, not on this host.
    const metastore = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `_metastore/${schema}/events/` }));
    expect((metastore.Contents ?? []).map((o) => o.Key).sort()).toEqual(
      expect.arrayContaining([`_metastore/${schema}/events/.trinoSchema`, `_metastore/${schema}/events/eventdate=2026-12-01/.trinoSchema`]),
    );

    const missingKey = await sql(client, TRINO_QUERY_USER, `SELECT eventid FROM lake.${schema}.events WHERE element_at(requestparameters, 'key') IS NULL ORDER BY eventid`);
    expect(missingKey.rows).toEqual([['e-2'], ['e-4']]);
  });

  it('lets lake-query SELECT from lake and refuses writes, DDL, procedures, session settings and the system catalog', async () => {
    const table = `lake.${schema}.events`;
    expect((await sql(client, TRINO_QUERY_USER, `SELECT count(*) FROM ${table}`)).rows).toEqual([[4]]);
    const refused: [string, RegExp][] = [
      [`INSERT INTO ${table} VALUES ('x', TIMESTAMP '2026-12-01 00:00:00.000', ROW('t', 'a'), MAP(), '2026-12-01')`, /Cannot insert into table/],
      [`CREATE TABLE lake.${schema}.copy (a varchar)`, /Cannot create table/],
      [`CREATE SCHEMA lake.${schema}_other`, /Cannot create schema/],
      [`DROP TABLE ${table}`, /Cannot drop table/],
      [`DELETE FROM ${table}`, /Cannot delete from table/],
      [`ALTER TABLE ${table} ADD COLUMN extra varchar`, /Cannot add a column/],
      [`CALL lake.system.register_partition('${schema}', 'events', ARRAY['eventdate'], ARRAY['2026-12-02'])`, /Cannot execute procedure lake\.system\.register_partition/],
      [`CALL lake.system.sync_partition_metadata('${schema}', 'events', 'FULL')`, /Cannot execute procedure lake\.system\.sync_partition_metadata/],
      ['SELECT query FROM system.runtime.queries', /Cannot access catalog system/],
      ['SHOW SCHEMAS FROM system', /Cannot access catalog system/],
      ["SET SESSION query_max_memory = '4GB'", /Cannot set system session property query_max_memory/],
    ];
    for (const [statement, message] of refused) {
      const err = await refusal(sql(client, TRINO_QUERY_USER, statement));
      expect({ statement, errorName: err.errorName, message: err.message }).toMatchObject({ statement, errorName: 'PERMISSION_DENIED', message: expect.stringMatching(message) });
    }
    // SHOW CATALOGS is never refused: Trino filters it to the catalogs the user may see.
    expect((await sql(client, TRINO_QUERY_USER, 'SHOW CATALOGS')).rows).toEqual([['lake']]);
    expect((await sql(client, TRINO_ADMIN_USER, 'SHOW CATALOGS')).rows).toEqual([['lake'], ['system']]);
    // Any other user may not run anything at all.
    expect((await refusal(sql(client, 'someone-else', 'SELECT 1'))).message).toMatch(/Cannot execute query/);
    // The table is as it was.
    expect((await sql(client, TRINO_QUERY_USER, `SELECT count(*) FROM ${table}`)).rows).toEqual([[4]]);
    // The admin sees the queries (and their SQL text) the query user may not.
    const seen = await sql(client, TRINO_ADMIN_USER, `SELECT count(*) FROM system.runtime.queries WHERE "user" = '${TRINO_QUERY_USER}'`);
    expect(seen.rows[0]![0]).toBeGreaterThan(0);
  });

  it('stops on stop(): SIGTERM shuts the JVM down through its lifecycle, well before the SIGKILL', async () => {
    const started = Date.now();
    await trino.stop(60_000);
    stopped = true;
    const tookMs = Date.now() - started;
    console.log(`trino: stopped in ${(tookMs / 1000).toFixed(1)} s`);
    expect(isAlive(trino.pid)).toBe(false);
    expect(tookMs).toBeLessThan(60_000);
    expect(await readFile(trino.serverLog, 'utf8')).toContain('JVM is shutting down, cleaning up');
    await expect(fetch(`${trino.url}/v1/info`)).rejects.toThrow();
  });
});
