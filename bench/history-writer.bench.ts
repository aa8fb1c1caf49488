/**
 * The history writer alone (no Kafka): the same batches of real fixture events written into
 * PostgreSQL by each strategy, in events/s and in CPU per event on each side (this process; the
 * PostgreSQL backends serving it, read from /proc, so a shared server's other clients do not count).
 * What bench/history-ingest.bench.ts measures end to end, taken apart to choose the write path:
 *  - copy:    EventWriter's optimistic binary COPY (the default);
 *  - insert:  EventWriter's idempotent INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING;
 *  - stage:   binary COPY into temporary tables, then INSERT ... SELECT ... ON CONFLICT DO NOTHING
 *             (the other idempotent candidate);
 *  - replay:  the copy writer given batches already stored (COPY fails, the INSERT skips them all):
 *             what a replay after a crash costs.
 * Each strategy runs WRITERS batches in parallel (one connection each) on a freshly truncated table;
 * storage bytes per event are printed after the copy run.
 *
 * `npx tsx bench/history-writer.bench.ts` with OPENTRAIL_DATABASE_URL (a server; a database of its
 * own is created and dropped). BENCH_EVENTS (default 40000), BENCH_BATCH (2000), BENCH_WRITERS (1,2),
 * BENCH_MODES (copy,insert,stage,replay), BENCH_ROUNDS (3: the modes in turn, after one uncounted
 * warm-up round; the median of each figure is printed).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { from as copyFrom } from 'pg-copy-streams';
import pg from 'pg';
import { recentFixtureEvents } from './lib/events.js';
import { BinaryCopyWriter, createPool, EventWriter, migrate, PartitionManager, toEventRow, type EventRow, type Pool } from '@opentrail/history';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 40_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 2000);
const WRITERS = (process.env.BENCH_WRITERS ?? '1,2').split(',').map(Number);
const MODES = (process.env.BENCH_MODES ?? 'copy,insert,stage,replay').split(',');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const serverUrl = process.env.OPENTRAIL_DATABASE_URL;
if (!serverUrl) throw new Error('set OPENTRAIL_DATABASE_URL (source the stack endpoints)');

function rowsOf(n: number): EventRow[] {
  return Array.from(recentFixtureEvents(n), (event) => toEventRow(event));
}

/** CPU seconds of the given processes (the PostgreSQL backends of this benchmark's connections). */
async function cpuSeconds(pids: number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    total += (Number(fields[11]) + Number(fields[12])) / 100;
  }
  return total;
}

