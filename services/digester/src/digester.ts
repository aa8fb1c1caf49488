import { createHash } from 'node:crypto';
import { digestFileKey } from '@opentrail/cloudtrail';
import { buildDigest, serializeDigest, stringToSign, type PreviousDigest } from '@opentrail/integrity';
import type { Logger } from '@opentrail/observability';
import { InfrastructureError, RetryAbortedError, type BatchContext, type InputRecord, type OutputMessage, type PartitionHandler, type RecordDeadLetter, type TopicPartition, type Work } from '@opentrail/runtime';
import type { AvroSerde, Delivery, DigesterState } from '@opentrail/serde';
import { trailArn, type ActivityReport, type Trail } from '@opentrail/trails';
import { groupKey, type ChainState } from './chainState.js';
import type { DigestStore } from './digestStore.js';
import type { KeyRing } from './keyRing.js';
import type { DigesterMetrics } from './metrics.js';
import { undigestible } from './digestEntry.js';
import type { DigestTrail, DigestTrails } from './digestTrails.js';
import { filesForPeriod, nextPeriodEnd, periodStart } from './periods.js';

/** How long a delivery of a trail not (yet) in the catalog may wait for it before it is skipped as unknown. */
const UNKNOWN_TRAIL_WAIT_MS = 30_000;

interface PendingLogFile {
  offset: bigint;
  deliveredAt: number;
  delivery: Delivery;
}

interface Head {
  bucket: string;
  key: string;
  sha256: string;
  signature: string;
  startMs: number;
  endMs: number;
}

/** One (trail, account, region) chain owned by this instance. */
interface Group {
  id: string;
  trail: Trail;
  accountId: string;
  region: string;
  partition: number;
  head: Head | null;
  /** The trail's last StartLogging and its stop, as of the last tick (DigestTrail). */
  startedAt?: number | undefined;
  stoppedAt?: number | undefined;
  /** The last input offset listed in a stored digest (-1: none). */
  coveredThrough: bigint;
  pending: PendingLogFile[];
}

export interface DigesterOptions {
  sourceTopic: string;
  deliveriesTopic: string;
  consumerGroup: string;
  /** The trails now (catalogDigestTrails follows the catalog), looked up per delivery and per tick. */
  trails: DigestTrails;
  /**
   * After a trail stops, how long its last log files may take to arrive: the final digest is the one
   * for the first period ending this long after the stop. @default 120000
   */
  stopDrainMs?: number;
  /** Told of every failed and successful digest write (GetTrailStatus' digest fields). */
  activity?: ActivityReport;
  /** The period of a trail, in ms (its digests.periodMinutes, or the test override). */
  periodMs: (trail: Trail) => number;
  graceMs: number;
  maxCatchUpPeriods: number;
  state: ChainState;
  keys: KeyRing;
  store: DigestStore;
  deliverySerde: AvroSerde<Delivery>;
  metrics: DigesterMetrics;
  logger: Logger;
  /** How long a tick may keep retrying S3 before leaving the digest for the next tick. @default 5000 */
  tickBudgetMs?: number;
  now?: () => number;
}

/** Stable per (bucket, key, sha256), as the archiver's delivery ids. */
function deliveryId(bucket: string, key: string, sha256: string): string {
  return createHash('sha256').update(`${bucket}\n${key}\n${sha256}`).digest('hex').slice(0, 32);
}

/**
 * The digester's partition handler. Deliveries of one (trail, account, region) share a partition
 * (their key), so each chain has one owner. A group's log files wait in memory until the period
 * they were delivered in has ended (plus a grace for records still in flight); then one digest
 * lists them, chained to the group's head, signed, stored in S3, and its delivery record and the new
 * head go out in the transaction that commits the input offsets behind it. Offsets are never
 * committed past a log file that is not yet in a stored digest (heldFrom), so a crash re-reads
 * exactly what the last digest did not list.
 */
export class Digester implements PartitionHandler<Delivery> {
  private readonly groups = new Map<string, Group>();
  private readonly stopController = new AbortController();
  private readonly now: () => number;

  constructor(private readonly o: DigesterOptions) {
    this.now = o.now ?? Date.now;
  }

  get groupCount(): number {
    return this.groups.size;
  }

  get pendingLogFiles(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.pending.length;
    return n;
  }

