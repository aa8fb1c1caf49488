/**
 * Event history's query figures (issue 12): LookupEvents p50/p99 per attribute, opentrail's
 * combined query and resource history, at growing table sizes (default 100k then 1M stored events
 * over 90 days), to show that a selective query's time does not grow with the table.
 *
 * The rows are generated in PostgreSQL (INSERT ... SELECT generate_series, not through Kafka), in
 * the shape the history store writes: day partitions, the lookup btrees, one resource per event (a
 * bucket, by name). Value spread: 80% of events in us-east-1; 200 event names plus one hot name
 * (GetObject, a quarter of all events); 40 sources; 5,000 users; 20,000 access keys; 20,000
 * buckets; 2% AccessDenied. Each sample asks for a random value of its attribute, page 1 of 50
 * (newest first), through HistoryQueries on a pool like the API's (custom plans), so what is timed
 * is the query layer and PostgreSQL, not HTTP and SigV4.
 *
 * `npx tsx bench/history-lookup.bench.ts` (with the stack's OPENTRAIL_DATABASE_URL, or one is
 * started). BENCH_SIZES (default 1000000,10000000), BENCH_SAMPLES per query (default 100).
 * A step of a million rows or more is loaded with the secondary indexes dropped and built again
 * afterwards (from the definitions the migrations left), which is several times faster than
 * upkeep row by row and leaves the same indexes: 10M rows load in minutes, not an hour.
 */
import { createHash, randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createPool, HistoryQueries, migrate, NextTokenCodec, openQueryPool, PartitionManager } from '@opentrail/history';
import { endpointsFromEnv, givenEndpoints, startStack } from '@opentrail/stack';

const SIZES = (process.env.BENCH_SIZES ?? '1000000,10000000').split(',').map(Number);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 100);
const REGION = 'us-east-1';
const DAY_S = 86_400;

const given = endpointsFromEnv();
const stack = given ? undefined : await startStack({ log: (line) => console.error(`stack: ${line}`), given: givenEndpoints() });
const serverUrl = (given ?? stack!.endpoints).databaseUrl;
/** BENCH_DATABASE: a database of this name is kept (created if missing) and its rows reused by the next run. */
const kept = process.env.BENCH_DATABASE;
if (kept !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(kept)) throw new Error('BENCH_DATABASE: a lower-case SQL name');
const name = kept ?? `bench_lookup_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: serverUrl });
await admin.connect();
if (!kept || (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [kept])).rowCount === 0) await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(serverUrl);
url.pathname = `/${name}`;
const writePool = createPool({ url: url.toString(), applicationName: 'bench-lookup-load' });
const readPool = openQueryPool({ connectionString: url.toString(), max: 2, statementTimeoutMs: 60_000 });
const lookupPool = openQueryPool({ connectionString: url.toString(), max: 2, statementTimeoutMs: 60_000, planning: 'prepared' });

// Every row's time is `now - offset`, offsets spread over 90 days; fixed once so that sizes compare.
const now = Math.floor(Date.now() / 1000);

/** Loads rows [from, to): for a large step, without the secondary indexes, built again after. */
async function load(from: number, to: number) {
  if (to - from < 1_000_000) await generate(from, to);
  else await generateUnindexed(from, to);
  // After the indexes: ANALYZE also gathers the statistics of expression indexes (the source address's).
  await writePool.query('ANALYZE events');
  await writePool.query('ANALYZE event_resources');
}

async function generateUnindexed(from: number, to: number) {
  const { rows: indexes } = await writePool.query<{ name: string; def: string }>(
    `SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename IN ('events', 'event_resources') AND indexname NOT LIKE '%pkey'`,
  );
  for (const index of indexes) await writePool.query(`DROP INDEX ${index.name}`);
  await generate(from, to);
  const client = await writePool.connect();
  try {
    await client.query("SET maintenance_work_mem = '512MB'");
    for (const index of indexes) {
      const started = performance.now();
      // pg_indexes gives a partitioned index as CREATE INDEX ... ON ONLY, which builds none on the partitions.
      await client.query(index.def.replace(' ON ONLY ', ' ON '));
      console.error(`  built ${index.name} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    }
  } finally {
    client.release();
  }
}

