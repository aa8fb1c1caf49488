import type { KMSClient } from '@aws-sdk/client-kms';
import { deterministicUniqueString, eventAccountId, logFileKey, writeRecordJson } from '@opentrail/cloudtrail';
import { encryptEnvelope, LogFileBuilder, StaleOwnerError, type ClosedLogFile, type LogFileStore, type ObjectToStore, type Ownership, type RecordMeta } from '@opentrail/logfiles';
import type { Logger } from '@opentrail/observability';
import { failureDetail, InfrastructureError, RetryAbortedError, retry, type BatchContext, type InputRecord, type OutputMessage, type PartitionHandler, type RecordDeadLetter, type TopicPartition, type Work } from '@opentrail/runtime';
import type { AvroSerde, Delivery, EnrichedEvent, Enrichment } from '@opentrail/serde';
import type { ActivityReport, CompiledTrail } from '@opentrail/trails';
import { deliveryKey, deliveryRecord } from './deliveryRecord.js';
import { groupKey, type GroupKind, type HighWaterMarks } from './highWaterMarks.js';
import type { ArchiverMetrics } from './metrics.js';
import type { TrailSnapshot, TrailSource, TrailWindow } from './liveTrails.js';
import { shouldRollForAge, type RollReason } from './rollPolicy.js';

/**
 * The archiver's partition handler: routes each enriched event to the trails that select it, builds
 * one log file per (trail, kind, account, region) group, rolls it by size and age, stores it in S3
 * and hands the runtime one delivery record (plus the group's high-water mark) per stored file, to
 * produce in the same Kafka transaction as the input offset commit.
 *
 * Exactly once (architecture.md, Delivery semantics):
 * - a file's key derives from data: its date from the Kafka timestamp of its first record, its
 *   unique string from (trail, kind, account, region, topic, partition, first offset);
 * - offsets are committed only up to the first record still held in memory (`heldFrom`);
 * - each delivery commits the group's high-water mark with it; re-read records at or below it are
 *   skipped, so they rebuild the same files from the same first records;
 * - a group has at most one stored file whose delivery is not yet committed: after a crash, that
 *   file is the only object the next owner may rewrite (same key, its delivery record describing
 *   the final content), and conditional writes keep a stale owner from overwriting it again.
 */

export interface ArchiverOptions {
  sourceTopic: string;
  deliveriesTopic: string;
  consumerGroup: string;
  /** The trails, read afresh at the start of every batch and tick (LiveTrails follows the catalog). */
  trails: TrailSource;
  /** Told of every failed and successful attempt to store a log file (GetTrailStatus' delivery fields). */
  activity?: ActivityReport;
  store: LogFileStore;
  kms: KMSClient;
  marks: HighWaterMarks;
  deliverySerde: AvroSerde<Delivery>;
  metrics: ArchiverMetrics;
  logger: Logger;
  /** This process, in S3 ownership metadata. */
  instance: string;
  memoryBudgetBytes: number;
  compressChunkBytes: number;
  compressionLevel: number;
  uploadConcurrency: number;
  tickUploadBudgetMs: number;
  shutdownUploadBudgetMs: number;
  /** How long onAssigned waits for the high-water marks before leaving it to the first batch. @default 10000 */
  catchUpWaitMs?: number;
  /**
   * Bytes a partition may hold for groups whose bucket refuses their files before its batches wait
   * for them again (backpressure, as for an S3 outage), so memory stays bounded. @default memoryBudgetBytes / 4
   */
  refusedBudgetBytes?: number;
  now?: () => number;
}

/** A closed file waiting for S3. */
interface SealedFile {
  /** The trail as it was when the file closed: its bucket, prefix and encryption. */
  trail: CompiledTrail;
  file: ClosedLogFile;
  key: string;
  /** The object as stored (encrypted for CSE_KMS), prepared once so that retries send the same bytes. */
  object?: ObjectToStore;
  memory: number;
}