  async onAssigned(partitions: TopicPartition[]): Promise<void> {
    for (const { partition } of partitions) {
      // The partition's transactional producer is connected: the former owner is fenced, so every
      // head it committed is in the state topic now.
      for (const s of await this.o.state.restore(partition, this.stopController.signal)) {
        const trail = this.o.trails.get(s.trailName)?.trail;
        if (!trail || !trail.digests.enabled) continue;
        this.groups.set(groupKey(s.trailName, s.accountId, s.region), {
          id: groupKey(s.trailName, s.accountId, s.region),
          trail,
          accountId: s.accountId,
          region: s.region,
          partition,
          head: { bucket: s.bucket, key: s.lastDigestKey, sha256: s.lastDigestSha256, signature: s.lastDigestSignature, startMs: s.lastDigestStartTime, endMs: s.lastDigestEndTime },
          coveredThrough: BigInt(s.coveredThroughOffset),
          pending: [],
        });
      }
    }
  }

  onRevoked(partitions: TopicPartition[]): void {
    const revoked = new Set(partitions.map((p) => p.partition));
    for (const [id, g] of this.groups) if (revoked.has(g.partition)) this.groups.delete(id);
  }

  heldFrom(partition: TopicPartition): bigint | undefined {
    let held: bigint | undefined;
    for (const g of this.groups.values()) {
      if (g.partition !== partition.partition) continue;
      const first = g.pending[0]?.offset;
      if (first !== undefined && (held === undefined || first < held)) held = first;
    }
    return held;
  }

  async processBatch(records: InputRecord<Delivery>[], context: BatchContext): Promise<Work | void> {
    // A trail the archiver already delivers for may not have reached this process's catalog yet:
    // a recent delivery of a trail not known here waits for it (before anything of the batch is taken).
    const now = this.now();
    for (const r of records) {
      const d = r.value;
      if (d.kind === 'LOG' && !this.o.trails.get(d.trailName) && now - d.deliveredAt < UNKNOWN_TRAIL_WAIT_MS && d.deliveredAt <= now) {
        throw new InfrastructureError(`a delivery of trail "${d.trailName}", unknown to this digester's trail catalog yet: waiting for the catalog`);
      }
    }
    const deadLetters: RecordDeadLetter[] = [];
    for (const r of records) {
      const d = r.value;
      if (d.kind !== 'LOG') {
        this.o.metrics.deliveriesSkipped.inc({ reason: d.kind === 'DIGEST' ? 'digest' : 'insight' });
        continue;
      }
      const known = this.o.trails.get(d.trailName);
      if (!known) {
        this.o.metrics.deliveriesSkipped.inc({ reason: 'unknown_trail' });
        continue;
      }
      const { trail } = known;
      if (!trail.digests.enabled) {
        this.o.metrics.deliveriesSkipped.inc({ reason: 'digests_disabled' });
        continue;
      }
      // Delivered after the final digest of a stopped trail: CloudTrail digests nothing delivered while stopped.
      if (known.stoppedAt !== undefined && d.deliveredAt >= this.finalEnd(known)) {
        this.o.metrics.deliveriesSkipped.inc({ reason: 'trail_stopped' });
        continue;
      }
      const problem = undigestible(d, this.o.periodMs(trail), this.now());
      if (problem !== undefined) {
        deadLetters.push({ record: r, reason: 'DIGEST_FAILED', detail: problem });
        this.o.logger.warn({ trail: d.trailName, key: d.key, partition: r.partition, offset: r.offset, problem }, 'a delivery cannot be listed in a digest: dead-lettered');
        continue;
      }
      const id = groupKey(d.trailName, d.accountId, d.region);
      let g = this.groups.get(id);
      if (!g) {
        g = { id, trail, accountId: d.accountId, region: d.region, partition: context.partition, head: null, coveredThrough: -1n, pending: [] };
        this.groups.set(id, g);
      }
      const offset = BigInt(r.offset);
      if (offset <= g.coveredThrough) {
        this.o.metrics.deliveriesSkipped.inc({ reason: 'already_digested' });
        continue;
      }
      // A repeat of a delivery the group already holds (the archiver re-delivering the same file).
      if (g.pending.some((p) => p.delivery.deliveryId === d.deliveryId)) {
        this.o.metrics.deliveriesSkipped.inc({ reason: 'duplicate' });
        continue;
      }
      g.pending.push({ offset, deliveredAt: d.deliveredAt, delivery: d });
    }
    if (deadLetters.length > 0) return { deadLetters };
  }

