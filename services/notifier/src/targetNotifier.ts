import type { MessageHeaders } from '@opentrail/runtime';
import type { Logger } from '@opentrail/observability';
import { deadLetterMessage, failureDetail, type BatchContext, type InputRecord, type OutputMessage, type PartitionHandler, type RecordDeadLetter, type TopicPartition, type Work } from '@opentrail/runtime';
import type { Delivery, DeliveryKind, Notification } from '@opentrail/serde';
import type { ActivityReport } from '@opentrail/trails';
import type { WebhookSender, WebhookTarget } from '@opentrail/webhooks';
import type { NotifierMetrics } from './metrics.js';
import { cloudTrailMessage, notificationId, notificationRecord, webhookBody } from './notificationFormat.js';
import { sendResultOf, type SendResult } from './sendResult.js';
import { SnsBatcher } from './snsBatcher.js';
import type { SnsPublisher } from './snsPublisher.js';
import type { TargetSpec } from './targets.js';

/** Headers a notifier dead letter carries beside the runtime's opentrail-dlq-* ones. */
export const NOTIFIER_DLQ_HEADERS = {
  target: 'opentrail-notifier-target',
  notificationId: 'opentrail-notification-id',
  attempts: 'opentrail-notifier-attempts',
} as const;

/** Header of the notifications topic's records: the idempotency key, also in the value. */
export const NOTIFICATION_ID_HEADER = 'opentrail-notification-id';

/** What a target sends with: its own sender, circuit breaker and in-flight notifications. */
export type TargetChannel =
  | { kind: 'sns'; publisher: SnsPublisher; batchWindowMs: number; maxMessageBytes: number }
  | { kind: 'webhook'; sender: WebhookSender; webhook: WebhookTarget }
  | { kind: 'kafka'; topic: string; encode: (notification: Notification) => Buffer };

export interface TargetNotifierOptions {
  target: TargetSpec;
  channel: TargetChannel;
  /** Every trail of the configuration: a delivery of a trail not in it is skipped, and counted. */
  knownTrails: ReadonlySet<string>;
  /** Kinds announced to this target. */
  kinds: ReadonlySet<DeliveryKind>;
  concurrency: number;
  maxInFlight: number;
  shutdownGraceMs: number;
  deadLetterTopic: string;
  /** Aborts the channel's attempts and backoffs (shutdown, after the grace). */
  abort: AbortController;
  metrics: NotifierMetrics;
  logger: Logger;
  /** Told of every notification sent or given up on, per trail (GetTrailStatus' notification fields). */
  activity?: ActivityReport;
  now?: () => number;
}

/** One delivery read by this target, not yet announced or dead-lettered. */
interface Notice {
  record: InputRecord<Delivery>;
  offset: bigint;
  lane: PartitionState;
}

/** One notification to send: a webhook request (one delivery) or an SNS message (several). */
interface Unit {
  id: string;
  notices: Notice[];
  send(): Promise<SendResult>;
}

/** What this target holds for one owned partition. */
class PartitionState {
  /**
   * Offsets read but not finished, in offset order (a Set keeps insertion order, and batches come
   * in offset order): the first is where the commit must stop.
   */
  readonly outstanding = new Set<bigint>();
  /** Notices handed to the channel and not yet back. */
  active = 0;
  /** Dead letters ready to hand to the runtime; their offsets finish once handed over. */
  outbox: { message: OutputMessage; offset: bigint }[] = [];
  /** Delivery times of notifications-topic records handed to the runtime, not yet committed. */
  produced: number[] = [];
  revoked = false;
  highWatermark: bigint | undefined;
  position: bigint | undefined;

  constructor(readonly partition: number) {}
}

/**
 * One target's handler of the deliveries topic (it runs in a consumer group of its own): picks the
 * deliveries of its trails and kinds, announces them with bounded concurrency, and holds the
 * partition's commit at the first delivery not yet announced or dead-lettered, so that a crash
 * re-reads (and re-announces) exactly what was not finished. A slow target therefore only holds back
 * its own consumer group; a target that is down fails fast through its circuit breaker into the
 * dead-letter topic and keeps up.
 */
