import type { KafkaClient } from './kafkaClient.js';
import { kafkajsOf } from './kafka.js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Consumer, KafkaMessage } from 'kafkajs';
import type { Logger } from '@opentrail/observability';
import { logConsumerCrash } from './kafka.js';
import { startupStep } from './startup.js';

/**
 * Follows a compacted state topic that a transactional service writes beside its outputs: the
 * archiver's high-water marks, the digester's chain heads, the alerter's windows.
 *
 * The pattern (architecture.md, Delivery semantics): state of input partition p goes to partition
 * p mod N of the state topic, written only by p's transactional producer, in the same transaction
 * as the batch's outputs and its input offset commit, so the topic always holds the state of the
 * committed offset. Every instance reads the whole topic, committed records only (kafkajs has no
 * assign(): the reader is the sole member of a consumer group of its own and never commits). When
 * a partition is assigned, the runtime first connects its transactional producer, which fences the
 * previous owner; `catchUp` then waits until the reader has read the state partition to its last
 * stable offset, so every state the previous owner committed is known before the first record.
 */
export interface StateTopicReaderOptions {
  kafka: KafkaClient;
  topic: string;
  /** The service's consumer group; the reader's own group is named after it. */
  consumerGroup: string;
  /** What the state is, for error messages ("the archiver state"). */
  what: string;
  logger: Logger;
}

/** Extended by each service's state: it says how a fetched batch of state records is applied. */
export abstract class StateTopicReader {
  private consumer: Consumer | undefined;
  /** Next offset to read, per state partition (from END_BATCH_PROCESS, which also counts transaction markers). */
  private readonly positions = new Map<number, bigint>();
  private partitions = 0;
  private crashed: string | undefined;
  private waiters: (() => void)[] = [];

  constructor(private readonly readerOptions: StateTopicReaderOptions) {}

  /** Applies one fetched batch of a state partition, in offset order. Throwing retries the batch. */
  protected abstract apply(statePartition: number, messages: KafkaMessage[]): Promise<void>;

  get healthy(): boolean | string {
    return this.crashed === undefined || `state reader stopped: ${this.crashed}`;
  }

  /** The state partition that holds the state of a source partition. */
  statePartition(sourcePartition: number): number {
    return sourcePartition % this.partitions;
  }

  async start(): Promise<void> {
    const { kafka, topic, logger } = this.readerOptions;
    // A state topic created a moment ago by another instance may not have its leaders yet.
    this.partitions = await startupStep(`the state topic ${topic}`, async () => {
      const admin = kafkajsOf(kafka).admin();
      await admin.connect();
      try {
        return (await admin.fetchTopicOffsets(topic)).length;
      } finally {
        await admin.disconnect();
      }
    });
    const consumer = kafkajsOf(kafka).consumer({
      groupId: `${this.readerOptions.consumerGroup}-state-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
      // Only committed state counts: state of an aborted transaction describes nothing that happened.
      readUncommitted: false,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => this.advance(payload.partition, BigInt(payload.lastOffset) + 1n));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      logConsumerCrash(logger, payload, 'state reader');
      if (!payload.restart) this.crashed = payload.error.message;
    });
    await startupStep(`reading ${this.readerOptions.what}`, () => consumer.connect());
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => this.apply(batch.partition, batch.messages) });
  }

  private advance(partition: number, next: bigint): void {
    const current = this.positions.get(partition);
    if (current === undefined || next > current) this.positions.set(partition, next);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Resolves once everything committed for `sourcePartition`'s state partition before this call has
   * been read. Call it after the partition's transactional producer has fenced the previous owner.
   */
  async catchUp(sourcePartition: number, signal?: AbortSignal): Promise<void> {
    const statePartition = this.statePartition(sourcePartition);
    const admin = kafkajsOf(this.readerOptions.kafka).admin();
    let end: bigint;
    let low: bigint;
    await admin.connect();
    try {
      // fetchTopicOffsets lists read_committed: `offset` is the last stable offset.
      const offsets = (await admin.fetchTopicOffsets(this.readerOptions.topic)).find((o) => o.partition === statePartition);
      end = BigInt(offsets?.offset ?? '0');
      low = BigInt(offsets?.low ?? '0');
    } finally {
      await admin.disconnect();
    }
    while (end > low && (this.positions.get(statePartition) ?? -1n) < end) {
      if (signal?.aborted) throw new Error(`stopped while reading ${this.readerOptions.what}`);
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

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