  async flush(partition: TopicPartition, reason: 'tick' | 'shutdown'): Promise<Work | void> {
    // At shutdown nothing is forced out: a digest covers a whole period, and what is pending is
    // re-read by the next owner from the committed offset.
    if (reason === 'shutdown') return;
    const outputs: OutputMessage[] = [];
    for (const g of this.groups.values()) {
      if (g.partition !== partition.partition) continue;
      if (!this.follow(g)) continue;
      // A bounded number per tick, so one long catch-up does not starve the other groups.
      for (let i = 0; i < 30; i++) {
        const due = this.duePeriod(g);
        if (!due) break;
        try {
          outputs.push(...(await this.writeDigest(g, due.startMs, due.endMs, due.breakChain, partition)));
        } catch (err) {
          // The group keeps its head and its pending files: the same period is tried on the next
          // tick. What other groups stored meanwhile still goes out below.
          if (this.stopController.signal.aborted) break;
          this.o.logger.warn({ err, trail: g.trail.name, accountId: g.accountId, region: g.region, endTime: new Date(due.endMs).toISOString() }, 'writing a digest failed; it will be retried');
          break;
        }
      }
    }
    return { outputs };
  }

  /** The end of a stopped trail's final digest: the first period ending `stopDrainMs` after the stop or later. */
  private finalEnd(t: DigestTrail): number {
    return nextPeriodEnd(t.stoppedAt! + (this.o.stopDrainMs ?? 120_000), this.o.periodMs(t.trail));
  }

  /**
   * Brings a group to its trail's present state; false when it writes nothing more: its trail is
   * gone or has digests switched off (the group is forgotten, with what it held), or it is stopped
   * and its final digest is written (what it holds was delivered while stopped and is let go).
   */
  private follow(g: Group): boolean {
    const known = this.o.trails.get(g.trail.name);
    if (!known || !known.trail.digests.enabled) {
      this.groups.delete(g.id);
      return false;
    }
    g.trail = known.trail;
    g.stoppedAt = known.stoppedAt;
    g.startedAt = known.startedAt;
    if (known.stoppedAt !== undefined && g.head && g.head.endMs >= this.finalEnd(known)) {
      g.pending = [];
      return false;
    }
    return true;
  }

  /** The next period of a group whose digest is due, if any. */
  private duePeriod(g: Group): { startMs: number; endMs: number; breakChain: boolean } | undefined {
    const periodMs = this.o.periodMs(g.trail);
    const ready = this.now() - this.o.graceMs;
    let startMs: number;
    let breakChain = false;
    if (g.head && g.startedAt !== undefined && g.startedAt > g.head.endMs && g.stoppedAt === undefined) {
      // Logging restarted after the last digest: a new chain, a starting digest from the restart (§3.1).
      startMs = Math.max(g.head.endMs, periodStart(g.startedAt, periodMs));
      breakChain = true;
    } else if (g.head) {
      if (g.stoppedAt !== undefined && g.head.endMs >= nextPeriodEnd(g.stoppedAt + (this.o.stopDrainMs ?? 120_000), periodMs)) return undefined;
      startMs = g.head.endMs;
      if (ready - g.head.endMs > this.o.maxCatchUpPeriods * periodMs) {
        // Silent for too long: a starting digest for the last full period, listing all that waits.
        startMs = periodStart(ready, periodMs) - periodMs;
        breakChain = true;
      }
    } else {
      const first = g.pending[0];
      if (!first) return undefined;
      startMs = periodStart(first.deliveredAt, periodMs);
      // A group first seen long after its first delivery (history on the topic) starts recently.
      if (ready - startMs > this.o.maxCatchUpPeriods * periodMs) startMs = periodStart(ready, periodMs) - periodMs;
    }
    const endMs = nextPeriodEnd(startMs, periodMs);
    return endMs <= ready ? { startMs, endMs, breakChain } : undefined;
  }

