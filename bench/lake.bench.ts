/**
 * CloudTrail Lake's figures (issue 20):
 * - ingest: the lake service's handler (LakeIngest on the stream runtime, one store selecting every
 *   management event, segments stored in S3 with their manifests) over the enricher's output,
 *   against the enricher's own rate measured in the same run on the same input;
 * - storage: Parquet bytes per event in the lake against the same events as gzip'd CloudTrail log
 *   file JSON ({"Records":[…]}, one file per lake file's events);
 * - queries: a selective and a full-aggregation sample query on Trino (through the query guard,
 *   as StartQuery runs them; the selective one also without the guard's day bounds) at BENCH_LAKE_QUERY_EVENTS
 *   events (default 1,000,000; BENCH_LAKE_COPIES=10 stores each table file ten times under other
 *   keys for the 10M figure), beside a scan of the gzip'd JSON log files in S3 that answers the same
 *   question in this process (list, get, gunzip, JSON.parse, filter/count): the way to answer it
 *   without the lake. Each query runs three times after a warm-up; the median is printed. The
 *   answers of the two are compared.
 * - table format: the same events as an Iceberg table (JDBC catalog in the stack's PostgreSQL,
 *   written by Trino from the Hive table a day per INSERT, partitioned by day), and the same two queries on it; the
 *   Hive layout's own per-query cost (sync_partition_metadata, which the API runs before each query)
 *   and Iceberg's per-segment cost (one INSERT of a segment's rows: a Parquet file plus a catalog
 *   commit) beside the lake service's (encode one segment's Parquet and PUT it). BENCH_LAKE_ICEBERG=0
 *   leaves this part out.
 *
 * `npx tsx bench/lake.bench.ts`. Uses the stack named in the environment when set, else starts one;
 * always starts a Trino of its own. BENCH_EVENTS (ingest, default 40000), BENCH_ROUNDS (3),
 * BENCH_LAKE_QUERY_EVENTS (1000000), BENCH_LAKE_COPIES (1).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CopyObjectCommand, CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { AwsClients } from '@opentrail/aws';
import { toApiCallEvent, toCloudTrailRecord, validateApiCallEvent, writeRecordJson, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { checkLakeQuery, compileEventDataStores, encodeLakeParquet, eventDataStoreSchema, LakeTables, lakeObjectKey, toLakeRow, TrinoEngine, type EventDataStoreRecord, type LakeRow } from '@opentrail/lake';
import { createLogger, ServiceMetrics } from '@opentrail/observability';
import { StreamProcessor } from '@opentrail/runtime';
import { serdeFor, type EnrichedEvent } from '@opentrail/serde';
import pg from 'pg';
import { ICEBERG_JDBC_CATALOG_DDL, startTrino, TRINO_ICEBERG_CATALOG, type IcebergJdbcCatalog } from '@opentrail/stack';
import { TrafficGenerator } from '@opentrail/testing';
import { LakeIngest } from '../services/lake/src/lakeIngest.js';
import { lakeMetrics } from '../services/lake/src/metrics.js';
import { SegmentStore } from '../services/lake/src/segmentStore.js';
import { preProduce, recentFixtureEvents } from './lib/events.js';
import { enricherUnderTest, openBundledGeoDatabases } from './lib/enricher-handler.js';
import { measureHandler, type Throughput } from './lib/passthrough.js';
import { benchStack } from './lib/stack.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 40_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const QUERY_EVENTS = Number(process.env.BENCH_LAKE_QUERY_EVENTS ?? 1_000_000);
const COPIES = Number(process.env.BENCH_LAKE_COPIES ?? 1);
const ICEBERG = process.env.BENCH_LAKE_ICEBERG !== '0';
/** Rows of one segment in the per-segment write figure (the service rolls at 20,000 rows or 60 s). */
const SEGMENT_ROWS = 2000;
const COMMITS = 10;
const REGION = 'us-east-1';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function storeRecord(id: string): EventDataStoreRecord {
  const definition = eventDataStoreSchema.parse({ id, name: 'bench', accountId: '111122223333', homeRegion: REGION, organizationId: 'o-benchorg000', retentionPeriodDays: 3653 });
  return { definition, status: 'ENABLED', tags: [], createdAt: 0, updatedAt: 0 };
}

