/**
 * LakeQueries' bookkeeping with the engine and PostgreSQL held in the test's hand (the real proof
 * is test/lake/query.test.ts: the AWS CLI against Trino, the lake service and the API).
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '@opentrail/observability';
import {
  eventDataStoreSchema,
  InMemoryEventDataStoreStore,
  LakeQueries,
  LakeQueryError,
  FINAL_STATUSES,
  type ExecuteOptions,
  type LakeQueryRecord,
  type LakeQueryStore,
  type LakeTables,
  type QueryEngine,
  type QueryStatus,
  type ResultRow,
} from '../../src/index.js';

const STORE = '0233062e-51e6-4d18-8fec-4d6ae1a8cd2b';
const OTHER = '11111111-51e6-4d18-8fec-4d6ae1a8cd2b';
const caller = { accountId: '111122223333', region: 'us-east-1' };

/** LakeQueryStore's contract in memory. */
class MemoryQueryStore {
  readonly queries = new Map<string, LakeQueryRecord>();
  readonly rowsOf = new Map<string, ResultRow[]>();
  async create(q: Pick<LakeQueryRecord, 'queryId' | 'accountId' | 'region' | 'stores' | 'statement' | 'createdAt'>) {
    this.queries.set(q.queryId, { ...q, status: 'QUEUED', resultsCount: 0, bytesScanned: 0, eventsScanned: 0 });
  }
  async get(id: string) {
    const q = this.queries.get(id);
    return q && { ...q };
  }
  async setStatus(id: string, status: QueryStatus, extra: Partial<LakeQueryRecord> = {}) {
    const q = this.queries.get(id)!;
    if (FINAL_STATUSES.has(q.status)) return false;
    this.queries.set(id, { ...q, ...extra, status });
    return true;
  }
  async setDelivery() {}
  async appendRows(id: string, _from: number, rows: readonly ResultRow[]) {
    this.rowsOf.set(id, [...(this.rowsOf.get(id) ?? []), ...rows]);
    const q = this.queries.get(id)!;
    q.resultsCount += rows.length;
  }
}

/**
 * An engine whose queries return two pages, or wait until aborted, or (working) report progress
 * every 10 ms without a row until aborted, as an aggregation over a large store does.
 */
class HeldEngine implements QueryEngine {
  readonly statements: string[] = [];
  hang = false;
  working = false;
  aborted = false;
  async execute(statement: string, o: ExecuteOptions) {
    this.statements.push(statement);
    o.signal?.addEventListener('abort', () => (this.aborted = true), { once: true });
    if (this.working) {
      for (let scanned = 1; !o.signal?.aborted; scanned++) {
        await o.onProgress?.({ processedBytes: scanned * 1000, processedRows: scanned * 10 });
        await new Promise((r) => setTimeout(r, 10));
      }
      throw Object.assign(new Error('cancelled'), { name: 'QueryCancelledError' });
    }
    if (this.hang) {
      await new Promise<void>((resolve) => o.signal?.addEventListener('abort', () => resolve(), { once: true }));
      throw Object.assign(new Error('cancelled'), { name: 'QueryCancelledError' });
    }
    await o.onRows?.(['eventname', 'n'], [['RunInstances', 3], ['GetObject', null]]);
    if (o.signal?.aborted) throw Object.assign(new Error('cancelled'), { name: 'QueryCancelledError' });
    await o.onRows?.(['eventname', 'n'], [['x', { a: 1 }]]);
    return { columns: ['eventname', 'n'], processedBytes: 1234, processedRows: 10, elapsedMs: 5 };
  }
}

function setup(options: { timeoutMs?: number; now?: () => number; maxResultBytes?: number } = {}) {
  const stores = new InMemoryEventDataStoreStore(
    [STORE, OTHER].map((id, i) => ({
      definition: eventDataStoreSchema.parse({ id, name: `store-${i}`, accountId: i === 0 ? caller.accountId : '444455556666', homeRegion: 'us-east-1', retentionPeriodDays: 366 }),
      status: 'ENABLED' as const,
      tags: [],
      createdAt: 0,
      updatedAt: 0,
    })),
  );
  const store = new MemoryQueryStore();
  const engine = new HeldEngine();
  const prepared: string[][] = [];
  const tables = { prepare: async (ids: readonly string[]) => void prepared.push([...ids]), qualifiedName: (id: string) => `lake.eds.eds_${id.replace(/-/g, '_')}` } as unknown as LakeTables;
  const queries = new LakeQueries({ engine, store: store as unknown as LakeQueryStore, stores, tables, logger: createLogger('lake', 'silent'), maxConcurrentPerAccount: 2, timeoutMs: options.timeoutMs ?? 60_000, maxResultBytes: options.maxResultBytes ?? 1 << 20, ...(options.now ? { now: options.now } : {}) });
  return { queries, store, engine, prepared };
}

