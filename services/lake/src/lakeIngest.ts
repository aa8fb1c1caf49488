import { toCloudTrailRecord, writeRecordJson } from '@opentrail/cloudtrail';
import { encodeLakeParquet, lakeObjectKey, toLakeRow, type EventDataStoreMatcher, type LakeRow } from '@opentrail/lake';
import type { Logger } from '@opentrail/observability';
import { deadLetterMessage, failureDetail, PROCESSING_FAILED, retry, RetryAbortedError, type BatchContext, type InputRecord, type OutputMessage, type PartitionHandler, type TopicPartition, type Work } from '@opentrail/runtime';
import type { EnrichedEvent } from '@opentrail/serde';
import type { LakeMetrics } from './metrics.js';
import type { SegmentStore } from './segmentStore.js';

/**
 * The lake service's handler: every enriched event goes, once, into the table of each event data
 * store that selects it (the stores' selectors: the trails' engine), as rows of Parquet files in S3.
 *
 * Exactly once, across crashes and rebalances, without a state topic:
 * - A partition's records are cut into segments, contiguous offset ranges, by size and age. Every
 *   record belongs to exactly one segment, selected by a store or not, so segment bounds never
 *   depend on which stores exist.
 * - A segment's files are keyed by (store, day, partition, first offset of the segment)
 *   (lakeObjectKey): the same segment always writes the same keys.
 * - Before any of its files, the segment's manifest ({first, last}) is stored. Whoever reads the
 *   partition again from a segment's first offset finds the manifest and closes the segment at the
 *   same last offset, so it rebuilds the same files and overwrites them: nothing twice, whatever
 *   the roll timing of the second run. Manifests are looked for from the committed offset onward
 *   until the first segment without one: the earlier run sealed its segments in order, so none lies
 *   beyond that.
 * - Offsets are committed only up to the first offset of the oldest segment not yet durable
 *   (heldFrom), so nothing is lost.
 */

export interface LakeIngestOptions {
  segments: Pick<SegmentStore, 'readManifest' | 'writeManifest' | 'putFile'>;
  /** The stores as they are now (recompiled by the caller whenever the catalog changes). */
  stores: () => EventDataStoreMatcher;
  prefix: string;
  deadLetterTopic: string;
  rollIntervalMs: number;
  maxRows: number;
  uploadConcurrency: number;
  /** Segments of one partition being stored at once; the next one waits. @default 2 */
  sealsInFlight?: number;
  /** Storing a segment failed for a reason other than a stop (the service stops itself: main.ts). */
  onWriteFailed?: (err: unknown) => void;
  metrics: LakeMetrics;
  logger: Logger;
  now?: () => number;
}

interface Segment {
  first: bigint;
  last: bigint;
  /** Set when a manifest fixed this segment's end: it closes there and nowhere else. */
  fixedLast?: bigint;
  openedAtMs: number;
  /** Rows by `<storeId>/<day>`, in offset order. */
  files: Map<string, { storeId: string; day: string; rows: LakeRow[]; timestamps: number[] }>;
  rows: number;
}

interface Seal {
  first: bigint;
  done: Promise<void>;
  settled: boolean;
  abandoned: boolean;
}

interface PartitionState {
  segment?: Segment;
  /** Until the first segment without a manifest, manifests of an earlier owner may exist. */
  lookForManifests: boolean;
  seals: Seal[];
  /** The next offset not yet taken: a batch retried after a failed call skips what it already took. */
  nextOffset?: bigint;
}

/** Dead-letter reasons the lake adds to the runtime's. */
export const LAKE_DLQ_REASONS = {
  /** The event has no eventTime a day partition can be named by. */
  undated: 'LAKE_EVENT_UNDATED',
} as const;

export class LakeIngest implements PartitionHandler<EnrichedEvent> {
  private readonly partitions = new Map<number, PartitionState>();
  private readonly now: () => number;