/** Every object under a prefix, keys only. */
async function keysUnder(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of out.Contents ?? []) keys.push(o.Key!);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** Bytes under a prefix. */
async function bytesUnder(s3: S3Client, bucket: string, prefix: string, suffix = ''): Promise<number> {
  let total = 0;
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of out.Contents ?? []) if (o.Key!.endsWith(suffix)) total += o.Size ?? 0;
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return total;
}

/** The Iceberg JDBC catalog's tables in the stack's PostgreSQL, and how Trino reaches them. */
async function icebergJdbcCatalog(databaseUrl: string, warehouse: string): Promise<IcebergJdbcCatalog> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const ddl of ICEBERG_JDBC_CATALOG_DDL) await client.query(ddl);
  } finally {
    await client.end();
  }
  const url = new URL(databaseUrl);
  return { jdbcUrl: `jdbc:postgresql://${url.host}${url.pathname}`, user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), warehouse };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { value, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

async function main() {
  const stack = await benchStack();
  const aws = new AwsClients({ endpoint: stack.endpoints.awsEndpoint, region: REGION });
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  const bucket = `bench-lake-${randomUUID().slice(0, 8)}`;
  await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const trinoDir = await mkdtemp(join(tmpdir(), 'opentrail-bench-trino-'));
  try {
    // ---- ingest: the enricher's output rate, then the lake's over that output ----
    const { kafka, registry } = stack;
    const run = randomUUID().slice(0, 8);
    const input = `bench-${run}.events.raw`;
    const produced = await preProduce(kafka, registry, input, recentFixtureEvents(EVENTS));
    const geoDatabases = openBundledGeoDatabases();
    const enricherRun = async (): Promise<{ throughput: Throughput; enrichedTopic: string }> => {
      const { handler, enrichedTopic, eventSerde } = await enricherUnderTest(kafka, registry, run, geoDatabases);
      const throughput = await measureHandler({ kafka, registry, inputTopic: input, count: produced, outputTopic: enrichedTopic, handler, serde: eventSerde, validate: validateApiCallEvent, transactional: true });
      return { throughput, enrichedTopic };
    };
    const store = storeRecord(randomUUID());
    const matcher = compileEventDataStores([store]);
    const selected = [...recentFixtureEvents(EVENTS)].filter((e) => matcher.select(e).length > 0).length;
    const lakeRun = async (enrichedTopic: string, prefix: string): Promise<Throughput & { bytes: number; files: number }> => {
      const metrics = new ServiceMetrics('lake');
      const m = lakeMetrics(metrics);
      const segments = new SegmentStore({ s3: aws.s3, bucket, prefix, topic: enrichedTopic });
      const ingest = new LakeIngest({ segments, stores: () => matcher, prefix, deadLetterTopic: `${enrichedTopic}.dlq`, rollIntervalMs: 1000, maxRows: 20_000, uploadConcurrency: 4, metrics: m, logger: createLogger('lake', 'warn') });
      let firstBatchAt: bigint | undefined;
      let cpuAtFirst: NodeJS.CpuUsage | undefined;
      const processor = new StreamProcessor<EnrichedEvent>({
        service: 'lake',
        kafka,
        groupId: `bench-lake-${randomUUID().slice(0, 8)}`,
        topic: enrichedTopic,
        serde: serdeFor(registry, 'EnrichedEvent'),
        validate: (value, bytes) => validateApiCallEvent(value.event, bytes),
        deadLetterTopic: `${enrichedTopic}.dlq`,
        handler: {
          flush: (partition, reason) => ingest.flush(partition, reason),
          heldFrom: (partition) => ingest.heldFrom(partition),
          onAssigned: (partitions) => ingest.onAssigned(partitions),
          onRevoked: (partitions) => ingest.onRevoked(partitions),
          processBatch: async (records, context) => {
            if (!firstBatchAt) {
              cpuAtFirst = process.cpuUsage();
              firstBatchAt = process.hrtime.bigint();
            }
            return ingest.processBatch(records, context);
          },
        },
        logger: createLogger('lake', 'warn'),
        metrics,
        partitionsConsumedConcurrently: 4,
        flushIntervalMs: 200,
      });
      await processor.start();
      try {
        const value = async (name: string) => (await metrics.registry.getSingleMetric(name)?.get())?.values[0]?.value ?? 0;
        const deadline = Date.now() + 600_000;
        while ((await value('opentrail_lake_rows_written_total')) < selected) {
          if (Date.now() > deadline) throw new Error(`timed out: ${await value('opentrail_lake_rows_written_total')} of ${selected} rows`);
          await new Promise((r) => setTimeout(r, 5));
        }
        const seconds = Number(process.hrtime.bigint() - firstBatchAt!) / 1e9;
        const cpu = process.cpuUsage(cpuAtFirst);
        return { events: produced, seconds, eventsPerSecond: produced / seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, bytes: await value('opentrail_lake_bytes_written_total'), files: await value('opentrail_lake_files_written_total') };
      } finally {
        await processor.stop();
      }
    };
    const warm = await enricherRun();
    await lakeRun(warm.enrichedTopic, `warm-${run}`);
    const rounds: { enrich: Throughput; lake: Throughput & { bytes: number; files: number } }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const e = await enricherRun();
      const l = await lakeRun(e.enrichedTopic, `round${round}-${run}`);
      rounds.push({ enrich: e.throughput, lake: l });
      console.error(`round ${round}: enricher ${e.throughput.eventsPerSecond.toFixed(0)} events/s; lake ${l.eventsPerSecond.toFixed(0)} events/s (${l.seconds.toFixed(2)} s, node ${l.cpuSeconds?.toFixed(2)} CPU s, ${l.files} files): ${((l.eventsPerSecond / e.throughput.eventsPerSecond) * 100).toFixed(0)}% of the enricher`);
    }

    // ---- storage and queries over QUERY_EVENTS events: the lake's table, and the same events as log files ----
    console.error(`writing ${QUERY_EVENTS} events as the lake's Parquet and as gzip'd log file JSON…`);
    const queryStore = randomUUID();
    const traffic = new TrafficGenerator({ seed: 20, accounts: 20, clock: () => new Date() });
    const templates: CloudTrailRecord[] = Array.from({ length: 5000 }, () => toCloudTrailRecord(toApiCallEvent(traffic.next())));
    const DAYS = 30;
    const dayMs = 86_400_000;
    const end = Date.UTC(2026, 10, 30);
    const byDay = new Map<string, LakeRow[]>();
    let parquetBytes = 0;
    let jsonBytes = 0;
    let files = 0;
    let jsonFiles = 0;
    let pendingJson: string[] = [];
    const flushDay = async (day: string, rows: LakeRow[]) => {
      const key = lakeObjectKey({ prefix: 'lake', storeId: queryStore, day, partition: 0, firstOffset: files });
      const bytes = encodeLakeParquet(rows);
      parquetBytes += bytes.length;
      for (let copy = 0; copy < COPIES; copy++) {
        const k = copy === 0 ? key : key.replace(/\.parquet$/, `-copy${copy}.parquet`);
        if (copy === 0) await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: bytes }));
        else await aws.s3.send(new CopyObjectCommand({ Bucket: bucket, Key: k, CopySource: `${bucket}/${key}` }));
      }
      files++;
    };
    const flushJson = async () => {
      if (pendingJson.length === 0) return;
      const body = gzipSync(`{"Records":[${pendingJson.join(',')}]}`);
      jsonBytes += body.length;
      const key = `logs/file-${String(jsonFiles++).padStart(8, '0')}.json.gz`;
      for (let copy = 0; copy < COPIES; copy++) await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: copy === 0 ? key : `${key}.copy${copy}`, Body: body }));
      pendingJson = [];
    };
    const ROWS_PER_FILE = 50_000;
    for (let i = 0; i < QUERY_EVENTS; i++) {
      const t = templates[i % templates.length]!;
      const when = end - Math.floor((i / QUERY_EVENTS) * DAYS * dayMs);
      const record: CloudTrailRecord = { ...t, eventID: randomUUID(), eventTime: new Date(when).toISOString().replace(/\.\d{3}Z$/, 'Z') };
      const line = writeRecordJson(toApiCallEvent(record));
      const row = toLakeRow(record, { eventJson: line });
      // Events come in time order: a day's file is written when the day ends (or is full), so
      // memory holds one file's rows whatever the number of events.
      for (const [day, rows] of byDay) {
        if (day !== row.eventdate && rows.length) {
          await flushDay(day, rows);
          byDay.delete(day);
        }
      }
      let rows = byDay.get(row.eventdate!);
      if (!rows) byDay.set(row.eventdate!, (rows = []));
      rows.push(row);
      pendingJson.push(line);
      if (rows.length >= ROWS_PER_FILE) {
        await flushDay(row.eventdate!, rows);
        byDay.set(row.eventdate!, []);
      }
      if (pendingJson.length >= ROWS_PER_FILE) await flushJson();
    }
    for (const [day, rows] of byDay) if (rows.length) await flushDay(day, rows);
    await flushJson();
    const total = QUERY_EVENTS * COPIES;

    const iceberg = ICEBERG ? await icebergJdbcCatalog(stack.endpoints.databaseUrl, `s3://${bucket}/iceberg`) : undefined;
    const trino = await startTrino({ dir: trinoDir, awsEndpoint: stack.endpoints.awsEndpoint, region: REGION, accessKeyId: 'test', secretAccessKey: 'test', metastoreDir: `s3://${bucket}/_metastore`, ...(iceberg ? { icebergCatalog: iceberg } : {}), log: (line) => console.error(`trino: ${line}`) });
    try {
      const engine = new TrinoEngine({ url: trino.url, catalog: 'lake', schema: 'eds' });
      const tables = new LakeTables({ engine, catalog: 'lake', schema: 'eds', bucket, prefix: 'lake' });
      await tables.prepare([queryStore]);
      const table = tables.qualifiedName(queryStore);
      // A selective question and a full aggregation, in the style of AWS's samples.
      const failing = templates.find((t) => t.errorCode)?.errorCode ?? 'AccessDenied';
      const queries = [
        {
          name: 'selective',
          sql: (from: string) => `SELECT eventSource, eventName, COUNT(*) AS n FROM ${from} WHERE errorCode = '${failing}' AND eventTime > TIMESTAMP '2026-11-20 00:00:00' GROUP BY eventSource, eventName ORDER BY n DESC, eventSource, eventName`,
          scan: (r: CloudTrailRecord) => (r.errorCode === failing && r.eventTime! > '2026-11-20T00:00:00Z' ? `${r.eventSource}|${r.eventName}` : undefined),
        },
        {
          name: 'full aggregation',
          sql: (from: string) => `SELECT eventSource, eventName, COUNT(*) AS n FROM ${from} GROUP BY eventSource, eventName ORDER BY n DESC, eventSource, eventName`,
          scan: (r: CloudTrailRecord) => `${r.eventSource}|${r.eventName}`,
        },
      ];
      /** A query's answer and the median of three timed runs after a warm-up. */
      const runQuery = async (sql: string, user: 'lake-admin' | 'lake-query'): Promise<{ answer: unknown[][]; runs: number[] }> => {
        const run = async () => {
          const rows: unknown[][] = [];
          await engine.execute(sql, { user, onRows: (_c, page) => void rows.push(...page) });
          return rows;
        };
        await run();
        const runs = [];
        let answer: unknown[][] = [];
        for (let k = 0; k < 3; k++) {
          const r = await timed(run);
          runs.push(r.ms);
          answer = r.value;
        }
        return { answer, runs };
      };
      const results: { name: string; trinoMs: number; unboundedMs?: number; scanMs: number; groups: number; answer: unknown[][] }[] = [];
      const logKeys = await keysUnder(aws.s3, bucket, 'logs/');
      for (const q of queries) {
        // As StartQuery runs it: the store's ID in FROM, through the guard (which adds day bounds).
        const guarded = checkLakeQuery(q.sql(queryStore), { resolveStore: (id) => (id === queryStore ? { id, table } : undefined) }).statement;
        const { answer, runs: trinoRuns } = await runQuery(guarded, 'lake-query');
        // The same without the guard's day bounds: what the table format alone gives.
        const unbounded = guarded === q.sql(table) ? undefined : await runQuery(q.sql(table), 'lake-query');
        if (unbounded && JSON.stringify(unbounded.answer) !== JSON.stringify(answer)) throw new Error(`${q.name}: the day bounds changed the answer`);
        // The scan: every log file, as a reader without the lake would answer.
        const scan = async () => {
          const counts = new Map<string, number>();
          for (const key of logKeys) {
            const body = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
            const records = (JSON.parse(gunzipSync(await body.Body!.transformToByteArray()).toString('utf8')) as { Records: CloudTrailRecord[] }).Records;
            for (const r of records) {
              const k = q.scan(r);
              if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
            }
          }
          return counts;
        };
        const scanned = await timed(scan);
        const expected = [...scanned.value].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([k, n]) => [...k.split('|'), n]);
        if (JSON.stringify(answer) !== JSON.stringify(expected)) throw new Error(`${q.name}: Trino and the log-file scan disagree: ${JSON.stringify(answer).slice(0, 300)} vs ${JSON.stringify(expected).slice(0, 300)}`);
        results.push({ name: q.name, trinoMs: median(trinoRuns), ...(unbounded ? { unboundedMs: median(unbounded.runs) } : {}), scanMs: scanned.ms, groups: answer.length, answer });
        console.error(`${q.name}: Trino ${median(trinoRuns).toFixed(0)} ms (runs ${trinoRuns.map((t) => t.toFixed(0)).join(', ')}${unbounded ? `; without day bounds ${unbounded.runs.map((t) => t.toFixed(0)).join(', ')}` : ''}), log-file scan ${scanned.ms.toFixed(0)} ms, ${answer.length} groups, answers equal`);
      }

      // ---- table format: Hive layout (what the lake writes) against Iceberg, same server, same events ----
      let tableFormat: Record<string, unknown> | undefined;
      if (iceberg) {
        const syncRuns: number[] = [];
        for (let k = 0; k < 3; k++) syncRuns.push((await timed(() => tables.prepare([queryStore]))).ms);
        const admin = { user: 'lake-admin' } as const;
        const ice = `${TRINO_ICEBERG_CATALOG}.eds`;
        const iceTable = `${ice}.${tables.tableOf(queryStore)}`;
        await engine.execute(`CREATE SCHEMA ${ice}`, admin);
        console.error('writing the Iceberg table from the Hive table (Trino, one INSERT per day)…');
        // A day at a time: one CREATE TABLE AS over every day holds a writer per day and passes
        // the node's 512 MB query memory at 1M events.
        await engine.execute(`CREATE TABLE ${iceTable} WITH (partitioning = ARRAY['eventdate']) AS SELECT * FROM ${table} WITH NO DATA`, admin);
        const days: string[] = [];
        await engine.execute(`SELECT DISTINCT eventdate FROM ${table} ORDER BY 1`, { ...admin, onRows: (_c, rows) => void days.push(...rows.map((r) => String(r[0]))) });
        const ctas = await timed(async () => {
          for (const day of days) await engine.execute(`INSERT INTO ${iceTable} SELECT * FROM ${table} WHERE eventdate = '${day}'`, admin);
        });
        const iceBytes = await bytesUnder(aws.s3, bucket, 'iceberg/', '.parquet');
        const iceMetaBytes = (await bytesUnder(aws.s3, bucket, 'iceberg/')) - iceBytes;
        const iceQueries: { name: string; hiveMs: number; hiveUnboundedMs?: number; icebergMs: number }[] = [];
        for (const q of queries) {
          const { answer, runs } = await runQuery(q.sql(iceTable), 'lake-admin');
          const hive = results.find((r) => r.name === q.name)!;
          if (JSON.stringify(answer) !== JSON.stringify(hive.answer)) throw new Error(`${q.name}: Iceberg and Hive tables disagree: ${JSON.stringify(answer).slice(0, 300)} vs ${JSON.stringify(hive.answer).slice(0, 300)}`);
          iceQueries.push({ name: q.name, hiveMs: hive.trinoMs, ...(hive.unboundedMs !== undefined ? { hiveUnboundedMs: hive.unboundedMs } : {}), icebergMs: median(runs) });
          console.error(`${q.name}: Iceberg ${median(runs).toFixed(0)} ms (runs ${runs.map((t) => t.toFixed(0)).join(', ')}), Hive ${hive.trinoMs.toFixed(0)} ms, answers equal`);
        }
        // Per segment: Iceberg's write goes through an engine and a catalog commit (here Trino's
        // INSERT of one segment's rows into a fresh table); the lake service's is one Parquet
        // encode and one PUT, plus a manifest PUT before it.
        const segmentSource = `${ice}.segment_source`;
        const commits = `${ice}.segment_commits`;
        await engine.execute(`CREATE TABLE ${segmentSource} AS SELECT * FROM ${iceTable} WHERE eventdate = (SELECT max(eventdate) FROM ${iceTable}) LIMIT ${SEGMENT_ROWS}`, admin);
        await engine.execute(`CREATE TABLE ${commits} WITH (partitioning = ARRAY['eventdate']) AS SELECT * FROM ${segmentSource} WITH NO DATA`, admin);
        const commitRuns: number[] = [];
        for (let k = 0; k < COMMITS; k++) commitRuns.push((await timed(() => engine.execute(`INSERT INTO ${commits} SELECT * FROM ${segmentSource}`, admin))).ms);
        const segmentRows = templates.slice(0, SEGMENT_ROWS).map((t) => {
          const record: CloudTrailRecord = { ...t, eventID: randomUUID(), eventTime: '2026-11-30T12:00:00Z' };
          return toLakeRow(record, { eventJson: writeRecordJson(toApiCallEvent(record)) });
        });
        const putRuns: number[] = [];
        for (let k = 0; k < COMMITS; k++) {
          putRuns.push(
            (
              await timed(async () => {
                await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `segments/manifest-${k}.json`, Body: JSON.stringify({ first: k * SEGMENT_ROWS, last: (k + 1) * SEGMENT_ROWS - 1 }) }));
                await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `segments/${k}.parquet`, Body: encodeLakeParquet(segmentRows) }));
              })
            ).ms,
          );
        }
        // Iceberg keeps every commit's metadata until snapshots are expired: what the commits above added.
        const metaAfterCommits = (await bytesUnder(aws.s3, bucket, 'iceberg/')) - (await bytesUnder(aws.s3, bucket, 'iceberg/', '.parquet')) - iceMetaBytes;
        tableFormat = {
          hiveSyncMs: median(syncRuns),
          icebergWriteMs: ctas.ms,
          icebergBytesPerEvent: iceBytes / total,
          icebergMetadataBytes: iceMetaBytes,
          queries: iceQueries,
          segmentRows: SEGMENT_ROWS,
          icebergSegmentCommitMs: median(commitRuns),
          lakeSegmentWriteMs: median(putRuns),
          icebergMetadataBytesPerCommit: metaAfterCommits / COMMITS,
        };
        console.error(`table format: Hive partition sync ${median(syncRuns).toFixed(0)} ms (runs ${syncRuns.map((t) => t.toFixed(0)).join(', ')}); Iceberg commit of ${SEGMENT_ROWS} rows ${median(commitRuns).toFixed(0)} ms (runs ${commitRuns.map((t) => t.toFixed(0)).join(', ')}); lake segment write ${median(putRuns).toFixed(0)} ms (runs ${putRuns.map((t) => t.toFixed(0)).join(', ')})`);
      }

      const lastLake = rounds[rounds.length - 1]!.lake;
      const result = {
        ingestEvents: produced,
        enricherEventsPerSecond: median(rounds.map((r) => r.enrich.eventsPerSecond)),
        lakeEventsPerSecond: median(rounds.map((r) => r.lake.eventsPerSecond)),
        lakeVsEnricher: median(rounds.map((r) => r.lake.eventsPerSecond / r.enrich.eventsPerSecond)),
        lakeNodeCpuUsPerEvent: median(rounds.map((r) => ((r.lake.cpuSeconds ?? Number.NaN) / r.lake.events) * 1e6)),
        ingestParquetBytesPerEvent: lastLake.bytes / selected,
        queryEvents: total,
        parquetBytesPerEvent: parquetBytes / QUERY_EVENTS,
        gzipJsonBytesPerEvent: jsonBytes / QUERY_EVENTS,
        queries: results.map(({ answer: _answer, ...q }) => q),
        tableFormat,
      };
      console.log('\nCloudTrail Lake (same run):');
      console.log(`  ingest                  enricher ${result.enricherEventsPerSecond.toFixed(0)} events/s; lake ${result.lakeEventsPerSecond.toFixed(0)} events/s = ${(result.lakeVsEnricher * 100).toFixed(0)}% of the enricher's rate (${result.lakeNodeCpuUsPerEvent.toFixed(0)} µs CPU per event)`);
      console.log(`  storage                 ${result.parquetBytesPerEvent.toFixed(0)} bytes per event in the lake (Parquet, ZSTD) against ${result.gzipJsonBytesPerEvent.toFixed(0)} as gzip'd log file JSON (${((result.parquetBytesPerEvent / result.gzipJsonBytesPerEvent) * 100).toFixed(0)}%); ingest's own files ${result.ingestParquetBytesPerEvent.toFixed(0)}`);
      for (const q of results) console.log(`  ${q.name.padEnd(22)}  ${total} events: Trino ${q.trinoMs.toFixed(0)} ms, log-file scan ${q.scanMs.toFixed(0)} ms (${(q.scanMs / q.trinoMs).toFixed(1)}x)`);
      if (tableFormat) {
        const f = tableFormat as { hiveSyncMs: number; icebergWriteMs: number; icebergBytesPerEvent: number; icebergMetadataBytes: number; queries: { name: string; hiveMs: number; hiveUnboundedMs?: number; icebergMs: number }[]; icebergSegmentCommitMs: number; lakeSegmentWriteMs: number; icebergMetadataBytesPerCommit: number };
        console.log(`  table format            Iceberg (JDBC catalog in PostgreSQL) written by Trino from the Hive table (a day per INSERT) in ${(f.icebergWriteMs / 1000).toFixed(1)} s (${((f.icebergWriteMs * 1000) / total).toFixed(1)} µs per event); ${f.icebergBytesPerEvent.toFixed(0)} bytes per event + ${(f.icebergMetadataBytes / 1024).toFixed(0)} KiB metadata`);
        for (const q of f.queries) {
          const unbounded = q.hiveUnboundedMs === undefined ? '' : ` (${q.hiveUnboundedMs.toFixed(0)} ms without the guard's day bounds, Iceberg/Hive ${(q.icebergMs / q.hiveUnboundedMs).toFixed(2)})`;
          console.log(`  ${`  ${q.name}`.padEnd(22)}  Hive layout ${q.hiveMs.toFixed(0)} ms, Iceberg ${q.icebergMs.toFixed(0)} ms (Iceberg/Hive ${(q.icebergMs / q.hiveMs).toFixed(2)})${unbounded}`);
        }
        console.log(`  ${'  per query'.padEnd(22)}  Hive partition sync before each query ${f.hiveSyncMs.toFixed(0)} ms`);
        console.log(`  ${'  per segment'.padEnd(22)}  ${SEGMENT_ROWS} rows: Iceberg INSERT + commit ${f.icebergSegmentCommitMs.toFixed(0)} ms (+${(f.icebergMetadataBytesPerCommit / 1024).toFixed(1)} KiB metadata kept), lake's Parquet + manifest PUT ${f.lakeSegmentWriteMs.toFixed(0)} ms (${(f.icebergSegmentCommitMs / f.lakeSegmentWriteMs).toFixed(1)}x)`);
      }
      console.log(JSON.stringify(result));
    } finally {
      await trino.stop();
    }
  } finally {
    aws.destroy();
    await rm(trinoDir, { recursive: true, force: true });
    await stack.stop();
  }
}

await main();
