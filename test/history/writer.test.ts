import { afterAll, describe, expect, it } from 'vitest';
import { toApiCallEvent } from '@opentrail/cloudtrail';
import { createPool, EventWriter, loadMigrations, migrate, PartitionManager, toEventRow, type EventRow, type Pool } from '@opentrail/history';
import { freshDatabase, historyEvent } from './ingest-helpers.js';

/**
 * The history writer on the real PostgreSQL: the optimistic binary COPY stores exactly what the
 * idempotent INSERT stores, a replay (whole or partial) inserts nothing twice, and a database of
 * migration 1 with rows in it migrates forward to the current schema.
 */
const pools: Pool[] = [];
afterAll(async () => {
  for (const pool of pools.splice(0)) await pool.end().catch(() => undefined);
});

async function database(label: string, migrations?: Awaited<ReturnType<typeof loadMigrations>>): Promise<{ pool: Pool; writer: (optimisticCopy?: boolean) => EventWriter }> {
  const pool = createPool({ url: await freshDatabase(label) });
  pools.push(pool);
  await migrate(pool, migrations);
  const partitions = new PartitionManager(pool);
  return { pool, writer: (optimisticCopy = true) => new EventWriter(pool, partitions, { optimisticCopy }) };
}

function rows(seed: string, n: number, from = 0): EventRow[] {
  return Array.from({ length: n }, (_, i) => {
    const record = historyEvent(from + i, seed, -((from + i) % 3));
    // Text the binary encoding must carry exactly: non-ASCII, quotes, backslashes, astral characters.
    if (i % 7 === 1) record.userAgent = `agent "ü\\ 🚀 ${i}`;
    return toEventRow(toApiCallEvent(record));
  });
}

const EVERYTHING = `SELECT event_time, event_id, account_id, region, event_name, event_source, read_only, username, access_key_id,
                           source_ip, error_code, event_category, resources, record FROM events ORDER BY event_id`;
const RESOURCES = 'SELECT event_time, event_id, region, resource_type, resource_name FROM event_resources ORDER BY event_id, resource_name, resource_type';

describe('history: the event writer', () => {
  it('stores by binary COPY exactly what the idempotent INSERT stores', async () => {
    const batch = rows('copy-eq', 400);
    const copy = await database('writer_copy');
    const insert = await database('writer_insert');
    const copied = await copy.writer(true).write(batch);
    const inserted = await insert.writer(false).write(batch);
    expect(copied).toEqual(inserted);
    expect(copied.inserted).toBe(400);
    expect(copied.resources).toBeGreaterThan(0);
    expect((await copy.pool.query(EVERYTHING)).rows).toEqual((await insert.pool.query(EVERYTHING)).rows);
    expect((await copy.pool.query(RESOURCES)).rows).toEqual((await insert.pool.query(RESOURCES)).rows);
    const { rows: stored } = await copy.pool.query<{ record: string }>('SELECT record FROM events ORDER BY event_id');
    expect(stored.map((r) => r.record).sort()).toEqual(batch.map((r) => r.record).sort());
  });

  it('inserts nothing twice on a replay, whole or partial, resource rows included', async () => {
    const { pool, writer } = await database('writer_replay');
    const w = writer();
    // One call: historyEvent dates events from Date.now(), and a replayed event must be the same (eventID, eventTime).
    const all = rows('replay', 450);
    const first = all.slice(0, 300);
    const a = await w.write(first);
    expect(a).toMatchObject({ inserted: 300, duplicates: 0, refused: [] });
    const resourceRows = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM event_resources')).rows[0]!.n);
    expect(resourceRows).toBe(a.resources);

    expect(await w.write(first)).toMatchObject({ inserted: 0, duplicates: 300, resources: 0, refused: [] });

    // Half replayed, half new, and one event twice in the batch.
    const next = all.slice(150);
    const b = await w.write([...next, next[0]!]);
    expect(b).toMatchObject({ inserted: 150, duplicates: 151, refused: [] });
    const counts = (await pool.query<{ events: string; resources: string; distinct: string }>(
      'SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM event_resources) AS resources, (SELECT count(*) FROM (SELECT DISTINCT * FROM event_resources) d) AS distinct',
    )).rows[0]!;
    expect(Number(counts.events)).toBe(450);
    expect(Number(counts.resources)).toBe(a.resources + b.resources);
    expect(Number(counts.distinct)).toBe(Number(counts.resources));
  });

  it('migrates a database of migration 1, rows and all, to the current schema', async () => {
    const all = await loadMigrations();
    expect(all.length).toBeGreaterThan(1);
    const { pool, writer } = await database('writer_migrate', all.slice(0, 1));
    const old = rows('migrate', 200);
    await writer(false).write(old);

    expect(await migrate(pool, all)).toEqual(all.slice(1).map((m) => m.version));
    const { rows: indexes } = await pool.query<{ name: string }>("SELECT indexname AS name FROM pg_indexes WHERE tablename = 'events'");
    const names = indexes.map((i) => i.name);
    expect(names).toEqual(expect.arrayContaining(['events_region_writes', 'events_region_error_code', 'events_region_insight', 'events_region_source_inet']));
    expect(names).not.toContain('events_region_source_ip');
    expect(names).not.toContain('events_region_read_only');
    // Every existing day partition got the new indexes.
    const { rows: partitions } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM pg_indexes WHERE indexname LIKE 'events\\_2%' AND indexdef LIKE '%::inet%'");
    expect(Number(partitions[0]!.n)).toBe(new Set(old.map((r) => r.day)).size);

    const more = rows('migrate', 200, 200);
    expect(await writer().write([...old, ...more])).toMatchObject({ inserted: 200, duplicates: 200 });
    expect(Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM events')).rows[0]!.n)).toBe(400);
  });

  it('a connection the server ends while it is checked out fails its next statement and does not end the process', async () => {
    const { pool, writer } = await database('writer_killed');
    const client = await pool.connect();
    const { rows: [me] } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    // As PostgreSQL shutting down does to every backend: FATAL 57P01 to a client between statements.
    await pool.query('SELECT pg_terminate_backend($1)', [me!.pid]);
    await new Promise((r) => setTimeout(r, 200));
    const next = await client.query('SELECT 1').then(() => undefined, (err: Error) => err);
    expect(next).toBeInstanceOf(Error);
    client.release(next);
    // The pool goes on with new connections: the writer stores a batch.
    const result = await writer().write(rows('after-kill', 5));
    expect(result.inserted).toBe(5);
  });
});
