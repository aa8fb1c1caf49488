import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '@opentrail/observability';
import type { OutputMessage } from '@opentrail/runtime';
import { SerdeError, type AvroSerde, type DigesterState } from '@opentrail/serde';

/**
 * Chain heads: for each (trail, account, region) group, the last digest written (key, SHA-256,
 * signature, period) and the last input offset it lists. They live in a compacted topic, written in
 * the same Kafka transaction as the digest's delivery record and the input offset commit, so a head
 * is durable exactly when the offsets behind it are committed. The digest object itself is stored
 * in S3 before that transaction: after a crash in between, the next owner writes the same period
 * again, under the same key, chained to the same previous digest.
 *
 * Heads of input partition p go to partition p mod N of the state topic, written only by p's
 * transactional producer. Every instance follows the whole topic; when a partition is assigned, its
 * transactional producer has already fenced the previous owner, and `catchUp` waits until the
 * reader has read the state partition to its last stable offset.
 */
export function groupKey(trailName: string, accountId: string, region: string): string {
  return `${trailName}|${accountId}|${region}`;
}

export class ChainState {
  private consumer: Consumer | undefined;
  /** Committed heads read from the topic, per source partition. */
  private readonly committed = new Map<number, Map<string, DigesterState>>();
  private readonly positions = new Map<number, bigint>();
  private partitions = 0;
  private crashed: string | undefined;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly options: { kafka: Kafka; topic: string; serde: AvroSerde<DigesterState>; consumerGroup: string; sourceTopic: string; logger: Logger },
  ) {}

  get healthy(): boolean | string {
    return this.crashed === undefined || `state reader stopped: ${this.crashed}`;
  }

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
      // Only committed heads count: a head of an aborted transaction describes no committed offsets.
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
      let state: DigesterState;
      try {
        state = serde.decode(message.value);
      } catch (err) {
        if (!(err instanceof SerdeError) || err.canRetry) throw err;
        logger.warn({ partition: statePartition, offset: message.offset, reason: err.code }, 'state record skipped: it cannot be read');
        continue;
      }
      if (state.consumerGroup !== consumerGroup || state.sourceTopic !== sourceTopic) continue;
      let heads = this.committed.get(state.sourcePartition);
      if (!heads) this.committed.set(state.sourcePartition, (heads = new Map()));
      const key = groupKey(state.trailName, state.accountId, state.region);
      const current = heads.get(key);
      // Compaction keeps the newest; a replay of older records must not move a head back.
      if (!current || state.lastDigestEndTime >= current.lastDigestEndTime) heads.set(key, state);
    }
  }

  private advance(partition: number, next: bigint) {
    const current = this.positions.get(partition);
    if (current === undefined || next > current) this.positions.set(partition, next);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves once every head committed for `sourcePartition` before this call has been read. */
  async catchUp(sourcePartition: number, signal?: AbortSignal): Promise<void> {
    const statePartition = this.statePartition(sourcePartition);
    const admin = this.options.kafka.admin();
    let end: bigint;
    let low: bigint;
    await admin.connect();
    try {
      const offsets = (await admin.fetchTopicOffsets(this.options.topic)).find((o) => o.partition === statePartition);
      end = BigInt(offsets?.offset ?? '0');
      low = BigInt(offsets?.low ?? '0');
    } finally {
      await admin.disconnect();
    }
    while (end > low && (this.positions.get(statePartition) ?? -1n) < end) {
      if (signal?.aborted) throw new Error('stopped while reading the digester state');
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

  /** The committed heads of a source partition. */
  heads(sourcePartition: number): DigesterState[] {
    return [...(this.committed.get(sourcePartition)?.values() ?? [])];
  }

  message(state: DigesterState): OutputMessage {
    return {
      topic: this.options.topic,
      partition: this.statePartition(state.sourcePartition),
      key: `${state.consumerGroup}|${state.sourceTopic}|${groupKey(state.trailName, state.accountId, state.region)}`,
      value: this.options.serde.encode(state),
    };
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