export class TargetNotifier implements PartitionHandler<Delivery> {
  private readonly lanes = new Map<number, PartitionState>();
  private readonly queue: Unit[] = [];
  private running = 0;
  private readonly wakers = new Set<() => void>();
  private readonly batcher: SnsBatcher<Notice> | undefined;
  private shutdownDeadline: number | undefined;
  private readonly now: () => number;
  private readonly unknownTrailsLogged = new Set<string>();

  constructor(private readonly options: TargetNotifierOptions) {
    this.now = options.now ?? Date.now;
    const { channel } = options;
    if (channel.kind === 'sns') {
      this.batcher = new SnsBatcher<Notice>({
        windowMs: channel.batchWindowMs,
        maxMessageBytes: channel.maxMessageBytes,
        onSeal: (batch) => {
          const id = notificationId(batch.items.map((n) => n.record.value.deliveryId));
          const message = cloudTrailMessage(batch.bucket, batch.keys);
          this.options.metrics.snsBatchKeys.observe({ target: this.label }, batch.keys.length);
          this.enqueue({ id, notices: batch.items, send: async () => sendResultOf(await channel.publisher.publish(message, id, batch.trailName)) });
        },
      });
    }
  }

  private get label(): string {
    return this.options.target.label;
  }

  onAssigned(partitions: TopicPartition[]): void {
    for (const { partition } of partitions) this.lanes.set(partition, new PartitionState(partition));
  }

  onRevoked(partitions: TopicPartition[]): void {
    for (const { partition } of partitions) {
      const lane = this.lanes.get(partition);
      if (!lane) continue;
      // The next owner re-reads from the committed offset and announces these itself.
      lane.revoked = true;
      this.lanes.delete(partition);
      this.batcher?.remove((notice) => notice.lane === lane);
      this.options.metrics.lag.remove({ target: this.label, partition: String(partition) });
    }
    this.updateInFlight();
    this.wake();
  }

  heldFrom(tp: TopicPartition): bigint | undefined {
    const lane = this.lanes.get(tp.partition);
    if (!lane) return undefined;
    for (const offset of lane.outstanding) return offset;
    return undefined;
  }

  onCommitted(tp: TopicPartition): void {
    const lane = this.lanes.get(tp.partition);
    if (!lane || lane.produced.length === 0) return;
    const now = this.now();
    for (const deliveredAt of lane.produced) this.observeSent(deliveredAt, now);
    this.options.metrics.sent.inc({ target: this.label }, lane.produced.length);
    lane.produced = [];
  }

  async processBatch(records: InputRecord<Delivery>[], context: BatchContext): Promise<Work> {
    const lane = this.laneFor(context.partition);
    const outputs: OutputMessage[] = [];
    const deadLetters: RecordDeadLetter[] = [];
    const { target, channel, metrics } = this.options;
    for (const record of records) {
      const offset = BigInt(record.offset);
      lane.position = offset + 1n;
      const delivery = record.value;
      if (!target.trails.has(delivery.trailName)) {
        if (!this.options.knownTrails.has(delivery.trailName)) this.skipUnknownTrail(delivery);
        continue;
      }
      if (!this.announces(delivery.kind)) {
        metrics.skipped.inc({ target: this.label, reason: 'kind' });
        continue;
      }
      // The notification is formatted before anything is held for it: a delivery that defeats the
      // formatting is dead-lettered (issue 19, class 2), and the others of the batch go on.
      let output: OutputMessage | undefined;
      let body: string | undefined;
      try {
        if (channel.kind === 'kafka') {
          const notification = notificationRecord(delivery, this.now());
          output = { topic: channel.topic, key: record.key, value: channel.encode(notification), headers: { [NOTIFICATION_ID_HEADER]: notification.notificationId } };
        } else if (channel.kind === 'webhook') {
          body = webhookBody(delivery);
        }
      } catch (err) {
        deadLetters.push({ record, reason: 'NOTIFICATION_FAILED', detail: `${this.label}: ${failureDetail(err)}` });
        this.options.logger.warn({ err, target: this.label, partition: record.partition, offset: record.offset }, 'a delivery cannot be formatted as a notification: dead-lettered');
        continue;
      }
      if (channel.kind === 'kafka') {
        // Produced by the runtime before the commit that passes this offset: nothing to hold.
        outputs.push(output!);
        lane.produced.push(delivery.deliveredAt);
        continue;
      }
      const notice: Notice = { record, offset, lane };
      lane.outstanding.add(offset);
      lane.active++;
      if (channel.kind === 'sns') this.batcher!.add(delivery.trailName, delivery.bucket, delivery.key, notice);
      else {
        const id = notificationId([delivery.deliveryId]);
        this.enqueue({
          id,
          notices: [notice],
          send: async () => {
            const outcome = await channel.sender.send(channel.webhook, { id, body: body! });
            if (outcome.ok) return { ok: true, attempts: outcome.attempts };
            // The sender always names the error of a failed outcome; a missing one is a bug, caught in run().
            const error = outcome.error!;
            return sendResultOf({ ok: false, aborted: error.code === 'ABORTED', attempts: outcome.attempts, error });
          },
        });
      }
    }
    lane.highWatermark = BigInt(context.highWatermark);
    this.updateInFlight();
    // Backpressure for this target only: stop reading the partition while it is full.
    while (lane.active >= this.options.maxInFlight && !context.signal.aborted && !lane.revoked) {
      await this.waitForProgress(3_000, context.signal);
      await context.heartbeat().catch(() => undefined);
    }
    outputs.push(...this.drainOutbox(lane));
    this.updateLag(lane);
    return deadLetters.length > 0 ? { outputs, deadLetters } : { outputs };
  }

