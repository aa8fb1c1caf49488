/**
 * LakeIngest's exactly-once bookkeeping against an S3 held in memory (the real proof is
 * test/lake/ingest.test.ts: SIGKILL mid-ingest against Kafka and moto). A crash leaves segments
 * stored whose offsets were never committed; the next owner reads the partition again from the
 * committed offset with other timing, and must rebuild the same segments, so that every event is
 * in its store's table once.
 */
import { describe, expect, it } from 'vitest';
import { toApiCallEvent } from '@opentrail/cloudtrail';
import { compileEventDataStores, decodeLakeParquet, eventDataStoreSchema } from '@opentrail/lake';
import { createLogger, ServiceMetrics } from '@opentrail/observability';
import type { BatchContext, InputRecord } from '@opentrail/runtime';
import type { EnrichedEvent } from '@opentrail/serde';
import { TrafficGenerator } from '@opentrail/testing';
import { LakeIngest } from '../src/lakeIngest.js';
import { lakeMetrics } from '../src/metrics.js';
import type { SegmentManifest } from '../src/segmentStore.js';

/** S3 as two maps: manifests by (partition, first offset), files by key (their eventIDs). */
class MemorySegments {
  readonly manifests = new Map<string, SegmentManifest>();
  readonly files = new Map<string, string[]>();
  async readManifest(partition: number, first: bigint) {
    return this.manifests.get(`${partition}/${first}`);
  }
  async writeManifest(partition: number, manifest: SegmentManifest) {
    this.manifests.set(`${partition}/${manifest.first}`, manifest);
  }
  async putFile(key: string, bytes: Uint8Array) {
    this.files.set(key, decodeLakeParquet(bytes).map((r) => r.eventid!));
  }
}

const store = { definition: eventDataStoreSchema.parse({ id: '0233062e-51e6-4d18-8fec-4d6ae1a8cd2b', name: 'all', accountId: '111122223333', homeRegion: 'us-east-1', organizationId: 'o-exampleorgid1', retentionPeriodDays: 366 }), status: 'ENABLED' as const, tags: [], createdAt: 0, updatedAt: 0 };
const matcher = compileEventDataStores([store]);
const traffic = new TrafficGenerator({ seed: 11, clock: () => new Date() });
const RECORDS: InputRecord<EnrichedEvent>[] = Array.from({ length: 400 }, (_, i) => ({
  topic: 'enriched',
  partition: 0,
  offset: String(i),
  key: null,
  value: { event: toApiCallEvent(traffic.next()), enrichment: {} } as unknown as EnrichedEvent,
  headers: {},
  timestamp: String(Date.now()),
  bytes: 100,
  raw: Buffer.from('x'),
}));
const range = (from: number, to: number) => RECORDS.slice(from, to);
const context: BatchContext = { topic: 'enriched', partition: 0, highWatermark: '0', heartbeat: async () => undefined, signal: new AbortController().signal };

function ingest(segments: MemorySegments, clock: { now: number }) {
  return new LakeIngest({
    segments,
    stores: () => matcher,
    prefix: 'lake',
    deadLetterTopic: 'dlq',
    rollIntervalMs: 1000,
    maxRows: 1_000_000,
    uploadConcurrency: 2,
    metrics: lakeMetrics(new ServiceMetrics('lake')),
    logger: createLogger('lake', 'silent'),
    now: () => clock.now,
  });
}

async function settle(handler: LakeIngest) {
  await handler.flush({ topic: 'enriched', partition: 0 }, 'shutdown');
}

/** eventID → in how many files of the table. */
function copies(segments: MemorySegments): Map<string, number> {
  const counts = new Map<string, number>();
  for (const ids of segments.files.values()) for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

const selected = (from: number, to: number) => range(from, to).filter((r) => matcher.select(r.value.event).length > 0).map((r) => r.value.event.eventID);

describe('LakeIngest', () => {
  it('a replay from the committed offset, with other timing, rebuilds the stored segments: every event once', async () => {
    const s3 = new MemorySegments();
    const clock = { now: 0 };
    // The first owner closes segments by age: [0, 149] and [150, 299], then dies before any commit.
    const first = ingest(s3, clock);
    first.onAssigned([{ topic: 'enriched', partition: 0 }]);
    await first.processBatch(range(0, 100), context);
    clock.now = 1500;
    await first.processBatch(range(100, 150), context);
    await first.processBatch(range(150, 300), context);
    clock.now = 3000;
    await first.flush({ topic: 'enriched', partition: 0 }, 'tick');
    await settle(first);
    expect([...s3.manifests.values()].map((m) => [m.first, m.last])).toEqual([
      [0n, 149n],
      [150n, 299n],
    ]);

    // The next owner gets everything from offset 0 in one batch, at once, and 100 more.
    const next = ingest(s3, { now: 10_000 });
    next.onAssigned([{ topic: 'enriched', partition: 0 }]);
    await next.processBatch(range(0, 400), context);
    await settle(next);

    const counts = copies(s3);
    expect([...counts.values()].filter((n) => n > 1)).toEqual([]);
    expect([...counts.keys()].sort()).toEqual(selected(0, 400).sort());
    // Two manifests replayed, one new segment for the rest.
    expect([...s3.manifests.values()].map((m) => [m.first, m.last])).toEqual([
      [0n, 149n],
      [150n, 299n],
      [300n, 399n],
    ]);
  });

  it('holds a partition\'s offsets from its open segment, and from a segment until it is stored', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const s3 = new MemorySegments();
    const slow = Object.assign(Object.create(s3) as MemorySegments, {
      putFile: async (key: string, bytes: Uint8Array) => {
        await gate;
        await s3.putFile(key, bytes);
      },
    });
    const clock = { now: 0 };
    const handler = ingest(slow, clock);
    const p = { topic: 'enriched', partition: 0 };
    handler.onAssigned([p]);
    expect(handler.heldFrom(p)).toBeUndefined();
    await handler.processBatch(range(0, 50), context);
    expect(handler.heldFrom(p)).toBe(0n);
    clock.now = 2000;
    await handler.processBatch(range(50, 60), context);
    // Sealed by age, not yet stored: still held from 0.
    expect(handler.heldFrom(p)).toBe(0n);
    await handler.processBatch(range(60, 70), context);
    expect(handler.heldFrom(p)).toBe(0n);
    release();
    await handler.flush(p, 'shutdown');
    expect(handler.heldFrom(p)).toBeUndefined();
    expect([...copies(s3).keys()].sort()).toEqual(selected(0, 70).sort());
  });
});