async function generate(from: number, to: number) {
  const chunk = 100_000;
  for (let start = from; start < to; start += chunk) {
    const end = Math.min(to, start + chunk) - 1;
    const started = performance.now();
    await writePool.query(
      `WITH g AS (
         SELECT i, to_timestamp($3::bigint - ((i::bigint * 7919) % ($4::bigint * 90)) - (i % 1000) / 1000.0) AS t,
                (i * 3) % 20000 AS bucket
           FROM generate_series($1::int, $2::int) AS i
       ), ins AS (
         INSERT INTO events (event_time, event_id, account_id, region, event_name, event_source, read_only, username,
                             access_key_id, source_ip, error_code, event_category, resources, record)
         SELECT t, md5(i::text), '1111' || lpad((i % 20)::text, 8, '0'),
                CASE WHEN i % 10 < 8 THEN 'us-east-1' WHEN i % 10 = 8 THEN 'eu-west-1' ELSE 'us-west-2' END,
                CASE WHEN i % 4 = 0 THEN 'GetObject' ELSE 'Op' || ((i * 31) % 200) END,
                'svc' || (i % 40) || '.amazonaws.com',
                i % 3 <> 0,
                'user-' || ((i * 17) % 5000),
                'AKIA' || lpad(((i * 13) % 20000)::text, 16, '0'),
                '10.' || (i % 256) || '.' || ((i / 256) % 256) || '.' || ((i * 7) % 256),
                CASE WHEN i % 50 = 0 THEN 'AccessDenied' WHEN i % 97 = 0 THEN 'ThrottlingException' END,
                CASE WHEN i % 500 = 0 THEN 'Insight' ELSE 'Management' END,
                jsonb_build_array(jsonb_build_object('ResourceType', 'AWS::S3::Bucket', 'ResourceName', 'bucket-' || bucket)),
                json_build_object('eventVersion', '1.09', 'eventID', md5(i::text), 'eventTime', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                  'userIdentity', json_build_object('type', 'IAMUser', 'userName', 'user-' || ((i * 17) % 5000)),
                                  'requestParameters', json_build_object('bucketName', 'bucket-' || bucket),
                                  'userAgent', repeat('x', 400))::text
           FROM g
         RETURNING 1
       )
       INSERT INTO event_resources (event_time, event_id, region, resource_type, resource_name)
       SELECT t, md5(i::text), CASE WHEN i % 10 < 8 THEN 'us-east-1' WHEN i % 10 = 8 THEN 'eu-west-1' ELSE 'us-west-2' END, 'AWS::S3::Bucket', 'bucket-' || bucket
         FROM g`,
      [start, end, now, DAY_S],
    );
    console.error(`  loaded ${end + 1} events (${Math.round(((end - start + 1) / (performance.now() - started)) * 1000)}/s)`);
  }
}

/** The event ids PostgreSQL generated: md5 of the row number. */
const md5Of = (i: number) => createHash('md5').update(String(i)).digest('hex');
const rand = (n: number) => Math.floor(Math.random() * n);