/** The staging candidate: binary COPY into per-connection temporary tables, then one idempotent INSERT ... SELECT. */
async function stagedWrite(pool: Pool, rows: EventRow[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`CREATE TEMP TABLE IF NOT EXISTS stage_events (LIKE events) ON COMMIT DELETE ROWS;
                        CREATE TEMP TABLE IF NOT EXISTS stage_resources (LIKE event_resources) ON COMMIT DELETE ROWS`);
    const events = new BinaryCopyWriter();
    const resources = new BinaryCopyWriter();
    for (const r of rows) {
      const ms = Date.parse(r.eventTime);
      events.row(14).timestamptz(ms).text(r.eventId).text(r.accountId).text(r.region).text(r.eventName).text(r.eventSource).boolean(r.readOnly).text(r.username)
        .text(r.accessKeyId).text(r.sourceIp).text(r.errorCode).text(r.eventCategory).jsonb(JSON.stringify(r.resources)).text(r.record);
      for (const k of r.resourceKeys) resources.row(5).timestamptz(ms).text(r.eventId).text(r.region).text(k.type).text(k.name);
    }
    const columns = 'event_time, event_id, account_id, region, event_name, event_source, read_only, username, access_key_id, source_ip, error_code, event_category, resources, record';
    for (const [statement, data] of [
      [`COPY stage_events (${columns}) FROM STDIN (FORMAT binary)`, events.finish()],
      ['COPY stage_resources (event_time, event_id, region, resource_type, resource_name) FROM STDIN (FORMAT binary)', resources.finish()],
    ] as const) {
      await new Promise<void>((resolve, reject) => {
        const stream = client.query(copyFrom(statement));
        stream.on('error', reject).on('finish', () => resolve());
        stream.end(data);
      });
    }
    await client.query(`WITH ins AS (INSERT INTO events (${columns}) SELECT ${columns} FROM stage_events ON CONFLICT DO NOTHING RETURNING event_id, event_time)
      INSERT INTO event_resources SELECT s.* FROM stage_resources s JOIN ins USING (event_id, event_time)`);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

const admin = new pg.Client({ connectionString: serverUrl });
await admin.connect();
const name = `histperf_writer_${randomBytes(4).toString('hex')}`;
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(serverUrl);
url.pathname = `/${name}`;
const pool = createPool({ url: url.toString(), maxConnections: Math.max(...WRITERS) + 1, applicationName: 'bench-history-writer' });
try {
  await migrate(pool);
  const partitions = new PartitionManager(pool);
  const rows = rowsOf(EVENTS);
  const batches: EventRow[][] = [];
  for (let i = 0; i < rows.length; i += BATCH) batches.push(rows.slice(i, i + BATCH));
  console.log(`${EVENTS} events (${(rows.reduce((n, r) => n + r.record.length, 0) / EVENTS).toFixed(0)} chars of record each), batches of ${BATCH}`);
  interface Run { eventsPerSecond: number; nodeUs: number; pgUs: number }
  const measure = async (mode: string, writers: number): Promise<Run> => {
    await pool.query('TRUNCATE events, event_resources');
    if (mode === 'replay') await new EventWriter(pool, partitions).write(rows);
    await pool.query('CHECKPOINT').catch(() => undefined);
    const writer = new EventWriter(pool, partitions, { optimisticCopy: mode !== 'insert' });
    // Every connection opened (and its backend's pid read) before timing.
    const clients = await Promise.all(Array.from({ length: writers + 1 }, () => pool.connect()));
    const pids = (await Promise.all(clients.map((c) => c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')))).map((r) => r.rows[0]!.pid);
    for (const c of clients) c.release();
    await partitions.ensure(rows.map((r) => r.day));
    const pg0 = await cpuSeconds(pids);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (next < batches.length) {
          const batch = batches[next++]!;
          if (mode === 'stage') await stagedWrite(pool, batch);
          else await writer.write(batch);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const pgCpu = (await cpuSeconds(pids)) - pg0;
    const { rows: [count] } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM events');
    if (Number(count!.n) !== EVENTS) throw new Error(`${mode}: ${count!.n} rows stored, expected ${EVENTS}`);
    return { eventsPerSecond: EVENTS / seconds, nodeUs: (cpu.user + cpu.system) / EVENTS, pgUs: (pgCpu / EVENTS) * 1e6 };
  };
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  for (const mode of MODES) await measure(mode, WRITERS[0]!); // warm-up: JIT, caches
  const runs = new Map<string, Run[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const writers of WRITERS) {
      for (const mode of MODES) {
        const key = `${mode}\u0001${writers}`;
        runs.set(key, [...(runs.get(key) ?? []), await measure(mode, writers)]);
      }
    }
  }
  console.log(`${'mode'.padEnd(8)} ${'writers'.padStart(7)} ${'events/s'.padStart(9)} ${'node µs/ev'.padStart(11)} ${'pg µs/ev'.padStart(9)} ${'ev/CPU-s'.padStart(9)}   (median of ${ROUNDS})`);
  for (const writers of WRITERS) {
    for (const mode of MODES) {
      const r = runs.get(`${mode}\u0001${writers}`)!;
      const [rate, nodeUs, pgUs] = [median(r.map((x) => x.eventsPerSecond)), median(r.map((x) => x.nodeUs)), median(r.map((x) => x.pgUs))];
      console.log(`${mode.padEnd(8)} ${String(writers).padStart(7)} ${rate.toFixed(0).padStart(9)} ${nodeUs.toFixed(1).padStart(11)} ${pgUs.toFixed(1).padStart(9)} ${(1e6 / (nodeUs + pgUs)).toFixed(0).padStart(9)}`);
    }
  }
  // Storage, as the copy writer leaves it.
  await measure('copy', 1);
  const { rows: [size] } = await pool.query<{ bytes: string; heap: string; toast: string; idx: string }>(`
    SELECT sum(pg_total_relation_size(relid)) AS bytes, sum(pg_relation_size(relid)) AS heap,
           sum(pg_total_relation_size(relid) - pg_relation_size(relid) - pg_indexes_size(relid)) AS toast, sum(pg_indexes_size(relid)) AS idx
      FROM (SELECT relid FROM pg_partition_tree('events') WHERE isleaf UNION ALL SELECT relid FROM pg_partition_tree('event_resources') WHERE isleaf) t`);
  console.log(`storage: ${(Number(size!.bytes) / EVENTS).toFixed(0)} bytes per event (heap ${(Number(size!.heap) / EVENTS).toFixed(0)}, TOAST ${(Number(size!.toast) / EVENTS).toFixed(0)}, indexes ${(Number(size!.idx) / EVENTS).toFixed(0)})`);
} finally {
  await pool.end();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`).catch(() => undefined);
  await admin.end();
}
