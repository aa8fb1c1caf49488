import { gunzipSync } from 'node:zlib';
import type { KMSClient } from '@aws-sdk/client-kms';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toApiCallEvent, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { createLogger, ServiceMetrics } from '@opentrail/observability';
import { RetryAbortedError, type BatchContext, type InputRecord, type OutputMessage } from '@opentrail/runtime';
import type { ArchiverState, AvroSerde, Delivery, EnrichedEvent } from '@opentrail/serde';
import { configTrailRecord, InMemoryTrailStore, parseTrail, type ActivityKind, type TrailInput, type TrailRecord } from '@opentrail/trails';
import { Archiver } from '../src/archiver.js';
import type { HighWaterMarks } from '../src/highWaterMarks.js';
import { LiveTrails, windowOf } from '../src/liveTrails.js';
import type { LogFileStore, ObjectToStore } from '@opentrail/logfiles';
import { archiverMetrics } from '../src/metrics.js';

const TOPIC = 'events.enriched';
const ACCOUNT = '111122223333';
/** Kafka timestamp of offset o: BASE + o. */
const BASE = 1_800_000_000_000;

function record(i: number, overrides: Partial<CloudTrailRecord> = {}): CloudTrailRecord {
  return {
    eventVersion: '1.09',
    userIdentity: { type: 'IAMUser', accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/u` },
    eventTime: new Date(Date.UTC(2026, 10, 1, 0, 0, i % 3600)).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'ec2.amazonaws.com',
    eventName: i % 2 === 0 ? 'DescribeInstances' : 'RunInstances',
    awsRegion: 'us-east-1',
    eventID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    eventType: 'AwsApiCall',
    readOnly: i % 2 === 0,
    managementEvent: true,
    eventCategory: 'Management',
    recipientAccountId: ACCOUNT,
    ...overrides,
  };
}

const input = (offset: number, r: CloudTrailRecord = record(offset), partition = 0): InputRecord<EnrichedEvent> => ({
  topic: TOPIC,
  partition,
  offset: String(offset),
  key: null,
  value: { event: toApiCallEvent(r), enrichment: { enrichedAt: BASE, identity: null, geo: null, service: null } },
  headers: {},
  timestamp: String(BASE + offset),
  bytes: 300,
});
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => input(from + i));
const context = (partition = 0): BatchContext => ({ topic: TOPIC, partition, highWatermark: '0', heartbeat: async () => undefined, signal: new AbortController().signal });
const tp = (partition = 0) => ({ topic: TOPIC, partition });
const ids = (o: ObjectToStore) => (JSON.parse(gunzipSync(o.body).toString()) as { Records: CloudTrailRecord[] }).Records.map((r) => Number(r.eventID!.slice(-12)));

const trail = (name: string, overrides: Partial<TrailInput> = {}): TrailInput => ({ name, accountId: '999988887777', homeRegion: 'us-east-1', bucket: `${name}-bucket`, roll: { intervalSeconds: 60 }, ...overrides });
const configured = (name: string, overrides: Partial<TrailInput> = {}): TrailRecord => configTrailRecord(parseTrail(trail(name, overrides)), 1_000);
/** A trail the API created and started at Kafka timestamp BASE + offset. */
const startedAt = (name: string, offset: number, overrides: Partial<TrailInput> = {}): TrailRecord => ({
  definition: parseTrail(trail(name, overrides)),
  isLogging: true,
  startLoggingTime: BASE + offset,
  tags: [],
  createdAt: 1_000,
  updatedAt: BASE + offset,
  origin: 'api',
});
const stoppedAt = (r: TrailRecord, offset: number): TrailRecord => ({ ...r, isLogging: false, stopLoggingTime: BASE + offset, updatedAt: BASE + offset });

interface Harness {
  archiver: Archiver;
  catalog: InMemoryTrailStore;
  stored: ObjectToStore[];
  clock: { now: number };
  marks: Map<string, bigint>;
  failures: Map<string, Error>;
  activity: { trail: string; kind: ActivityKind; ok: boolean; code?: string }[];
  /** Hands over and commits: what the runtime does after a call returns. */
  commit(work: { outputs?: OutputMessage[] } | void): Delivery[];
}

function harness(records: TrailRecord[], shared?: { stored: ObjectToStore[]; marks: Map<string, bigint>; catalog: InMemoryTrailStore }, refusedBudgetBytes?: number): Harness {
  const stored = shared?.stored ?? [];
  const marks = shared?.marks ?? new Map<string, bigint>();
  const catalog = shared?.catalog ?? new InMemoryTrailStore(records);
  const clock = { now: BASE + 100_000 };
  const failures = new Map<string, Error>();
  const activity: Harness['activity'] = [];
  const store = {
    store: async (object: ObjectToStore, options: { onError?: (err: unknown) => void; signal: AbortSignal }) => {
      // As LogFileStore does: report every failed attempt, retry until the call's signal aborts.
      for (;;) {
        const failure = failures.get(object.bucket);
        if (!failure) break;
        options.onError?.(failure);
        if (options.signal.aborted) throw new RetryAbortedError(failure);
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (options.signal.aborted) throw new RetryAbortedError(failure);
      }
      // A rewrite of the same key replaces the object, as S3 does.
      const at = stored.findIndex((o) => o.bucket === object.bucket && o.key === object.key);
      if (at >= 0) stored.splice(at, 1);
      stored.push(object);
    },
  };
  const highWaterMarks = {
    get: (partition: number, key: string) => marks.get(`${partition}|${key}`) ?? -1n,
    restore: async () => [],
    message: (state: ArchiverState): OutputMessage => ({ topic: 'state', key: `${state.sourcePartition}|${state.trailName}|${state.kind}|${state.accountId}|${state.region}`, value: Buffer.from(String(state.lastOffset)) }),
  };
  const logger = createLogger('livetrailstest', 'silent');
  const archiver = new Archiver({
    sourceTopic: TOPIC,
    deliveriesTopic: 'deliveries',
    consumerGroup: 'g',
    trails: new LiveTrails({ catalog, logger, drainMs: 60_000, now: () => clock.now }),
    activity: {
      succeeded: (t, kind) => activity.push({ trail: t, kind, ok: true }),
      failed: (t, kind, err) => activity.push({ trail: t, kind, ok: false, code: (err as Error).name }),
    },
    store: store as unknown as LogFileStore,
    kms: {} as KMSClient,
    marks: highWaterMarks as unknown as HighWaterMarks,
    deliverySerde: { encode: (d: Delivery) => Buffer.from(JSON.stringify(d)) } as unknown as AvroSerde<Delivery>,
    metrics: archiverMetrics(new ServiceMetrics(`livetrails${Math.random().toString(36).slice(2, 8)}`), { openGroups: () => 0, bufferedBytes: () => 0, openFiles: () => 0 }),
    logger,
    instance: 'test',
    memoryBudgetBytes: 64 * 1024 * 1024,
    compressChunkBytes: 64 * 1024,
    compressionLevel: 1,
    uploadConcurrency: 4,
    tickUploadBudgetMs: 200,
    shutdownUploadBudgetMs: 200,
    ...(refusedBudgetBytes !== undefined ? { refusedBudgetBytes } : {}),
    now: () => clock.now,
  });
  const commit = (work: { outputs?: OutputMessage[] } | void) => {
    const outputs = work?.outputs ?? [];
    for (const o of outputs) if (o.topic === 'state') marks.set(o.key as string, BigInt((o.value as Buffer).toString()));
    archiver.onCommitted(tp());
    return outputs.filter((o) => o.topic === 'deliveries').map((o) => JSON.parse((o.value as Buffer).toString()) as Delivery);
  };
  return { archiver, catalog, stored, clock, marks, failures, activity, commit };
}

const filesOf = (h: Harness, name: string) => h.stored.filter((o) => o.bucket === `${name}-bucket`);
const idsOf = (h: Harness, name: string) => filesOf(h, name).flatMap(ids).sort((a, b) => a - b);
const seq = (from: number, to: number, step = 1) => Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);

describe('trail windows', () => {
  it('a configured trail logging since it was seeded takes everything; an API trail from its start; a stopped one up to its stop', () => {
    expect(windowOf(configured('aaa'))).toEqual({});
    expect(windowOf(startedAt('bbb', 5))).toEqual({ from: BASE + 5 });
    expect(windowOf(stoppedAt(startedAt('bbb', 5), 9))).toEqual({ from: BASE + 5, until: BASE + 9 });
    expect(windowOf(stoppedAt(configured('aaa'), 9))).toEqual({ until: BASE + 9 });
    // Stopped and never started (CreateTrail without StartLogging): takes nothing.
    expect(windowOf({ ...startedAt('ccc', 1), isLogging: false, startLoggingTime: undefined })).toBeUndefined();
    // A configured trail stopped and started again through the API starts at the restart.
    expect(windowOf({ ...configured('aaa'), startLoggingTime: BASE + 20, stopLoggingTime: BASE + 9 })).toEqual({ from: BASE + 20 });
  });
});

describe('Archiver following the trail catalog', () => {
  it('a trail added between batches takes records from its start; the others\' files and groups are not touched', async () => {
    const h = harness([configured('stay')]);
    await h.archiver.onAssigned([tp()]);
    h.commit(await h.archiver.processBatch(range(0, 9), context()));
    await h.catalog.put(startedAt('added', 15));
    h.commit(await h.archiver.processBatch(range(10, 19), context()));
    // The added trail's records are in memory: the commit stays at the first record held by any group.
    expect(h.archiver.heldFrom(tp())).toBe(0n);
    h.commit(await h.archiver.flush(tp(), 'shutdown'));
    expect(idsOf(h, 'added')).toEqual(seq(15, 19));
    // One file for the trail that stayed: the change did not close it.
    expect(filesOf(h, 'stay')).toHaveLength(1);
    expect(idsOf(h, 'stay')).toEqual(seq(0, 19));
    expect(h.archiver.heldFrom(tp())).toBeUndefined();
  });

  it('a stopped trail\'s open file is delivered at the next tick, with what was sent before the stop and nothing after', async () => {
    const h = harness([configured('stay'), startedAt('stopped', 0)]);
    await h.archiver.onAssigned([tp()]);
    h.commit(await h.archiver.processBatch(range(0, 9), context()));
    await h.catalog.put(stoppedAt(h.catalog.get('stopped')!, 12));
    // The next tick closes and stores the stopped trail's file, well before its roll interval.
    const delivered = h.commit(await h.archiver.flush(tp(), 'tick'));
    expect(delivered.map((d) => d.trailName)).toEqual(['stopped']);
    expect(idsOf(h, 'stopped')).toEqual(seq(0, 9));
    // Records stamped up to the stop, still on their way, are delivered too; later ones are not.
    h.commit(await h.archiver.processBatch(range(10, 19), context()));
    h.commit(await h.archiver.flush(tp(), 'shutdown'));
    expect(idsOf(h, 'stopped')).toEqual(seq(0, 12));
    expect(idsOf(h, 'stay')).toEqual(seq(0, 19));
    expect(filesOf(h, 'stay')).toHaveLength(1);
  });

  it('a deleted trail\'s open file is delivered, and it takes nothing stamped after the deletion', async () => {
    const h = harness([configured('stay'), configured('deleted')]);
    await h.archiver.onAssigned([tp()]);
    h.clock.now = BASE + 9;
    h.commit(await h.archiver.processBatch(range(0, 9), context()));
    await h.catalog.delete('deleted');
    h.clock.now = BASE + 10;
    h.commit(await h.archiver.processBatch(range(10, 19), context()));
    expect(idsOf(h, 'deleted')).toEqual(seq(0, 9));
    // After the drain window the deleted trail is gone altogether.
    h.clock.now = BASE + 10 + 61_000;
    h.commit(await h.archiver.processBatch([input(20, record(20), 0)].map((r) => ({ ...r, timestamp: String(BASE + 5) })), context()));
    h.commit(await h.archiver.flush(tp(), 'shutdown'));
    expect(idsOf(h, 'deleted')).toEqual(seq(0, 9));
    expect(idsOf(h, 'stay')).toEqual(seq(0, 20));
  });

  it('a trail deleted while stopped keeps its stop as its end, and one started through the API its start', async () => {
    const h = harness([stoppedAt(startedAt('stopped-then-deleted', 3), 6)]);
    await h.archiver.onAssigned([tp()]);
    h.clock.now = BASE + 10;
    await h.catalog.delete('stopped-then-deleted');
    h.commit(await h.archiver.processBatch(range(0, 9), context()));
    h.commit(await h.archiver.flush(tp(), 'shutdown'));
    expect(idsOf(h, 'stopped-then-deleted')).toEqual(seq(3, 6));
  });

  it('changed selectors close the open file and apply to the records after the change', async () => {
    const h = harness([configured('stay'), configured('changed')]);
    await h.archiver.onAssigned([tp()]);
    h.commit(await h.archiver.processBatch(range(0, 9), context()));
    // Writes only (readOnly false: the odd offsets).
    const changed = h.catalog.get('changed')!;
    await h.catalog.put({ ...changed, definition: parseTrail(trail('changed', { eventSelectors: [{ readWriteType: 'WriteOnly' }] })), updatedAt: BASE + 10 });
    h.commit(await h.archiver.processBatch(range(10, 19), context()));
    h.commit(await h.archiver.flush(tp(), 'shutdown'));
    const files = filesOf(h, 'changed').map(ids);
    expect(files).toEqual([seq(0, 9), seq(11, 19, 2)]);
    expect(idsOf(h, 'stay')).toEqual(seq(0, 19));
    expect(filesOf(h, 'stay')).toHaveLength(1);
  });

  it('a new bucket takes the trail\'s files from the change on; files closed before it go to the old one', async () => {
    const h = harness([configured('moved')]);
    await h.archiver.onAssigned([tp()]);
    h.commit(await h.archiver.processBatch(range(0, 4), context()));
    await h.catalog.put({ ...h.catalog.get('moved')!, definition: parseTrail(trail('moved', { bucket: 'elsewhere-bucket' })) });
    h.commit(await h.archiver.processBatch(range(5, 9), context()));
    h.commit(await h.archiver.flush(tp(), 'shutdown'));
    expect(idsOf(h, 'moved')).toEqual(seq(0, 4));
    expect(idsOf(h, 'elsewhere')).toEqual(seq(5, 9));
  });

  it('a replay after a crash that straddles a start and a stop rebuilds the same files: no loss, no duplicate', async () => {
    const stored: ObjectToStore[] = [];
    const marks = new Map<string, bigint>();
    const catalog = new InMemoryTrailStore([configured('stay', { roll: { intervalSeconds: 3600 } }), startedAt('stopped', 0)]);
    const first = harness([], { stored, marks, catalog });
    await first.archiver.onAssigned([tp()]);
    first.commit(await first.archiver.processBatch(range(0, 9), context()));
    await catalog.put(startedAt('added', 5));
    await catalog.put(stoppedAt(catalog.get('stopped')!, 14));
    // The stopped trail's file is stored and delivered, but the crash comes before the commit.
    await first.archiver.processBatch(range(10, 19), context());
    const before = new Map(stored.map((o) => [o.key, ids(o)]));
    expect([...before.values()]).toEqual([seq(0, 9)]);

    // The next owner reads from the committed offset (0: 'stay' held everything) with the same catalog.
    const second = harness([], { stored, marks, catalog });
    await second.archiver.onAssigned([tp()]);
    second.commit(await second.archiver.processBatch(range(0, 24), context()));
    second.commit(await second.archiver.flush(tp(), 'shutdown'));
    // The uncommitted file was rewritten under its own key, and holds what the stop allows.
    expect(stored.filter((o) => before.has(o.key)).map(ids)).toEqual([seq(0, 14)]);
    expect(idsOf(second, 'stopped')).toEqual(seq(0, 14));
    expect(idsOf(second, 'added')).toEqual(seq(5, 24));
    expect(idsOf(second, 'stay')).toEqual(seq(0, 24));
  });

  it('keeps every event of the trails that stay exactly once, whatever trails come and go between batches', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ size: fc.integer({ min: 1, max: 8 }), change: fc.constantFrom('add', 'stop', 'delete', 'select', 'none'), target: fc.constantFrom('xxx', 'yyy'), tick: fc.boolean() }), { minLength: 1, maxLength: 8 }),
        async (steps) => {
          const h = harness([configured('stay'), configured('writes', { eventSelectors: [{ readWriteType: 'WriteOnly' }] })]);
          await h.archiver.onAssigned([tp()]);
          let offset = 0;
          for (const step of steps) {
            h.commit(await h.archiver.processBatch(range(offset, offset + step.size - 1), context()));
            offset += step.size;
            const existing = h.catalog.get(step.target);
            if (step.change === 'add') await h.catalog.put(startedAt(step.target, offset));
            else if (step.change === 'stop' && existing?.isLogging) await h.catalog.put(stoppedAt(existing, offset));
            else if (step.change === 'delete') await h.catalog.delete(step.target);
            else if (step.change === 'select') await h.catalog.put(startedAt(step.target, offset, { eventSelectors: [{ readWriteType: 'ReadOnly' }] }));
            if (step.tick) h.commit(await h.archiver.flush(tp(), 'tick'));
          }
          h.commit(await h.archiver.flush(tp(), 'shutdown'));
          expect(idsOf(h, 'stay')).toEqual(seq(0, offset - 1));
          expect(idsOf(h, 'writes')).toEqual(seq(0, offset - 1).filter((i) => i % 2 === 1));
          // The trails that came and went: never an event twice.
          for (const name of ['xxx', 'yyy']) expect(new Set(idsOf(h, name)).size).toBe(idsOf(h, name).length);
          expect(h.archiver.heldFrom(tp())).toBeUndefined();
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a trail whose bucket refuses its files holds them and reports the code, while the other trails go on', async () => {
    const h = harness([configured('broken'), configured('stay')]);
    await h.archiver.onAssigned([tp()]);
    h.commit(await h.archiver.processBatch(range(0, 2), context()));
    h.failures.set('broken-bucket', Object.assign(new Error('The specified bucket does not exist'), { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }));
    h.clock.now += 61_000;
    // A batch (which waits as long as S3 needs for the others) does not wait for the refused trail.
    const delivered = h.commit(await h.archiver.processBatch(range(3, 4), context()));
    expect(delivered.map((d) => d.trailName)).toEqual(['stay']);
    expect(h.activity).toContainEqual({ trail: 'broken', kind: 'LOG', ok: false, code: 'NoSuchBucket' });
    expect(h.activity).toContainEqual({ trail: 'stay', kind: 'LOG', ok: true });
    // Nothing of the refused trail is lost: the commit stays at its first record.
    expect(h.archiver.heldFrom(tp())).toBe(0n);
    h.failures.clear();
    // Tried again after a backoff, not at once.
    h.commit(await h.archiver.flush(tp(), 'tick'));
    expect(idsOf(h, 'broken')).toEqual([]);
    h.clock.now += 3000;
    h.commit(await h.archiver.flush(tp(), 'tick'));
    expect(h.activity.at(-1)).toEqual({ trail: 'broken', kind: 'LOG', ok: true });
    // The file closed by age in that batch, with the records it had taken by then.
    expect(idsOf(h, 'broken')).toEqual(seq(0, 4));
    h.commit(await h.archiver.flush(tp(), 'shutdown'));
    expect(idsOf(h, 'broken')).toEqual(seq(0, 4));
    expect(idsOf(h, 'stay')).toEqual(seq(0, 4));
    expect(h.archiver.heldFrom(tp())).toBeUndefined();
  });

  it('past its share of memory, a refused trail holds up the batches again (backpressure), so memory stays bounded', async () => {
    const h = harness([configured('broken'), configured('stay')], undefined, 1);
    await h.archiver.onAssigned([tp()]);
    h.commit(await h.archiver.processBatch(range(0, 2), context()));
    const refusal = Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    h.failures.set('broken-bucket', refusal);
    h.clock.now += 61_000;
    // The first refusal: the batch goes on without it.
    h.commit(await h.archiver.processBatch(range(3, 4), context()));
    h.clock.now += 61_000;
    // Now over its share: the next batch waits until the bucket takes the files.
    let done = false;
    const batch = h.archiver.processBatch(range(5, 6), context()).then((work) => {
      done = true;
      return work;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(done).toBe(false);
    h.failures.clear();
    h.commit(await batch);
    expect(idsOf(h, 'broken')).toEqual(seq(0, 4));
  });
});