class Group {
  file: LogFileBuilder | undefined;
  readonly sealed: SealedFile[] = [];
  /** none, or a stored file's delivery is in the outbox (not yet handed over), or handed over and not yet committed. */
  commit: 'none' | 'outbox' | 'returned' = 'none';
  /** First offset of the stored file whose delivery is still in the outbox: still held. */
  outboxFirstOffset: bigint | undefined;
  /**
   * The trail's bucket or key refused the last attempt (no such bucket, access denied): the group's
   * files stay held (and the partition's commit with them), but no call waits for them before this.
   */
  refusedUntilMs = 0;
  refusals = 0;
  lastActiveMs: number;

  constructor(
    /** The trail's current definition; a change closes the open file first. */
    public trail: CompiledTrail,
    public revision: number,
    readonly kind: GroupKind,
    readonly accountId: string,
    readonly region: string,
    readonly markKey: string,
    /** Records at or below this offset are in a delivered file already. */
    public hwm: bigint,
    now: number,
  ) {
    this.lastActiveMs = now;
  }

  get idle(): boolean {
    return !this.file && this.sealed.length === 0 && this.commit === 'none';
  }

  heldFrom(): bigint | undefined {
    return this.outboxFirstOffset ?? this.sealed[0]?.file.firstOffset ?? this.file?.firstOffset;
  }
}

class PartitionState {
  /** groups[kind] by trail name, then by `<account>/<region>`. */
  readonly groups: [Map<string, Map<string, Group>>, Map<string, Map<string, Group>>] = [new Map(), new Map()];
  /** The trails this partition routes by: replaced between batches, never within one. */
  snapshot: TrailSnapshot | undefined;
  /** Groups holding something (an open file, stored or unstored closed files, an uncommitted delivery). */
  readonly active = new Set<Group>();
  /** Outputs of stored files not yet handed to the runtime (a call failed after storing them). */
  outbox: OutputMessage[] = [];
  outboxGroups: Group[] = [];
  /** Groups whose delivery was handed over and awaits the commit. */
  returned: Group[] = [];
  /** Marks of deliveries this owner handed over (the reader may not have read them back yet). */
  readonly marks = new Map<string, bigint>();
  /** The next offset not yet taken: a batch retried after a failed call skips what it already took. */
  nextOffset: bigint | undefined;
  ready: Promise<void>;
  isReady = false;
  superseded = false;
  lastEvictionMs: number;

  constructor(
    readonly partition: number,
    readonly owner: Ownership,
    now: number,
  ) {
    this.ready = Promise.resolve();
    this.lastEvictionMs = now;
  }
}

type Mode = { kind: 'patient'; context: BatchContext } | { kind: 'bounded'; budgetMs: number };

/** Idle groups (nothing held) are forgotten after this long; their marks come back from the state topic. */
const IDLE_GROUP_MS = 10 * 60_000;

/** Dates a Date can hold (ECMAScript: ±8.64e15 ms). */
const MAX_DATE_MS = 8.64e15;

/**
 * The time a record gives its file's key (the Kafka timestamp of its first record). A producer may
 * set any timestamp: one that is no date (none, or beyond ±275,760 years) gives way to the event
 * time, which validation has checked.
 */
function fileTimestamp(kafkaTimestamp: string, eventTimeMs: number): number {
  const ms = Number(kafkaTimestamp);
  return ms > 0 && ms <= MAX_DATE_MS ? ms : eventTimeMs;
}

function enrichmentJson(enrichment: Enrichment): string {
  return JSON.stringify({ ...enrichment, enrichedAt: new Date(enrichment.enrichedAt).toISOString() });
}

/** A record with the enricher's findings as one extra member (trails with includeEnrichment). */
function withEnrichment(recordJson: string, enrichment: Enrichment): string {
  return `${recordJson.slice(0, -1)}${recordJson.length > 2 ? ',' : ''}"opentrailEnrichment":${enrichmentJson(enrichment)}}`;
}

