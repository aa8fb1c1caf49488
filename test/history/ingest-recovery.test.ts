import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { toApiCallEvent } from '@opentrail/cloudtrail';
import { eventResources } from '@opentrail/history';
import { installStack, startPostgres, type PostgresServer } from '@opentrail/stack';
import { serviceEnv, testKafka, uniquePrefix } from '../helpers/env.js';
import { createTopics } from '../helpers/kafka.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { EnrichedProducer } from '../archiver/helpers.js';
import { countRows, freshDatabase, historyEvent, withClient } from './ingest-helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** Fast failover after a SIGKILL, small transactions so that kills land between them. */
const RECOVERY_ENV = { OPENTRAIL_HISTORY_SESSION_TIMEOUT_MS: '6000', OPENTRAIL_HISTORY_HEARTBEAT_INTERVAL_MS: '1000', OPENTRAIL_HISTORY_BATCH_MAX_ROWS: '250' };

async function setup(label: string, databaseUrl?: string) {
  const prefix = uniquePrefix(label);
  const kafka = testKafka();
  await createTopics(kafka, [`${prefix}events.enriched`, `${prefix}events.dlq`]);
  const url = databaseUrl ?? (await freshDatabase(label));
  const producer = await EnrichedProducer.create(kafka, prefix);
  cleanups.push(() => producer.close());
  return { prefix, kafka, databaseUrl: url, producer, env: serviceEnv(prefix, { OPENTRAIL_DATABASE_URL: url, ...RECOVERY_ENV }) };
}

/** No event missing, none twice: in events and in event_resources (which has no unique index). */
async function expectExactlyOnce(databaseUrl: string, records: ReturnType<typeof historyEvent>[]) {
  await withClient(databaseUrl, async (c) => {
    const { rows } = await c.query<{ n: string; d: string }>('SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM events');
    expect(Number(rows[0]!.n)).toBe(records.length);
    expect(Number(rows[0]!.d)).toBe(records.length);
    const ids = new Set((await c.query<{ event_id: string }>('SELECT event_id FROM events')).rows.map((r) => r.event_id));
    expect(records.every((r) => ids.has(r.eventID!))).toBe(true);
  });
  const keys = records.reduce((n, r) => n + eventResources(toApiCallEvent(r)).keys.length, 0);
  expect(await countRows(databaseUrl, 'event_resources')).toBe(keys);
}

