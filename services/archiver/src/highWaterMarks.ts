import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '@opentrail/observability';
import type { OutputMessage } from '@opentrail/runtime';
import { SerdeError, type ArchiverState, type AvroSerde } from '@opentrail/serde';

/**
 * Per-group high-water marks: for each (trail, kind, account, region) group and input partition,
 * the last input offset already in a delivered log file. They live in a compacted topic, written in
 * the same Kafka transaction as the file's delivery record and the input offset commit, so a mark
 * is durable exactly when the delivery is. After a crash or a rebalance the partition is re-read
 * from its committed offset (the first record of its oldest file not yet delivered); records at or
 * below their group's mark are skipped, the others rebuild the same files under the same keys.
 *
 * Marks of input partition p go to partition p mod N of the state topic, written only by p's
 * transactional producer. Every instance follows the whole topic (kafkajs has no assign(): the
 * reader is the sole member of a consumer group of its own and never commits). When a partition is
 * assigned, the runtime first connects its transactional producer, which fences the previous owner
 * (its open transaction is aborted or completed), then `catchUp` waits until the reader has read
 * the state partition to its last stable offset: every mark the previous owner committed is known
 * before the first record is looked at.
 */

export type GroupKind = ArchiverState['kind'];

export interface HighWaterMarksOptions {
  kafka: Kafka;
  topic: string;
  serde: AvroSerde<ArchiverState>;
  /** The archiver's consumer group: marks of other deployments sharing the topic are ignored. */
  consumerGroup: string;
  sourceTopic: string;
  logger: Logger;
}

export function groupKey(trailName: string, kind: GroupKind, accountId: string, region: string): string {
  return `${trailName}|${kind}|${accountId}|${region}`;
}

export class HighWaterMarks {
  private consumer: Consumer | undefined;
  /** Committed marks read from the topic, per source partition. */
  private readonly committed = new Map<number, Map<string, bigint>>();
  /** Next offset to read, per state partition (from END_BATCH_PROCESS, which also counts transaction markers). */
  private readonly positions = new Map<number, bigint>();
  private partitions = 0;
  private crashed: string | undefined;
  private waiters: (() => void)[] = [];

  constructor(private readonly options: HighWaterMarksOptions) {}

  get healthy(): boolean | string {
    return this.crashed === undefined || `state reader stopped: ${this.crashed}`;
  }

  /** The state partition that holds the marks of a source partition. */
  statePartition(sourcePartition: number): number {
    return sourcePartition % this.partitions;
  }

  async start(): Promise<void> {
    const { kafka, topic, logger } = this.options;
    const admin = kafka.admin();
    await admin.connect();
    try {
      this.partitions = (await admin.fetchTopicOffsets(topic)).length;
    } finally {
      await admin.disconnect();
    }
    const consumer = kafka.consumer({
      groupId: `${this.options.consumerGroup}-state-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
      // Only committed marks count: a mark of an aborted transaction describes no delivery.
      readUncommitted: false,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => this.advance(payload.partition, BigInt(payload.lastOffset) + 1n));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      logger.error({ err: payload.error, restart: payload.restart }, 'state reader crashed');
      if (!payload.restart) this.crashed = payload.error.message;
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => this.apply(batch.partition, batch.messages) });
  }

  private async apply(statePartition: number, messages: { offset: string; value: Buffer | null }[]): Promise<void> {
    const { serde, consumerGroup, sourceTopic, logger } = this.options;
    await serde.prepare(messages.map((m) => m.value));
    for (const message of messages) {
      if (!message.value || message.value.length === 0) continue;
      let state: ArchiverState;
      try {
        state = serde.decode(message.value);
      } catch (err) {
        if (!(err instanceof SerdeError) || err.canRetry) throw err;
        logger.warn({ partition: statePartition, offset: message.offset, reason: err.code }, 'state record skipped: it cannot be read');
        continue;
      }
      if (state.consumerGroup !== consumerGroup || state.sourceTopic !== sourceTopic) continue;
      this.raise(this.committed, state.sourcePartition, groupKey(state.trailName, state.kind, state.accountId, state.region), BigInt(state.lastOffset));
    }
  }

  private raise(table: Map<number, Map<string, bigint>>, partition: number, key: string, offset: bigint) {
    let marks = table.get(partition);
    if (!marks) table.set(partition, (marks = new Map()));
    const current = marks.get(key);
    if (current === undefined || offset > current) marks.set(key, offset);
  }

  private advance(partition: number, next: bigint) {
    const current = this.positions.get(partition);
    if (current === undefined || next > current) this.positions.set(partition, next);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Resolves once every mark committed for `sourcePartition` before this call has been read. Call it
   * after the partition's transactional producer has fenced the previous owner.
   */
  async catchUp(sourcePartition: number, signal?: AbortSignal): Promise<void> {
    const statePartition = this.statePartition(sourcePartition);
    const admin = this.options.kafka.admin();
    let end: bigint;
    let low: bigint;
    await admin.connect();
    try {
      // The admin lists offsets read_committed: `offset` is the last stable offset.
      const offsets = (await admin.fetchTopicOffsets(this.options.topic)).find((o) => o.partition === statePartition);
      end = BigInt(offsets?.offset ?? '0');
      low = BigInt(offsets?.low ?? '0');
    } finally {
      await admin.disconnect();
    }
    while (end > low && (this.positions.get(statePartition) ?? -1n) < end) {
      if (signal?.aborted) throw new Error('stopped while reading the archiver state');
      if (this.crashed) throw new Error(`the state reader stopped: ${this.crashed}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, 500);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.push(done);
      });
    }
  }

  /** The last offset of a group in a source partition that a committed delivery holds, or -1 when none does. */
  get(sourcePartition: number, key: string): bigint {
    return this.committed.get(sourcePartition)?.get(key) ?? -1n;
  }

  /**
   * The state record of a delivered file, to go in the same transaction as its delivery record.
   * Until the reader reads it back, the owner keeps the mark itself (see Archiver): a mark whose
   * transaction never commits must not count for the partition's next owner, even in this process.
   */
  message(state: ArchiverState): OutputMessage {
    const key = groupKey(state.trailName, state.kind, state.accountId, state.region);
    return { topic: this.options.topic, partition: this.statePartition(state.sourcePartition), key: `${state.consumerGroup}|${state.sourceTopic}|${state.sourcePartition}|${key}`, value: this.options.serde.encode(state) };
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