/** Longest wait between attempts at a group whose bucket refuses its files. */
const REFUSED_RETRY_MAX_MS = 30_000;

/**
 * An answer that says the trail is misconfigured rather than that S3 or KMS is unwell: the bucket
 * does not exist or refuses us (403, 404), the KMS key is missing, disabled or not ours to use.
 * Such a group must not hold up the other trails' deliveries (CloudTrail reports it as the trail's
 * LatestDeliveryError).
 */
export function isRefusal(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  const code = e?.Code ?? e?.name ?? '';
  if (status === 403 || status === 404) return true;
  return ['NoSuchBucket', 'AccessDenied', 'AllAccessDisabled', 'InvalidBucketName', 'PermanentRedirect', 'NotFoundException', 'DisabledException', 'AccessDeniedException', 'KMSInvalidStateException', 'InvalidKeyUsageException', 'KeyUnavailableException'].includes(code);
}

function inWindow(window: TrailWindow | undefined, timestampMs: number): boolean {
  return !window || ((window.from === undefined || timestampMs >= window.from) && (window.until === undefined || timestampMs <= window.until));
}

export class Archiver implements PartitionHandler<EnrichedEvent> {
  private readonly partitions = new Map<number, PartitionState>();
  /** Revocations still to come for partitions that were re-assigned before their old lane let go. */
  private readonly pendingRevocations = new Map<number, PartitionState[]>();
  private buffered = 0;
  private openFileCount = 0;
  private readonly now: () => number;