  private async writeDigest(g: Group, startMs: number, endMs: number, breakChain: boolean, tp: TopicPartition): Promise<OutputMessage[]> {
    const { trail } = g;
    const { metrics, logger } = this.o;
    const files = filesForPeriod(g.pending, endMs);
    const key = digestFileKey({ prefix: trail.prefix, organizationId: trail.organizationId ?? null, accountId: g.accountId, region: g.region }, trail.name, trail.homeRegion, new Date(endMs));
    const signingKey = this.o.keys.current();
    const previous: PreviousDigest | null = g.head && !breakChain ? { bucket: g.head.bucket, key: g.head.key, sha256: g.head.sha256, signature: g.head.signature } : null;
    const serialized = serializeDigest(
      buildDigest({
        accountId: g.accountId,
        startTimeMs: startMs,
        endTimeMs: endMs,
        bucket: trail.bucket,
        key,
        fingerprint: signingKey.fingerprint,
        previous,
        logFiles: files.map(({ delivery: d }) => ({ bucket: d.bucket, key: d.key, sha256: d.sha256, oldestEventTimeMs: d.oldestEventTime, newestEventTimeMs: d.newestEventTime })),
      }),
    );
    let signature: string;
    try {
      signature = await signingKey.sign(stringToSign(serialized.json, serialized.inflated));
    } catch (err) {
      metrics.signingErrors.inc({ source: signingKey.source.startsWith('kms:') ? 'kms' : 'local' });
      throw err;
    }
    try {
      await this.o.store.put(trail.bucket, key, serialized.gzipped, signature, trail.encryption, this.stopController.signal, this.o.tickBudgetMs ?? 5000);
    } catch (err) {
      if (!this.stopController.signal.aborted) this.o.activity?.failed(trail.name, 'DIGEST', err instanceof RetryAbortedError ? err.lastError : err);
      throw err;
    }
    this.o.activity?.succeeded(trail.name, 'DIGEST');

    const starting = previous === null;
    if (breakChain) {
      metrics.chainBreaks.inc({ trail: trail.name });
      logger.warn({ trail: trail.name, accountId: g.accountId, region: g.region, lastDigest: g.head?.key, key }, g.startedAt !== undefined && g.head !== null && g.startedAt > g.head.endMs ? 'chain restarted with a starting digest: logging restarted' : 'chain restarted with a starting digest: the group was silent for longer than maxCatchUpPeriods');
    }
    metrics.digestsWritten.inc({ trail: trail.name, type: starting ? 'starting' : 'chained', empty: String(files.length === 0) });
    metrics.logFilesCovered.inc({ trail: trail.name }, files.length);
    metrics.digestDelay.observe(Math.max(0, this.now() - endMs) / 1000);

    const last = files[files.length - 1];
    const coveredThrough = last ? last.offset : g.coveredThrough;
    g.head = { bucket: trail.bucket, key, sha256: serialized.sha256, signature, startMs, endMs };
    g.coveredThrough = coveredThrough;
    g.pending = g.pending.slice(files.length);
    logger.info({ trail: trail.name, accountId: g.accountId, region: g.region, key, logFiles: files.length, starting }, 'digest stored');

    const arn = trailArn(trail);
    const deliveredAt = this.now();
    const times = files.map((f) => f.delivery);
    const oldest = times.map((d) => d.oldestEventTime).filter((t): t is number => t !== null);
    const newest = times.map((d) => d.newestEventTime).filter((t): t is number => t !== null);
    const record: Delivery = {
      deliveryId: deliveryId(trail.bucket, key, serialized.sha256),
      kind: 'DIGEST',
      trailName: trail.name,
      trailArn: arn,
      homeRegion: trail.homeRegion,
      bucket: trail.bucket,
      key,
      accountId: g.accountId,
      region: g.region,
      organizationId: trail.organizationId ?? null,
      recordCount: files.length,
      uncompressedBytes: serialized.inflated.length,
      compressedBytes: serialized.gzipped.length,
      sha256: serialized.sha256,
      oldestEventTime: oldest.length ? Math.min(...oldest) : null,
      newestEventTime: newest.length ? Math.max(...newest) : null,
      deliveredAt,
      encryption: { mode: trail.encryption.mode === 'CSE_KMS' ? 'SSE_S3' : trail.encryption.mode, kmsKeyId: trail.encryption.mode === 'SSE_KMS' ? trail.encryption.kmsKeyId : null },
      source: files.length ? { topic: tp.topic, partition: tp.partition, firstOffset: Number(files[0]!.offset), lastOffset: Number(last!.offset) } : null,
      digest: { startTime: startMs, endTime: endMs, signature, publicKeyFingerprint: signingKey.fingerprint, previousKey: previous?.key ?? null, logFileCount: files.length },
    };
    const state: DigesterState = {
      consumerGroup: this.o.consumerGroup,
      sourceTopic: this.o.sourceTopic,
      sourcePartition: g.partition,
      trailName: trail.name,
      trailArn: arn,
      homeRegion: trail.homeRegion,
      accountId: g.accountId,
      region: g.region,
      organizationId: trail.organizationId ?? null,
      bucket: trail.bucket,
      lastDigestKey: key,
      lastDigestStartTime: startMs,
      lastDigestEndTime: endMs,
      lastDigestSha256: serialized.sha256,
      lastDigestSignature: signature,
      coveredThroughOffset: Number(coveredThrough),
      updatedAt: deliveredAt,
    };
    return [{ topic: this.o.deliveriesTopic, key: `${trail.name}/${g.accountId}/${g.region}`, value: this.o.deliverySerde.encode(record) }, this.o.state.message(state)];
  }

  stop(): void {
    this.stopController.abort();
  }
}
