import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { KMSClient } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { LOG_FILE_KEY_PATTERN, toApiCallEvent, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { createLogger, ServiceMetrics } from '@opentrail/observability';
import type { BatchContext, InputRecord, OutputMessage } from '@opentrail/runtime';
import type { ArchiverState, AvroSerde, Delivery, EnrichedEvent } from '@opentrail/serde';
import { parseTrail, type TrailInput } from '@opentrail/trails';
import { Archiver } from '../src/archiver.js';
import { staticTrails } from '../src/liveTrails.js';
import type { HighWaterMarks } from '../src/highWaterMarks.js';
import type { LogFileStore, ObjectToStore } from '@opentrail/logfiles';
import { archiverMetrics } from '../src/metrics.js';

const TOPIC = 'events.enriched';
const ACCOUNT = '111122223333';

function record(i: number, overrides: Partial<CloudTrailRecord> = {}): CloudTrailRecord {
  const account = overrides.recipientAccountId ?? ACCOUNT;
  return {
    eventVersion: '1.09',
    userIdentity: { type: 'IAMUser', accountId: account, arn: `arn:aws:iam::${account}:user/u` },
    eventTime: new Date(Date.UTC(2026, 10, 1, 0, 0, i % 3600)).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'ec2.amazonaws.com',
    eventName: 'RunInstances',
    awsRegion: 'us-east-1',
    eventID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    eventType: 'AwsApiCall',
    readOnly: false,
    managementEvent: true,
    eventCategory: 'Management',
    recipientAccountId: account,
    requestParameters: { n: i, pad: 'x'.repeat(200 + (i % 50)) },
    ...overrides,
  };
}

function input(partition: number, offset: number, r: CloudTrailRecord): InputRecord<EnrichedEvent> {
  return {
    topic: TOPIC,
    partition,
    offset: String(offset),
    key: null,
    value: { event: toApiCallEvent(r), enrichment: { enrichedAt: 1_800_000_000_000, identity: null, geo: null, service: null } },
    headers: {},
    timestamp: String(1_800_000_000_000 + offset),
    bytes: 300,
  };
}

const context = (partition: number): BatchContext => ({ topic: TOPIC, partition, highWatermark: '0', heartbeat: async () => undefined, signal: new AbortController().signal });

interface Harness {
  archiver: Archiver;
  stored: ObjectToStore[];
  clock: { now: number };
  marks: Map<string, bigint>;
  fail: { next: number };
  deliveries: (outputs: OutputMessage[] | undefined) => Delivery[];
}

function harness(trails: TrailInput[], options: { memoryBudgetBytes?: number; compressChunkBytes?: number } = {}): Harness {
  const stored: ObjectToStore[] = [];
  const clock = { now: 1_900_000_000_000 };
  const marks = new Map<string, bigint>();
  const fail = { next: 0 };
  const store = {
    store: async (object: ObjectToStore) => {
      if (fail.next > 0) {
        fail.next--;
        throw new Error('S3 says no');
      }
      stored.push(object);
    },
  };
  const highWaterMarks = {
    get: (partition: number, key: string) => marks.get(`${partition}|${key}`) ?? -1n,
    restore: async () => [],
    message: (state: ArchiverState): OutputMessage => ({ topic: 'state', key: state.trailName, value: Buffer.from(JSON.stringify(state)) }),
  };
  const deliverySerde = { encode: (d: Delivery) => Buffer.from(JSON.stringify(d)) };
  const metrics = archiverMetrics(new ServiceMetrics(`archivertest${Math.random().toString(36).slice(2, 8)}`), { openGroups: () => 0, bufferedBytes: () => 0, openFiles: () => 0 });
  const archiver = new Archiver({
    sourceTopic: TOPIC,
    deliveriesTopic: 'deliveries',
    consumerGroup: 'g',
    trails: staticTrails(trails.map(parseTrail)),
    store: store as unknown as LogFileStore,
    kms: {} as KMSClient,
    marks: highWaterMarks as unknown as HighWaterMarks,
    deliverySerde: deliverySerde as unknown as AvroSerde<Delivery>,
    metrics,
    logger: createLogger('archivertest', 'silent'),
    instance: 'test',
    memoryBudgetBytes: options.memoryBudgetBytes ?? 64 * 1024 * 1024,
    compressChunkBytes: options.compressChunkBytes ?? 64 * 1024,
    compressionLevel: 6,
    uploadConcurrency: 4,
    tickUploadBudgetMs: 1000,
    shutdownUploadBudgetMs: 1000,
    now: () => clock.now,
  });
  const deliveries = (outputs: OutputMessage[] | undefined) => (outputs ?? []).filter((o) => o.topic === 'deliveries').map((o) => JSON.parse((o.value as Buffer).toString()) as Delivery);
  return { archiver, stored, clock, marks, fail, deliveries };
}

const trail = (overrides: Partial<TrailInput> = {}): TrailInput => ({ name: 'audit', accountId: '999988887777', homeRegion: 'us-east-1', bucket: 'audit-bucket', roll: { intervalSeconds: 5 }, ...overrides });
const tp = (partition: number) => ({ topic: TOPIC, partition });
const contents = (o: ObjectToStore) => JSON.parse(gunzipSync(o.body).toString()) as { Records: CloudTrailRecord[] };

describe('Archiver', () => {
  it('groups by (trail, account, region), holds offsets until stored, rolls by age on a tick', async () => {
    const h = harness([trail(), trail({ name: 'eu-only', regions: ['eu-west-1'] })]);
    await h.archiver.onAssigned([tp(0)]);
    const batch = [input(0, 10, record(1)), input(0, 11, record(2, { awsRegion: 'eu-west-1' })), input(0, 12, record(3)), input(0, 13, record(4, { readOnly: true, eventCategory: 'Data', managementEvent: false }))];
    expect(await h.archiver.processBatch(batch, context(0))).toBeUndefined();
    // Nothing stored yet: the commit stays at the first record held in memory.
    expect(h.archiver.heldFrom(tp(0))).toBe(10n);
    expect(await h.archiver.flush(tp(0), 'tick')).toBeUndefined();

    h.clock.now += 5000;
    const work = await h.archiver.flush(tp(0), 'tick');
    expect(h.stored.map((o) => o.key).sort()).toEqual([
      expect.stringMatching(/^AWSLogs\/111122223333\/CloudTrail\/eu-west-1\/2027\/01\/15\/111122223333_CloudTrail_eu-west-1_20270115T0800Z_[A-Za-z0-9]{16}\.json\.gz$/),
      expect.stringMatching(/^AWSLogs\/111122223333\/CloudTrail\/eu-west-1\//),
      expect.stringMatching(/^AWSLogs\/111122223333\/CloudTrail\/us-east-1\//),
    ]);
    for (const o of h.stored) expect(LOG_FILE_KEY_PATTERN.test(o.key)).toBe(true);
    const usEast = h.stored.find((o) => o.key.includes('us-east-1'))!;
    expect(contents(usEast).Records.map((r) => r.eventID)).toEqual([record(1).eventID, record(3).eventID]);
    // One delivery record and one high-water mark per file, in the same hand-over.
    const deliveries = h.deliveries(work?.outputs);
    expect(deliveries).toHaveLength(3);
    expect(work!.outputs!.filter((o) => o.topic === 'state')).toHaveLength(3);
    expect(deliveries.find((d) => d.key === usEast.key)).toMatchObject({ trailName: 'audit', accountId: ACCOUNT, region: 'us-east-1', recordCount: 2, source: { topic: TOPIC, partition: 0, firstOffset: 10, lastOffset: 12 } });
    expect(h.archiver.heldFrom(tp(0))).toBeUndefined();
  });

  it('gives a file the same key when the same records are processed again (deterministic keys)', async () => {
    const keys: string[] = [];
    for (let run = 0; run < 2; run++) {
      const h = harness([trail()]);
      h.clock.now += run * 3_600_000; // another day, another wall clock: same key
      await h.archiver.onAssigned([tp(1)]);
      await h.archiver.processBatch([input(1, 40, record(1)), input(1, 41, record(2))], context(1));
      await h.archiver.flush(tp(1), 'shutdown');
      keys.push(h.stored[0]!.key);
    }
    expect(keys[0]).toBe(keys[1]);
  });

  it('skips records at or below the group\'s high-water mark', async () => {
    const h = harness([trail()]);
    h.marks.set('0|audit|LOG|111122223333|us-east-1', 11n);
    await h.archiver.onAssigned([tp(0)]);
    await h.archiver.processBatch([10, 11, 12, 13].map((o) => input(0, o, record(o))), context(0));
    expect(h.archiver.heldFrom(tp(0))).toBe(12n);
    await h.archiver.flush(tp(0), 'shutdown');
    expect(contents(h.stored[0]!).Records.map((r) => r.eventID)).toEqual([record(12).eventID, record(13).eventID]);
  });

  it('rolls by size, stores one file per group until its delivery commits, and holds the rest', async () => {
    const h = harness([trail({ roll: { intervalSeconds: 60, maxCompressedBytes: 16 * 1024 } })], { compressChunkBytes: 4096 });
    await h.archiver.onAssigned([tp(0)]);
    // Incompressible records: ~70 KB compressed in all, several files' worth in one batch.
    const big = (i: number) => record(i, { requestParameters: { blob: randomBytes(600).toString('base64') } });
    const batch = Array.from({ length: 80 }, (_, i) => input(0, 100 + i, big(i)));
    const work = await h.archiver.processBatch(batch, context(0));
    expect(h.stored).toHaveLength(1);
    expect(h.deliveries(work?.outputs)).toHaveLength(1);
    const first = h.deliveries(work?.outputs)[0]!;
    // The next files are closed but held: the commit stays at the first of them.
    expect(h.archiver.heldFrom(tp(0))).toBe(BigInt(first.source!.lastOffset + 1));
    // Before the commit nothing more is stored, whatever the tick.
    expect(await h.archiver.flush(tp(0), 'tick')).toBeUndefined();
    let rounds = 0;
    while (h.archiver.heldFrom(tp(0)) !== undefined && rounds++ < 50) {
      h.archiver.onCommitted(tp(0));
      h.clock.now += 61_000;
      await h.archiver.flush(tp(0), 'tick');
    }
    expect(h.stored.length).toBeGreaterThan(3);
    for (const o of h.stored) expect(o.body.length).toBeLessThanOrEqual(16 * 1024);
    expect(h.stored.flatMap((o) => contents(o).Records.map((r) => r.eventID))).toEqual(batch.map((b) => b.value.event.eventID));
  });

  it('takes a retried batch once: a failed call keeps what it took, and what it stored', async () => {
    const h = harness([trail({ roll: { intervalSeconds: 1 } })]);
    await h.archiver.onAssigned([tp(0)]);
    await h.archiver.processBatch([input(0, 1, record(1))], context(0));
    h.clock.now += 2000;
    h.fail.next = 1;
    const batch = [input(0, 1, record(1)), input(0, 2, record(2)), input(0, 3, record(3))];
    await expect(h.archiver.processBatch(batch.slice(1), context(0))).rejects.toThrow('S3 says no');
    // The runtime hands the batch over again.
    const work = await h.archiver.processBatch(batch.slice(1), context(0));
    expect(h.deliveries(work?.outputs)).toHaveLength(1);
    h.archiver.onCommitted(tp(0));
    await h.archiver.flush(tp(0), 'shutdown');
    expect(h.stored.flatMap((o) => contents(o).Records.map((r) => r.eventID))).toEqual(batch.map((b) => b.value.event.eventID));
  });

  it('keeps memory within its budget with 10,000 open groups', async () => {
    const budget = 4 * 1024 * 1024;
    const h = harness([trail({ roll: { intervalSeconds: 3600 } })], { memoryBudgetBytes: budget });
    await h.archiver.onAssigned([tp(0)]);
    let offset = 0;
    for (let round = 0; round < 2; round++) {
      const batch = Array.from({ length: 10_000 }, (_, g) => input(0, offset++, record(offset, { recipientAccountId: String(300000000000 + g), userIdentity: { type: 'Root', accountId: String(300000000000 + g) } })));
      await h.archiver.processBatch(batch, context(0));
      expect(h.archiver.openGroups).toBeGreaterThan(0);
      expect(h.archiver.bufferedBytes).toBeLessThanOrEqual(budget);
      h.archiver.onCommitted(tp(0));
    }
    expect(h.stored.length).toBeGreaterThan(0);
    await h.archiver.flush(tp(0), 'shutdown');
  });

  it('drops a revoked partition\'s state, but not the state of a newer assignment of it', async () => {
    const h = harness([trail()]);
    await h.archiver.onAssigned([tp(2)]);
    await h.archiver.processBatch([input(2, 5, record(5))], context(2));
    expect(h.archiver.bufferedBytes).toBeGreaterThan(0);
    // Re-assigned before the old owner let go: the late revocation belongs to the old one.
    await h.archiver.onAssigned([tp(2)]);
    expect(h.archiver.bufferedBytes).toBe(0);
    await h.archiver.processBatch([input(2, 5, record(5))], context(2));
    h.archiver.onRevoked([tp(2)]);
    expect(h.archiver.heldFrom(tp(2))).toBe(5n);
    h.archiver.onRevoked([tp(2)]);
    expect(h.archiver.heldFrom(tp(2))).toBeUndefined();
    expect(h.archiver.bufferedBytes).toBe(0);
  });

  it('writes Insights records to CloudTrail-Insight files, and enrichment only for trails that ask', async () => {
    const h = harness([trail({ insightSelectors: [{ insightType: 'ApiCallRateInsight' }] }), trail({ name: 'enriched', includeEnrichment: true })]);
    await h.archiver.onAssigned([tp(0)]);
    const insight = record(9, { eventType: 'AwsCloudTrailInsight', eventCategory: 'Insight', insightDetails: { state: 'Start', insightType: 'ApiCallRateInsight' } });
    delete insight.eventSource;
    delete insight.eventName;
    delete insight.userIdentity;
    await h.archiver.processBatch([input(0, 1, record(1)), input(0, 2, insight)], context(0));
    await h.archiver.flush(tp(0), 'shutdown');
    const insightFile = h.stored.find((o) => o.key.includes('/CloudTrail-Insight/'))!;
    expect(insightFile.key).toMatch(/_CloudTrail-Insight_us-east-1_/);
    expect(contents(insightFile).Records).toEqual([insight]);
    const plain = h.stored.filter((o) => !o.key.includes('Insight'));
    expect(plain).toHaveLength(2);
    const withEnrichment = plain.map(contents).find((f) => 'opentrailEnrichment' in f.Records[0]!)!;
    expect(withEnrichment.Records[0]).toEqual({ ...record(1), opentrailEnrichment: { enrichedAt: new Date(1_800_000_000_000).toISOString(), identity: null, geo: null, service: null } });
    expect(plain.map(contents).find((f) => !('opentrailEnrichment' in f.Records[0]!))!.Records).toEqual([record(1)]);
  });
});