  constructor(private readonly o: LakeIngestOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Rows held in open segments, all partitions (a gauge). */
  get bufferedRows(): number {
    let n = 0;
    for (const p of this.partitions.values()) n += p.segment?.rows ?? 0;
    return n;
  }

  onAssigned(partitions: TopicPartition[]): void {
    for (const p of partitions) this.partitions.set(p.partition, { lookForManifests: true, seals: [] });
  }

  onRevoked(partitions: TopicPartition[]): void {
    // Seals on their way may still land: the next owner rebuilds the same files under the same keys.
    for (const p of partitions) this.partitions.delete(p.partition);
  }

  heldFrom(partition: TopicPartition): bigint | undefined {
    const state = this.partitions.get(partition.partition);
    if (!state) return undefined;
    const seal = state.seals.find((s) => !s.settled || s.abandoned);
    return seal?.first ?? state.segment?.first;
  }

  async processBatch(records: InputRecord<EnrichedEvent>[], context: BatchContext): Promise<Work | void> {
    const state = this.stateOf(context.partition);
    const outputs: OutputMessage[] = [];
    const matcher = this.o.stores();
    for (const record of records) {
      const offset = BigInt(record.offset);
      if (state.nextOffset !== undefined && offset < state.nextOffset) continue;
      if (!state.segment) await this.open(state, offset, context);
      const segment = state.segment!;
      segment.last = offset;
      this.add(segment, record, matcher, outputs);
      state.nextOffset = offset + 1n;
      const fixed = segment.fixedLast;
      if (fixed !== undefined ? offset >= fixed : segment.rows >= this.o.maxRows) {
        if (fixed !== undefined && offset > fixed) this.o.logger.warn({ partition: context.partition, first: segment.first.toString(), last: fixed.toString(), offset: record.offset }, 'the manifest\'s last offset was not read again; the segment closes past it');
        await this.seal(state, context, fixed !== undefined ? 'replay' : 'size');
      }
    }
    if (state.segment && state.segment.fixedLast === undefined && this.now() - state.segment.openedAtMs >= this.o.rollIntervalMs) await this.seal(state, context, 'age');
    this.collect(state);
    return { outputs };
  }

  async flush(partition: TopicPartition, reason: 'tick' | 'shutdown'): Promise<Work | void> {
    const state = this.partitions.get(partition.partition);
    if (!state) return;
    const segment = state.segment;
    // A segment a manifest fixed waits for its last record, which the partition still holds.
    if (segment && segment.fixedLast === undefined && (reason === 'shutdown' || this.now() - segment.openedAtMs >= this.o.rollIntervalMs)) {
      const context: BatchContext = { ...partition, highWatermark: '-1', heartbeat: async () => undefined, signal: new AbortController().signal };
      await this.seal(state, context, reason === 'shutdown' ? 'shutdown' : 'age');
    }
    if (reason === 'shutdown') await Promise.all(state.seals.map((s) => s.done));
    this.collect(state);
  }

  private stateOf(partition: number): PartitionState {
    let state = this.partitions.get(partition);
    if (!state) this.partitions.set(partition, (state = { lookForManifests: true, seals: [] }));
    return state;
  }

  private async open(state: PartitionState, first: bigint, context: BatchContext): Promise<void> {
    const segment: Segment = { first, last: first, openedAtMs: this.now(), files: new Map(), rows: 0 };
    if (state.lookForManifests) {
      const manifest = await this.s3(() => this.o.segments.readManifest(context.partition, first, context.signal), context, 'reading a segment manifest');
      if (manifest) {
        segment.fixedLast = manifest.last;
        this.o.metrics.segmentsReplayed.inc();
      } else state.lookForManifests = false;
    }
    state.segment = segment;
  }

  private add(segment: Segment, record: InputRecord<EnrichedEvent>, matcher: EventDataStoreMatcher, outputs: OutputMessage[]): void {
    const { event, enrichment } = record.value;
    let stores;
    let row: LakeRow;
    try {
      stores = matcher.select(event, enrichment.service?.readOnly ?? null);
      if (stores.length === 0) return;
      // eventjson is the record exactly as the trails' log files hold it.
      row = toLakeRow(toCloudTrailRecord(event), { eventJson: writeRecordJson(event) });
    } catch (err) {
      // The conversion reads nothing but the record: what it throws is this record's doing.
      this.deadLetter(record, PROCESSING_FAILED, failureDetail(err), outputs);
      return;
    }
    const day = row.eventdate;
    if (day === null) {
      this.deadLetter(record, LAKE_DLQ_REASONS.undated, 'the event has no eventTime to file it under', outputs);
      return;
    }
    const timestamp = Number(record.timestamp);
    for (const store of stores) {
      const key = `${store.id}/${day}`;
      let file = segment.files.get(key);
      if (!file) segment.files.set(key, (file = { storeId: store.id, day, rows: [], timestamps: [] }));
      file.rows.push(row);
      file.timestamps.push(timestamp);
      segment.rows++;
    }
  }

  private deadLetter(record: InputRecord<EnrichedEvent>, reason: string, detail: string, outputs: OutputMessage[]): void {
    this.o.metrics.refused.inc({ reason });
    outputs.push({
      topic: this.o.deadLetterTopic,
      ...deadLetterMessage({ key: record.key, value: record.raw ?? null, headers: record.headers, offset: record.offset, timestamp: record.timestamp }, { topic: record.topic, partition: record.partition, service: 'lake' }, { reason, detail }),
    });
  }

  /** Closes the open segment and starts storing it; waits first while the partition has too many on their way. */
  private async seal(state: PartitionState, context: BatchContext, reason: string): Promise<void> {
    const segment = state.segment!;
    state.segment = undefined;
    this.o.metrics.segmentsSealed.inc({ reason });
    const limit = Math.max(1, this.o.sealsInFlight ?? 2);
    while (state.seals.filter((s) => !s.settled).length >= limit) await state.seals.find((s) => !s.settled)!.done;
    const seal: Seal = { first: segment.first, done: Promise.resolve(), settled: false, abandoned: false };
    seal.done = this.store(segment, context).then(
      () => {
        seal.settled = true;
      },
      (err: unknown) => {
        seal.settled = true;
        seal.abandoned = true;
        if (!(err instanceof RetryAbortedError) && !context.signal.aborted) {
          this.o.logger.error({ err, partition: context.partition, first: segment.first.toString() }, 'storing a segment failed; its offsets stay uncommitted and the partition is re-read by its next owner');
          this.o.onWriteFailed?.(err);
        }
      },
    );
    state.seals.push(seal);
  }

  /** Manifest first (unless a manifest fixed the segment), then every file. */
  private async store(segment: Segment, context: BatchContext): Promise<void> {
    const end = this.o.metrics.sealSeconds.startTimer();
    const { segments, metrics } = this.o;
    // Even a segment without files stores its manifest: a later owner must close it where this one
    // did, or its next segment would start elsewhere and miss the manifest of the one that followed.
    if (segment.fixedLast === undefined) {
      await this.s3(() => segments.writeManifest(context.partition, { first: segment.first, last: segment.last }, context.signal), context, 'storing a segment manifest');
    }
    const files = [...segment.files.values()];
    let next = 0;
    const upload = async () => {
      while (next < files.length) {
        const file = files[next++]!;
        const bytes = encodeLakeParquet(file.rows);
        const key = lakeObjectKey({ prefix: this.o.prefix, storeId: file.storeId, day: file.day, partition: context.partition, firstOffset: segment.first });
        await this.s3(() => segments.putFile(key, bytes, context.signal), context, 'storing a Parquet file');
        metrics.filesWritten.inc();
        metrics.bytesWritten.inc(bytes.length);
        metrics.rowsWritten.inc(file.rows.length);
        const durableAt = Date.now();
        for (const ts of file.timestamps) if (ts > 0) metrics.ingestLatency.observe(Math.max(0, durableAt - ts) / 1000);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.uploadConcurrency, files.length) }, upload));
    end();
  }

  /** The settled seals at the front leave the queue (an abandoned one stays: its offsets stay held). */
  private collect(state: PartitionState): void {
    while (state.seals.length > 0 && state.seals[0]!.settled && !state.seals[0]!.abandoned) state.seals.shift();
  }

  /** An S3 call, retried for as long as S3 fails (an outage is infrastructure); the stop ends the wait. */
  private async s3<T>(call: () => Promise<T>, context: BatchContext, what: string): Promise<T> {
    try {
      return await retry(call, {
        retries: Infinity,
        initialDelayMs: 200,
        maxDelayMs: 5000,
        signal: context.signal,
        onRetry: (err, attempt, delayMs) => {
          this.o.metrics.s3Retries.inc();
          if (attempt === 1 || attempt % 10 === 0) this.o.logger.warn({ err, attempt, delayMs, partition: context.partition }, `${what} failed; retrying`);
          void context.heartbeat().catch(() => undefined);
        },
      });
    } catch (err) {
      throw err instanceof RetryAbortedError ? err.lastError : err;
    }
  }
}