  async flush(tp: TopicPartition, reason: 'tick' | 'shutdown'): Promise<Work> {
    const lane = this.lanes.get(tp.partition);
    if (!lane) return {};
    if (reason === 'shutdown') {
      // Announce what waits in batches now rather than after the window, give what is in flight the
      // grace period, then abort the rest: it stays uncommitted and the next owner re-sends it.
      this.batcher?.sealAll();
      this.shutdownDeadline ??= this.now() + this.options.shutdownGraceMs;
      while (lane.active > 0 && this.now() < this.shutdownDeadline) await this.waitForProgress(this.shutdownDeadline - this.now());
      if (lane.active > 0) this.options.abort.abort();
      while (lane.active > 0) await this.waitForProgress(1_000);
    }
    const outputs = this.drainOutbox(lane);
    this.updateLag(lane);
    return { outputs };
  }

  private announces(kind: DeliveryKind): boolean {
    // CloudTrail's SNS notifications announce log files: CPL keeps only keys matching the log-file
    // pattern, which Insights and digest keys do not (cloudtrail-spec.md §2.1, §4).
    if (this.options.channel.kind === 'sns') return kind === 'LOG';
    return this.options.kinds.has(kind);
  }

  private skipUnknownTrail(delivery: Delivery): void {
    this.options.metrics.skipped.inc({ target: this.label, reason: 'unknown_trail' });
    if (this.unknownTrailsLogged.has(delivery.trailName)) return;
    this.unknownTrailsLogged.add(delivery.trailName);
    this.options.logger.warn({ target: this.label, trail: delivery.trailName }, 'deliveries of a trail that is not configured here are not announced');
  }

  private laneFor(partition: number): PartitionState {
    let lane = this.lanes.get(partition);
    if (!lane) this.lanes.set(partition, (lane = new PartitionState(partition)));
    return lane;
  }

  private enqueue(unit: Unit): void {
    this.queue.push(unit);
    this.pump();
  }

  private pump(): void {
    while (this.running < this.options.concurrency && this.queue.length > 0) {
      const unit = this.queue.shift()!;
      // A revoked partition's notices are the next owner's.
      if (unit.notices.every((n) => n.lane.revoked)) continue;
      this.running++;
      void this.run(unit);
    }
  }

  private async run(unit: Unit): Promise<void> {
    let result: SendResult;
    try {
      result = this.options.abort.signal.aborted ? { ok: false, aborted: true, attempts: 0, code: 'ABORTED', detail: 'stopping' } : await unit.send();
    } catch (err) {
      // Senders report failures as results; an exception here is a bug, and the deliveries are not lost for it.
      this.options.logger.error({ err, target: this.label, notificationId: unit.id }, 'sending a notification threw; dead-lettering it');
      result = { ok: false, aborted: false, attempts: 0, code: 'INTERNAL', detail: (err as Error).message };
    }
    this.running--;
    this.finish(unit, result);
    this.pump();
  }