type Query = [name: string, run: (q: HistoryQueries) => Promise<unknown>];
let loaded = 0;
const queries: Query[] = [
  ['LookupEvents (no attribute)', (q) => q.lookupEvents({}, REGION)],
  ['EventId', (q) => q.lookupEvents({ LookupAttributes: [{ AttributeKey: 'EventId', AttributeValue: md5Of(rand(loaded)) }] }, REGION)],
  ['EventName (hot: 25%)', (q) => q.lookupEvents({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'GetObject' }] }, REGION)],
  ['EventName (1 of 200)', (q) => q.lookupEvents({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: `Op${rand(200)}` }] }, REGION)],
  ['EventSource', (q) => q.lookupEvents({ LookupAttributes: [{ AttributeKey: 'EventSource', AttributeValue: `svc${rand(40)}.amazonaws.com` }] }, REGION)],
  ['ReadOnly true', (q) => q.lookupEvents({ LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'true' }] }, REGION)],
  ['ReadOnly false', (q) => q.lookupEvents({ LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }] }, REGION)],
  ['Username', (q) => q.lookupEvents({ LookupAttributes: [{ AttributeKey: 'Username', AttributeValue: `user-${rand(5000)}` }] }, REGION)],
  ['AccessKeyId', (q) => q.lookupEvents({ LookupAttributes: [{ AttributeKey: 'AccessKeyId', AttributeValue: `AKIA${String(rand(20000)).padStart(16, '0')}` }] }, REGION)],
  ['ResourceName', (q) => q.lookupEvents({ LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: `bucket-${rand(20000)}` }] }, REGION)],
  ['ResourceType', (q) => q.lookupEvents({ LookupAttributes: [{ AttributeKey: 'ResourceType', AttributeValue: 'AWS::S3::Bucket' }] }, REGION)],
  ['Insights (EventCategory)', (q) => q.lookupEvents({ EventCategory: 'insight' }, REGION)],
  ['QueryEvents user+AccessDenied', (q) => q.queryEvents({ Username: `user-${rand(5000)}`, AccessDenied: true }, REGION)],
  ['QueryEvents source+writes+CIDR', (q) => q.queryEvents({ EventSource: `svc${rand(40)}.amazonaws.com`, ReadOnly: false, SourceIPAddress: `10.${rand(256)}.0.0/16` }, REGION)],
  ['QueryEvents source IP (exact)', (q) => q.queryEvents({ SourceIPAddress: `10.${rand(256)}.${rand(256)}.${rand(256)}` }, REGION)],
  ['QueryEvents CIDR /16', (q) => q.queryEvents({ SourceIPAddress: `10.${rand(256)}.0.0/16` }, REGION)],
  ['QueryEvents ErrorCode', (q) => q.queryEvents({ ErrorCode: 'ThrottlingException' }, REGION)],
  ['GetResourceHistory', (q) => q.resourceHistory({ ResourceName: `bucket-${rand(20000)}` }, REGION)],
  [
    'EventName pages 1+2 (NextToken)',
    async (q) => {
      const input = { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: `Op${rand(200)}` }] };
      const first = await q.lookupEvents(input, REGION);
      return first.NextToken && q.lookupEvents({ ...input, NextToken: first.NextToken }, REGION);
    },
  ],
];

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const history = new HistoryQueries({ db: readPool, ...(process.env.BENCH_CUSTOM_PLANS_ONLY ? {} : { lookupDb: lookupPool }), tokens: new NextTokenCodec({ secret: randomBytes(32), ttlSeconds: 3600 }), retentionDays: 90 });
const results = new Map<string, { size: number; p50: number; p99: number }[]>();

try {
  await migrate(writePool);
  // A kept database: the rows a previous run loaded (ids and times follow the row number, so they continue).
  loaded = Number((await writePool.query<{ n: string }>('SELECT count(*) AS n FROM events')).rows[0]!.n);
  if (loaded > 0) console.error(`reusing ${loaded} events in ${name}`);
  const days: string[] = [];
  for (let d = 0; d <= 91; d++) days.push(new Date((now - d * DAY_S) * 1000).toISOString().slice(0, 10).replaceAll('-', ''));
  await new PartitionManager(writePool).ensure(days);
  for (const size of SIZES) {
    console.error(`loading to ${size} events`);
    if (size < loaded) {
      console.error(`skipping ${size}: ${loaded} events are stored already`);
      continue;
    }
    if (size > loaded) await load(loaded, size);
    loaded = size;
    // Leaf tables only: pg_inherits also links each partition's indexes to the partitioned index.
    const bytes = Number((await writePool.query<{ b: string }>(
      `SELECT sum(pg_total_relation_size(relid))::bigint AS b FROM (SELECT relid FROM pg_partition_tree('events') WHERE isleaf UNION ALL SELECT relid FROM pg_partition_tree('event_resources') WHERE isleaf) t`,
    )).rows[0]!.b);
    console.log(`\n${size.toLocaleString('en')} events stored (${(bytes / size).toFixed(0)} bytes per event, tables and indexes); load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores`);
    console.log(`  ${'query'.padEnd(32)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`);
    for (const [label, run] of queries) {
      await run(history); // warm the connection and the partitions' relcache
      const times: number[] = [];
      for (let s = 0; s < SAMPLES; s++) {
        const t0 = performance.now();
        await run(history);
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      const r = { size, p50: quantile(times, 0.5), p99: quantile(times, 0.99) };
      results.set(label, [...(results.get(label) ?? []), r]);
      console.log(`  ${label.padEnd(32)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)}`);
    }
  }
  if (SIZES.length > 1) {
    const [small, large] = [SIZES[0]!, SIZES[SIZES.length - 1]!];
    console.log(`\np50 at ${large.toLocaleString('en')} / p50 at ${small.toLocaleString('en')} (1.0 = time does not grow with the table):`);
    for (const [label, rs] of results) console.log(`  ${label.padEnd(32)} ${(rs[rs.length - 1]!.p50 / rs[0]!.p50).toFixed(2)}`);
  }
} finally {
  await readPool.end();
  await lookupPool.end();
  await writePool.end();
  if (!kept) await admin.query(`DROP DATABASE IF EXISTS ${name}`).catch(() => undefined);
  await admin.end();
  await stack?.stop();
}