describe('history: recovery', () => {
  it('SIGKILLed at 3 random moments while ingesting: every event stored exactly once', { timeout: 420_000 }, async () => {
    const { databaseUrl, producer, env } = await setup('histcrash');
    const N = 20_000;
    const records = Array.from({ length: N }, (_, i) => historyEvent(i, 'crash'));
    let history: ServiceProcess = await startService('history', env);
    cleanups.push(() => history.kill());
    const producing = (async () => {
      for (let c = 0; c < 10; c++) {
        await producer.send(records.slice(c * 2000, (c + 1) * 2000));
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    const moments: string[] = [];
    for (let k = 0; k < 3; k++) {
      const before = await countRows(databaseUrl);
      const more = 500 + Math.floor(Math.random() * 3000);
      await waitFor(async () => (await countRows(databaseUrl)) >= Math.min(N - 1, before + more), `${more} more rows`, 120_000, 50);
      const extraMs = Math.floor(Math.random() * 300);
      await new Promise((r) => setTimeout(r, extraMs));
      await history.kill();
      moments.push(`at ~${before + more} rows + ${extraMs} ms`);
      history = await startService('history', env);
    }
    await producing;
    await waitFor(async () => (await countRows(databaseUrl)) >= N, `${N} rows (kills ${moments.join('; ')})`, 180_000, 500);
    // Everything consumed and committed: nothing more arrives later.
    await waitFor(async () => (await history.metric('opentrail_consumer_lag').catch(() => 1)) === 0, 'lag 0', 60_000, 500).catch(() => undefined);
    expect((await history.stop()).code).toBe(0);
    await expectExactlyOnce(databaseUrl, records);
  });

  it('PostgreSQL stopped mid-ingest and restarted: not ready meanwhile, nothing lost, nothing twice', { timeout: 300_000 }, async () => {
    const installed = await installStack();
    const dir = await mkdtemp(join(tmpdir(), 'opentrail-pg-outage-'));
    let pg: PostgresServer = await startPostgres({ binaries: installed.postgres, dir });
    cleanups.push(async () => {
      await pg.server.stop();
      await rm(dir, { recursive: true, force: true });
    });
    const { databaseUrl, producer, env } = await setup('histoutage', pg.url);
    const N = 8000;
    const records = Array.from({ length: N }, (_, i) => historyEvent(i, 'outage'));
    const history = await startService('history', env);
    cleanups.push(() => history.kill());
    await producer.send(records.slice(0, 4000));
    await waitFor(async () => (await countRows(databaseUrl)) > 0, 'first rows', 60_000, 100);
    await pg.server.stop();
    // Written while the database is down: the service must hold them until it returns.
    await producer.send(records.slice(4000));
    await waitFor(async () => (await fetch(`${history.url}/readyz`)).status === 503, '/readyz 503 while PostgreSQL is down', 30_000, 250).catch((err: Error) => {
      throw new Error(`${err.message} (exit code ${history.child.exitCode})\n${history.output().slice(-3000)}`);
    });
    await waitFor(async () => (await history.metric('opentrail_history_database_retries_total')) > 0, 'a retried write', 60_000, 250);
    pg = await startPostgres({ binaries: installed.postgres, dir, port: pg.port });
    await waitFor(async () => (await countRows(databaseUrl)) >= N, `${N} rows after the restart`, 120_000, 500).catch(async (err: Error) => {
      throw new Error(`${err.message} (have ${await countRows(databaseUrl)})\n${history.output().slice(-3000)}`);
    });
    await waitFor(async () => (await fetch(`${history.url}/readyz`)).ok, '/readyz 200 again', 30_000, 250);
    expect(history.child.exitCode).toBeNull();
    expect((await history.stop()).code).toBe(0);
    await expectExactlyOnce(databaseUrl, records);
  });

  it('retention drops whole day partitions older than retentionDays, and keeps the rest', { timeout: 180_000 }, async () => {
    const { databaseUrl, producer, env } = await setup('histretention');
    const days = [-6, -3, 0];
    // Noon UTC of each day, so that the day is the one meant whatever the hour the test runs.
    const noon = (offset: number) => `${new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10)}T12:00:00Z`;
    const records = days.flatMap((d) => Array.from({ length: 30 }, (_, i) => ({ ...historyEvent(i + 1 + 100 * (d + 10), `ret${d}`, d), eventTime: noon(d) })));
    await producer.send(records);
    let history = await startService('history', { ...env, OPENTRAIL_HISTORY_RETENTION_DAYS: '10' });
    cleanups.push(() => history.kill());
    await waitFor(async () => (await countRows(databaseUrl)) >= records.length, `${records.length} rows`, 60_000, 250);
    const partitions = async () =>
      withClient(databaseUrl, async (c) => (await c.query<{ relname: string }>("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass ORDER BY 1")).rows.map((r) => r.relname));
    const dayName = (offset: number) => `events_${new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '')}`;
    const before = await partitions();
    for (const d of days) expect(before).toContain(dayName(d));
    expect((await history.stop()).code).toBe(0);

    // 5 days: the partition of 6 days ago goes at start-up; 3 days ago and today stay.
    history = await startService('history', { ...env, OPENTRAIL_HISTORY_RETENTION_DAYS: '5' });
    await waitFor(async () => !(await partitions()).includes(dayName(-6)), 'the old partition dropped', 30_000, 250);
    const after = await partitions();
    expect(after).toContain(dayName(-3));
    expect(after).toContain(dayName(0));
    expect(await history.metric('opentrail_history_partitions_dropped_total')).toBeGreaterThanOrEqual(1);
    await withClient(databaseUrl, async (c) => {
      expect(Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM events')).rows[0]!.n)).toBe(records.length - 30);
      expect((await c.query("SELECT to_regclass($1) AS r", [dayName(-6).replace('events_', 'event_resources_')])).rows[0].r).toBeNull();
    });
    // An event older than the window that arrives now is not stored (its day is gone).
    await producer.send([historyEvent(9999, 'late', -6)]);
    await waitFor(async () => (await history.metric('opentrail_history_events_expired_total')) >= 1, 'the late event counted as expired', 30_000, 250);
    expect(await countRows(databaseUrl)).toBe(records.length - 30);
  });
});