async function settled(store: MemoryQueryStore, id: string): Promise<LakeQueryRecord> {
  for (let i = 0; i < 200; i++) {
    const q = (await store.get(id))!;
    if (FINAL_STATUSES.has(q.status)) return q;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('the query did not end');
}

describe('LakeQueries', () => {
  it('runs the guard\'s statement on the engine as lake-query, keeps every page, and finishes with the engine\'s statistics', async () => {
    const { queries, store, engine, prepared } = setup();
    const { queryId } = await queries.start({ statement: `SELECT eventName, count(*) AS n FROM ${STORE} WHERE eventName = ? GROUP BY 1`, parameters: ["it's"] }, caller);
    const q = await settled(store, queryId);
    expect(q).toMatchObject({ status: 'FINISHED', stores: [STORE], resultsCount: 3, bytesScanned: 1234, eventsScanned: 10 });
    expect(prepared).toEqual([[STORE]]);
    expect(engine.statements).toEqual([`SELECT eventName, count(*) AS n FROM lake.eds.eds_${STORE.replace(/-/g, '_')} WHERE eventName = 'it''s' GROUP BY 1`]);
    // Values as text: numbers spelled out, SQL NULL null, nested values JSON.
    expect(store.rowsOf.get(queryId)).toEqual([
      [['eventname', 'RunInstances'], ['n', '3']],
      [['eventname', 'GetObject'], ['n', null]],
      [['eventname', 'x'], ['n', '{"a":1}']],
    ]);
  });

  it('refuses what the guard refuses, and another account\'s store, before anything is recorded', async () => {
    const { queries, store } = setup();
    await expect(queries.start({ statement: `DROP TABLE ${STORE}` }, caller)).rejects.toMatchObject({ code: 'InvalidQueryStatementException' });
    await expect(queries.start({ statement: `SELECT * FROM ${OTHER}` }, caller)).rejects.toBeInstanceOf(LakeQueryError);
    await expect(queries.start({ statement: `SELECT * FROM ${OTHER}` }, caller)).rejects.toMatchObject({ code: 'EventDataStoreNotFoundException' });
    expect(store.queries.size).toBe(0);
  });

  it('cancels a running query (the engine\'s query is aborted) and caps running queries per account', async () => {
    const { queries, store, engine } = setup();
    engine.hang = true;
    const a = await queries.start({ statement: `SELECT 1 FROM ${STORE}` }, caller);
    await queries.start({ statement: `SELECT 2 FROM ${STORE}` }, caller);
    await expect(queries.start({ statement: `SELECT 3 FROM ${STORE}` }, caller)).rejects.toMatchObject({ code: 'MaxConcurrentQueriesException' });
    expect(await queries.cancel(a.queryId)).toBe(true);
    expect((await settled(store, a.queryId)).status).toBe('CANCELLED');
    expect(await queries.cancel(a.queryId)).toBe(false);
    await queries.stop();
  });

  it('stops a query whose results pass the limit: FAILED, saying why, the engine\'s query aborted, the rows before it kept', async () => {
    // The first page's values are 'RunInstances' + '3' + 'GetObject' = 22 bytes; the second's pass 24.
    const { queries, store, engine } = setup({ maxResultBytes: 24 });
    const { queryId } = await queries.start({ statement: `SELECT eventName, count(*) AS n FROM ${STORE} GROUP BY 1` }, caller);
    const q = await settled(store, queryId);
    expect(q.status).toBe('FAILED');
    expect(q.errorMessage).toMatch(/exceed 24 bytes/);
    expect(engine.aborted).toBe(true);
    expect(store.rowsOf.get(queryId)).toEqual([
      [['eventname', 'RunInstances'], ['n', '3']],
      [['eventname', 'GetObject'], ['n', null]],
    ]);
    // At the limit exactly, the same query finishes.
    const at = setup({ maxResultBytes: 22 + 1 + 7 });
    const ok = await at.queries.start({ statement: `SELECT eventName, count(*) AS n FROM ${STORE} GROUP BY 1` }, caller);
    expect((await settled(at.store, ok.queryId)).status).toBe('FINISHED');
  });

  it('records what a running query has scanned before its first row, and sees a cancel made elsewhere (only in the database)', async () => {
    let now = 0;
    const { queries, store, engine } = setup({ now: () => now });
    engine.working = true;
    const { queryId } = await queries.start({ statement: `SELECT count(*) FROM ${STORE}` }, caller);
    const clock = setInterval(() => (now += 500), 5);
    try {
      for (let i = 0; i < 400 && ((await store.get(queryId))?.eventsScanned ?? 0) === 0; i++) await new Promise((r) => setTimeout(r, 5));
      const running = (await store.get(queryId))!;
      expect(running.status).toBe('RUNNING');
      expect(running.eventsScanned).toBeGreaterThan(0);
      expect(running.bytesScanned).toBe(running.eventsScanned * 100);
      // Another instance's CancelQuery: a status in the shared store, no call to this one.
      await store.setStatus(queryId, 'CANCELLED');
      for (let i = 0; i < 400 && !engine.aborted; i++) await new Promise((r) => setTimeout(r, 5));
      expect(engine.aborted).toBe(true);
      expect((await settled(store, queryId)).status).toBe('CANCELLED');
      await queries.stop();
    } finally {
      clearInterval(clock);
    }
  });

  it('reports a query no instance runs any more, past its timeout, as TIMED_OUT', async () => {
    let now = 1_000_000;
    const { queries, store } = setup({ timeoutMs: 1000, now: () => now });
    await store.create({ queryId: '22222222-0000-4000-8000-000000000000', accountId: caller.accountId, region: caller.region, stores: [STORE], statement: 'SELECT 1', createdAt: now });
    await store.setStatus('22222222-0000-4000-8000-000000000000', 'RUNNING');
    expect((await queries.current('22222222-0000-4000-8000-000000000000'))?.status).toBe('RUNNING');
    now += 1000 + 61_000;
    expect((await queries.current('22222222-0000-4000-8000-000000000000'))?.status).toBe('TIMED_OUT');
  });
});