  constructor(private readonly options: ArchiverOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Bytes held for files not yet in S3 (all partitions). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  get openFiles(): number {
    return this.openFileCount;
  }

  get openGroups(): number {
    let n = 0;
    for (const ps of this.partitions.values()) n += ps.active.size;
    return n;
  }

  async onAssigned(partitions: TopicPartition[]): Promise<void> {
    for (const { partition } of partitions) {
      const now = this.now();
      const previous = this.partitions.get(partition);
      if (previous) {
        // The old lane has not let go yet: its revocation will come, and must not drop this state.
        this.supersede(previous);
        this.pendingRevocations.set(partition, [...(this.pendingRevocations.get(partition) ?? []), previous]);
      }
      const ps = new PartitionState(partition, { sinceMs: now, instance: this.options.instance }, now);
      this.partitions.set(partition, ps);
      ps.ready = this.loadMarks(ps);
      // Usually quick; if not, the first batch waits for it (and keeps the group membership alive).
      const waited = await Promise.race([ps.ready.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), this.options.catchUpWaitMs ?? 10_000).unref())]);
      if (!waited) this.options.logger.warn({ partition }, 'still reading the archiver state topic; the first batch will wait for it');
    }
  }

  private async loadMarks(ps: PartitionState): Promise<void> {
    await retry(() => this.options.marks.restore(ps.partition), {
      retries: Infinity,
      initialDelayMs: 500,
      maxDelayMs: 5000,
      onRetry: (err) => this.options.logger.warn({ err, partition: ps.partition }, 'reading the archiver state failed; retrying'),
    });
    ps.isReady = true;
  }

  onRevoked(partitions: TopicPartition[]): void {
    for (const { partition } of partitions) {
      const pending = this.pendingRevocations.get(partition);
      if (pending?.length) {
        // This revocation is that of an earlier ownership, already superseded.
        pending.shift();
        if (pending.length === 0) this.pendingRevocations.delete(partition);
        continue;
      }
      const ps = this.partitions.get(partition);
      if (!ps) continue;
      this.partitions.delete(partition);
      this.supersede(ps);
    }
  }

  /** Drops what a partition held: its next owner re-reads it from the committed offset. */
  private supersede(ps: PartitionState) {
    if (ps.superseded) return;
    ps.superseded = true;
    let files = 0;
    let records = 0;
    for (const g of ps.active) {
      if (g.file) {
        files++;
        records += g.file.records;
        this.buffered -= g.file.memoryBytes;
        this.openFileCount--;
        g.file = undefined;
      }
      for (const s of g.sealed) {
        files++;
        records += s.file.records;
        this.buffered -= s.memory;
      }
      g.sealed.length = 0;
    }
    ps.active.clear();
    if (files > 0) this.options.logger.info({ partition: ps.partition, files, records }, 'partition revoked: dropped its unstored files; its next owner re-reads them');
  }

  heldFrom(partition: TopicPartition): bigint | undefined {
    const ps = this.partitions.get(partition.partition);
    if (!ps) return undefined;
    let min: bigint | undefined;
    for (const g of ps.active) {
      const held = g.heldFrom();
      if (held !== undefined && (min === undefined || held < min)) min = held;
    }
    return min;
  }

  onCommitted(partition: TopicPartition): void {
    const ps = this.partitions.get(partition.partition);
    if (!ps) return;
    for (const g of ps.returned) {
      g.commit = 'none';
      if (g.idle) ps.active.delete(g);
    }
    ps.returned = [];
  }

  async processBatch(records: InputRecord<EnrichedEvent>[], context: BatchContext): Promise<Work | void> {
    const ps = this.partitions.get(context.partition);
    // Ownership, not data: retried (by then the rebalance has settled it), never dead-lettered.
    if (!ps) throw new InfrastructureError(`partition ${context.partition} is not assigned to this archiver`);
    // A newer owner rewrote one of this partition's files: it is theirs; the rebalance will follow.
    if (ps.superseded) throw new InfrastructureError(`partition ${context.partition} belongs to a newer owner`);
    if (!ps.isReady) await this.whileWaiting(context, ps.ready);
    const { metrics } = this.options;
    const now = this.now();
    const { matcher, windows } = this.refresh(ps);
    const deadLetters: RecordDeadLetter[] = [];
    for (const record of records) {
      const offset = BigInt(record.offset);
      if (ps.nextOffset !== undefined && offset < ps.nextOffset) continue;
      ps.nextOffset = offset + 1n;
      const { event, enrichment } = record.value;
      // Everything about the event is worked out before any file takes it: an event that defeats
      // it (issue 19, class 2) is dead-lettered whole, and no file holds half of it.
      let appends: { group: Group; text: string; bytes: number }[];
      let meta: RecordMeta;
      try {
        let trails = matcher.select(event, enrichment.service?.readOnly ?? null);
        const eventTimeMs = Date.parse(event.eventTime);
        meta = { offset, timestampMs: fileTimestamp(record.timestamp, eventTimeMs), eventTimeMs };
        if (windows.size > 0 && trails.length > 0) trails = trails.filter((t) => inWindow(windows.get(t.trail.name), meta.timestampMs));
        if (trails.length === 0) {
          metrics.eventsSkipped.inc({ reason: 'unselected' });
          continue;
        }
        const kind: GroupKind = event.eventType === 'AwsCloudTrailInsight' ? 'INSIGHT' : 'LOG';
        const accountId = eventAccountId(event);
        const scope = `${accountId}/${event.awsRegion}`;
        // Written once per event, shared by its trails; the free-form members are spliced in, never re-serialised.
        let json: string | undefined;
        let bytes = 0;
        appends = [];
        for (const trail of trails) {
          const group = this.group(ps, trail, kind, accountId, event.awsRegion, scope, now);
          if (offset <= group.hwm) {
            metrics.eventsSkipped.inc({ reason: 'delivered' });
            continue;
          }
          if (json === undefined) {
            json = writeRecordJson(event);
            bytes = Buffer.byteLength(json);
          }
          if (trail.trail.includeEnrichment) {
            const text = withEnrichment(json, enrichment);
            appends.push({ group, text, bytes: Buffer.byteLength(text) });
          } else {
            appends.push({ group, text: json, bytes });
          }
        }
      } catch (err) {
        deadLetters.push({ record, reason: 'ARCHIVING_FAILED', detail: failureDetail(err) });
        this.options.logger.warn({ err, partition: record.partition, offset: record.offset }, 'an event cannot be written to a log file: dead-lettered');
        continue;
      }
      for (const { group, text, bytes } of appends) this.append(ps, group, text, bytes, meta, now);
    }
    this.rollByAge(ps, now);
    this.relieveMemory(ps);
    await this.storeReady(ps, { kind: 'patient', context });
    const work = this.handOver(ps);
    return deadLetters.length === 0 ? work : { ...work, deadLetters };
  }

  async flush(partition: TopicPartition, reason: 'tick' | 'shutdown'): Promise<Work | void> {
    const ps = this.partitions.get(partition.partition);
    if (!ps || !ps.isReady || ps.superseded) return;
    const now = this.now();
    // A stopped, deleted or changed trail's open files close within a tick, traffic or not.
    this.refresh(ps);
    if (reason === 'shutdown') {
      for (const g of ps.active) if (g.file) this.seal(ps, g, 'shutdown');
      await this.storeReady(ps, { kind: 'bounded', budgetMs: this.options.shutdownUploadBudgetMs });
      return this.handOver(ps);
    }
    this.rollByAge(ps, now);
    this.relieveMemory(ps);
    if (now - ps.lastEvictionMs > IDLE_GROUP_MS / 10) this.evictIdle(ps, now);
    await this.storeReady(ps, { kind: 'bounded', budgetMs: this.options.tickUploadBudgetMs });
    return this.handOver(ps);
  }

  /**
   * Brings a partition's groups to the newest trails, between batches: a stopped, deleted or
   * redefined trail's open files close (and go to S3 as any closed file does, holding the commit
   * until their deliveries are committed), and its groups are forgotten once they hold nothing.
   * Groups of the trails that did not change are not touched, nor are their marks.
   */
  private refresh(ps: PartitionState): TrailSnapshot {
    const snapshot = this.options.trails.snapshot();
    if (snapshot === ps.snapshot) return snapshot;
    const first = ps.snapshot === undefined;
    ps.snapshot = snapshot;
    if (first) return snapshot;
    for (const byName of ps.groups) {
      for (const [name, byScope] of byName) {
        const trail = snapshot.matcher.byName(name);
        const revision = snapshot.revisions.get(name);
        const stopped = trail === undefined || snapshot.windows.get(name)?.until !== undefined;
        for (const [scope, g] of byScope) {
          if (!stopped && g.revision === revision) continue;
          if (g.file) this.seal(ps, g, 'trail');
          if (trail && revision !== undefined) {
            g.trail = trail;
            g.revision = revision;
          } else if (g.idle) byScope.delete(scope);
        }
        if (byScope.size === 0) byName.delete(name);
      }
    }
    return snapshot;
  }

  private group(ps: PartitionState, trail: CompiledTrail, kind: GroupKind, accountId: string, region: string, scope: string, now: number): Group {
    const byName = ps.groups[kind === 'LOG' ? 0 : 1];
    const name = trail.trail.name;
    let byScope = byName.get(name);
    if (!byScope) byName.set(name, (byScope = new Map()));
    let group = byScope.get(scope);
    if (!group) {
      const markKey = groupKey(name, kind, accountId, region);
      const committed = this.options.marks.get(ps.partition, markKey);
      const local = ps.marks.get(markKey) ?? -1n;
      group = new Group(trail, ps.snapshot?.revisions.get(name) ?? 0, kind, accountId, region, markKey, local > committed ? local : committed, now);
      byScope.set(scope, group);
    }
    group.lastActiveMs = now;
    return group;
  }

  private append(ps: PartitionState, g: Group, json: string, bytes: number, meta: RecordMeta, now: number) {
    const max = g.trail.trail.roll.maxCompressedBytes;
    let file = g.file;
    if (file && file.projectedBytes(bytes + 1) > max) {
      this.compact(file);
      if (file.projectedBytes(bytes + 1) > max) {
        this.seal(ps, g, 'size');
        file = undefined;
      }
    }
    if (!file) {
      file = g.file = new LogFileBuilder(meta, now, this.options.compressionLevel);
      this.buffered += file.memoryBytes;
      this.openFileCount++;
      ps.active.add(g);
    }
    const before = file.memoryBytes;
    file.append(json, bytes, meta);
    if (file.pendingBytes >= this.options.compressChunkBytes) file.compact();
    this.buffered += file.memoryBytes - before;
  }

  private compact(file: LogFileBuilder) {
    const before = file.memoryBytes;
    file.compact();
    this.buffered += file.memoryBytes - before;
  }

  /** Closes a group's open file and queues it for S3 under its deterministic key. */
  private seal(ps: PartitionState, g: Group, reason: RollReason) {
    const builder = g.file!;
    const before = builder.memoryBytes;
    const file = builder.close();
    g.file = undefined;
    this.openFileCount--;
    const compiled = g.trail;
    const { trail } = compiled;
    const unique = deterministicUniqueString(trail.name, g.kind, g.accountId, g.region, this.options.sourceTopic, ps.partition, file.firstOffset);
    const key = logFileKey({ prefix: trail.prefix, organizationId: trail.organizationId, accountId: g.accountId, region: g.region }, new Date(file.firstTimestampMs), unique, g.kind === 'INSIGHT' ? 'CloudTrail-Insight' : 'CloudTrail');
    const memory = file.body.length + file.eventTimes.byteLength;
    g.sealed.push({ trail: compiled, file, key, memory });
    this.buffered += memory - before;
    this.options.metrics.rolls.inc({ reason });
  }

  private rollByAge(ps: PartitionState, now: number) {
    for (const g of ps.active) if (g.file && shouldRollForAge(g.file.openedAtMs, g.trail.trail.roll.intervalSeconds, now)) this.seal(ps, g, 'age');
  }

  /**
   * Over the memory budget: compress what the largest open files of this partition hold raw, then
   * close the largest early. (Each partition relieves its own groups: its calls are the only ones
   * that may touch them. Every partition's tick runs every flush interval.)
   */
  private relieveMemory(ps: PartitionState) {
    const budget = this.options.memoryBudgetBytes;
    if (this.buffered <= budget) return;
    const target = budget * 0.8;
    const open = [...ps.active].filter((g) => g.file).sort((a, b) => b.file!.memoryBytes - a.file!.memoryBytes);
    for (const g of open) {
      if (this.buffered <= target) return;
      if (g.file!.pendingBytes > 0) this.compact(g.file!);
    }
    for (const g of open) {
      if (this.buffered <= target) return;
      if (g.file) this.seal(ps, g, 'memory');
    }
  }

  private evictIdle(ps: PartitionState, now: number) {
    ps.lastEvictionMs = now;
    for (const byName of ps.groups)
      for (const [name, byScope] of byName) {
        for (const [scope, g] of byScope) if (g.idle && now - g.lastActiveMs > IDLE_GROUP_MS) byScope.delete(scope);
        if (byScope.size === 0) byName.delete(name);
      }
  }

  /**
   * Stores the oldest closed file of every group that has no delivery awaiting its commit, a few at
   * a time. Patient (a batch): waits as long as S3 needs, keeping the group membership alive; that
   * wait is the backpressure, since kafkajs fetches nothing more meanwhile. Bounded (a tick, the
   * final flush): gives up after its budget, leaving the files for later.
   */
  private async storeReady(ps: PartitionState, mode: Mode): Promise<void> {
    const now = this.now();
    // Refused groups are tried after their backoff; past their share of memory, a batch waits for them like any other.
    let refusedBytes = 0;
    for (const g of ps.active) if (g.refusals > 0) for (const f of g.sealed) refusedBytes += f.memory;
    const patientWithRefused = mode.kind === 'patient' && refusedBytes > (this.options.refusedBudgetBytes ?? this.options.memoryBudgetBytes / 4);
    const ready = [...ps.active].filter((g) => g.sealed.length > 0 && g.commit === 'none' && (patientWithRefused || g.refusedUntilMs <= now));
    if (ready.length === 0) return;
    const stop = new AbortController();
    const signals = [stop.signal];
    let heartbeat: NodeJS.Timeout | undefined;
    if (mode.kind === 'patient') {
      signals.push(mode.context.signal);
      const context = mode.context;
      // A rebalance (or a lost membership) ends the wait: the partition may be someone else's now.
      heartbeat = setInterval(() => void context.heartbeat().catch(() => stop.abort()), 2000);
    } else {
      signals.push(AbortSignal.timeout(mode.budgetMs));
    }
    const signal = AbortSignal.any(signals);
    const keepAlive = mode.kind === 'patient' ? () => void mode.context.heartbeat().catch(() => stop.abort()) : undefined;
    try {
      let next = 0;
      const worker = async () => {
        while (next < ready.length && !signal.aborted && !ps.superseded) {
          const g = ready[next++]!;
          const refused = new AbortController();
          try {
            await this.deliver(ps, g, AbortSignal.any([signal, refused.signal]), keepAlive, patientWithRefused ? undefined : refused);
            g.refusals = 0;
          } catch (err) {
            if (!refused.signal.aborted || signal.aborted) throw err;
            // The trail's configuration, not S3's health: the other groups go on, this one waits and tries again.
            g.refusals++;
            g.refusedUntilMs = this.now() + Math.min(REFUSED_RETRY_MAX_MS, 1000 * 2 ** Math.min(g.refusals, 5));
            this.options.logger.warn({ partition: ps.partition, trail: g.trail.trail.name, bucket: g.trail.trail.bucket, err: (err as RetryAbortedError).lastError ?? err, retryInMs: g.refusedUntilMs - this.now(), heldFiles: g.sealed.length }, 'the trail\'s bucket refused its log file; its files are held and tried again, the other trails go on');
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.options.uploadConcurrency, ready.length) }, worker));
    } catch (err) {
      // Storing is about files of many events, never one event's fault: whatever S3, KMS or a
      // newer owner answered, the call is retried, and no event of the batch is dead-lettered for it.
      if (!(err instanceof RetryAbortedError)) throw err instanceof InfrastructureError ? err : new InfrastructureError(`storing log files failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      // Out of time (or stopping, or rebalancing): what is not stored stays held for the next call.
    } finally {
      if (heartbeat) clearInterval(heartbeat);
    }
  }

  private async deliver(ps: PartitionState, g: Group, signal: AbortSignal, onWait: (() => void) | undefined, refused?: AbortController): Promise<void> {
    const sealed = g.sealed[0]!;
    const { activity } = this.options;
    const trailName = sealed.trail.trail.name;
    const onError = (err: unknown) => {
      activity?.failed(trailName, 'LOG', err);
      if (refused && isRefusal(err)) refused.abort();
    };
    sealed.object ??= await this.prepare(sealed, signal, onWait, onError);
    try {
      await this.options.store.store(sealed.object, { owner: ps.owner, signal, onWait, onError });
    } catch (err) {
      if (err instanceof StaleOwnerError) {
        this.options.logger.warn({ partition: ps.partition, key: sealed.key }, 'a newer owner took this partition; dropping what this instance held of it');
        this.supersede(ps);
      }
      throw err;
    }
    if (ps.superseded) return;
    const deliveredAtMs = this.now();
    g.sealed.shift();
    this.buffered -= sealed.memory;
    activity?.succeeded(trailName, 'LOG', deliveredAtMs);
    const { trail } = sealed.trail;
    const { file } = sealed;
    const delivery = deliveryRecord({ trail: sealed.trail, kind: g.kind, accountId: g.accountId, region: g.region, key: sealed.key, file, deliveredAtMs, source: { topic: this.options.sourceTopic, partition: ps.partition } });
    ps.outbox.push({ topic: this.options.deliveriesTopic, key: deliveryKey(trail.name, g.accountId, g.region), value: this.options.deliverySerde.encode(delivery) });
    ps.outbox.push(
      this.options.marks.message({
        consumerGroup: this.options.consumerGroup,
        sourceTopic: this.options.sourceTopic,
        sourcePartition: ps.partition,
        trailName: trail.name,
        kind: g.kind,
        accountId: g.accountId,
        region: g.region,
        lastOffset: Number(file.lastOffset),
        lastKey: sealed.key,
        updatedAt: deliveredAtMs,
      }),
    );
    ps.marks.set(g.markKey, file.lastOffset);
    g.commit = 'outbox';
    g.outboxFirstOffset = file.firstOffset;
    ps.outboxGroups.push(g);

    const { metrics } = this.options;
    metrics.filesDelivered.inc({ trail: trail.name, kind: g.kind });
    metrics.eventsArchived.inc({ trail: trail.name, kind: g.kind }, file.records);
    metrics.bytesDelivered.inc({ trail: trail.name }, file.body.length);
    metrics.uncompressedBytesDelivered.inc({ trail: trail.name }, file.uncompressedBytes);
    for (const eventTimeMs of file.eventTimes) metrics.deliveryLatency.observe(Math.max(0, deliveredAtMs - eventTimeMs) / 1000);
  }

  /** The object as S3 stores it: the gzip file with its server-side encryption headers, or enveloped (CSE_KMS). */
  private async prepare(sealed: SealedFile, signal: AbortSignal, onWait: (() => void) | undefined, onError: ((err: unknown) => void) | undefined): Promise<ObjectToStore> {
    const { trail } = sealed.trail;
    const base = { bucket: trail.bucket, key: sealed.key, sha256: sealed.file.sha256, body: sealed.file.body, contentType: 'application/x-gzip' };
    const encryption = trail.encryption;
    switch (encryption.mode) {
      case 'SSE_S3':
        return { ...base, encryption: { ServerSideEncryption: 'AES256' } };
      case 'SSE_KMS':
        return { ...base, encryption: { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: encryption.kmsKeyId } };
      case 'NONE':
        return base;
      case 'CSE_KMS': {
        const envelope = await retry(() => encryptEnvelope(this.options.kms, encryption.kmsKeyId, sealed.file.body, signal), {
          retries: Infinity,
          initialDelayMs: 250,
          maxDelayMs: 5000,
          signal,
          onRetry: (err) => {
            this.options.metrics.uploadRetries.inc();
            this.options.metrics.uploadErrors.inc({ code: `kms:${(err as Error).name}` });
            onError?.(err);
            onWait?.();
          },
        });
        this.buffered += envelope.body.length;
        sealed.memory += envelope.body.length;
        return { ...base, body: envelope.body, metadata: envelope.metadata, contentType: 'application/octet-stream' };
      }
    }
  }

  /** Hands the outbox to the runtime: produced with the offset commit, in one transaction. */
  private handOver(ps: PartitionState): Work | void {
    if (ps.outbox.length === 0) return;
    const outputs = ps.outbox;
    ps.outbox = [];
    for (const g of ps.outboxGroups) {
      g.commit = 'returned';
      g.outboxFirstOffset = undefined;
      ps.returned.push(g);
    }
    ps.outboxGroups = [];
    return { outputs };
  }

  /** Waits for `promise`, keeping the consumer group membership alive. */
  private async whileWaiting(context: BatchContext, promise: Promise<void>): Promise<void> {
    const heartbeat = setInterval(() => void context.heartbeat().catch(() => undefined), 2000);
    try {
      await promise;
    } finally {
      clearInterval(heartbeat);
    }
  }
}