  private finish(unit: Unit, result: SendResult): void {
    const { metrics, logger } = this.options;
    const now = this.now();
    if (result.attempts > 1) metrics.retried.inc({ target: this.label }, result.attempts - 1);
    if (result.ok) metrics.sent.inc({ target: this.label });
    this.report(unit, result, now);
    if (!result.ok && !result.aborted) logger.error({ target: this.label, notificationId: unit.id, deliveries: unit.notices.length, code: result.code, attempts: result.attempts, detail: result.detail }, 'notification failed; dead-lettered');
    for (const notice of unit.notices) {
      const { lane } = notice;
      lane.active--;
      if (lane.revoked) continue;
      if (result.ok) {
        lane.outstanding.delete(notice.offset);
        this.observeSent(notice.record.value.deliveredAt, now);
      } else if (!result.aborted) {
        metrics.deadLettered.inc({ target: this.label, code: result.code });
        lane.outbox.push({ offset: notice.offset, message: this.deadLetter(notice, unit.id, result) });
      }
      // Aborted: stays outstanding, so the commit stops before it.
    }
    this.updateInFlight();
    this.wake();
  }

  private report(unit: Unit, result: SendResult, now: number): void {
    const { activity } = this.options;
    if (!activity || (!result.ok && result.aborted)) return;
    const trails = new Set(unit.notices.filter((n) => !n.lane.revoked).map((n) => n.record.value.trailName));
    for (const trail of trails) {
      if (result.ok) activity.succeeded(trail, 'NOTIFICATION', now);
      else activity.failed(trail, 'NOTIFICATION', { Code: result.targetCode ?? result.code, message: result.detail }, now);
    }
  }

  private observeSent(deliveredAt: number, now: number): void {
    const { metrics } = this.options;
    metrics.deliveriesNotified.inc({ target: this.label });
    metrics.latency.observe({ target: this.label }, Math.max(0, now - deliveredAt) / 1000);
  }

  private deadLetter(notice: Notice, id: string, result: Extract<SendResult, { ok: false }>): OutputMessage {
    const { record } = notice;
    const letter = deadLetterMessage(
      { key: record.key, value: record.raw ?? null, headers: record.headers, offset: record.offset, timestamp: record.timestamp },
      { topic: record.topic, partition: record.partition, service: 'notifier' },
      { reason: 'DELIVERY_FAILED', detail: `${this.label}: ${result.code}: ${result.detail}` },
    );
    const headers: MessageHeaders = {
      ...letter.headers,
      [NOTIFIER_DLQ_HEADERS.target]: this.label,
      [NOTIFIER_DLQ_HEADERS.notificationId]: id,
      [NOTIFIER_DLQ_HEADERS.attempts]: String(result.attempts),
    };
    return { topic: this.options.deadLetterTopic, ...letter, headers };
  }

  /** Hands the dead letters to the runtime; it produces them before the commit that passes their offsets. */
  private drainOutbox(lane: PartitionState): OutputMessage[] {
    if (lane.outbox.length === 0) return [];
    const drained = lane.outbox;
    lane.outbox = [];
    for (const { offset } of drained) lane.outstanding.delete(offset);
    this.updateInFlight();
    return drained.map((d) => d.message);
  }

  private updateLag(lane: PartitionState): void {
    if (lane.highWatermark === undefined || lane.revoked) return;
    const done = this.heldFrom({ topic: '', partition: lane.partition }) ?? lane.position ?? lane.highWatermark;
    this.options.metrics.lag.set({ target: this.label, partition: String(lane.partition) }, Number(lane.highWatermark - done));
  }

  private updateInFlight(): void {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.outstanding.size;
    this.options.metrics.inFlight.set({ target: this.label }, n);
  }

  private wake(): void {
    for (const wake of [...this.wakers]) wake();
  }

  /** Resolves when a notification finishes (or a partition is revoked), after `timeoutMs`, or on abort. */
  private waitForProgress(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, timeoutMs));
      this.wakers.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
