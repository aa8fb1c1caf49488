import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '@opentrail/observability';
import type { OutputMessage } from '@opentrail/runtime';
import { SerdeError, type AlerterState, type AlerterStateKind, type AvroSerde } from '@opentrail/serde';
import type { StateChange } from './partitionEvaluator.js';

export interface StateChangelogOptions {
  kafka: Kafka;
  topic: string;
  serde: AvroSerde<AlerterState>;
  /** The alerter's consumer group: state of other deployments sharing the topic is ignored. */
  consumerGroup: string;
  sourceTopic: string;
  logger: Logger;
}

export interface StateEntry {
  kind: AlerterStateKind;
  key: string;
  state: string;
}

/**
 * The alerter's window state in a compacted topic. Each change goes out in the same Kafka
 * transaction as the batch's alerts and its input offset commit, so the state in the topic is
 * always that of the committed offset: after a crash, a restart or a rebalance, the new owner of a
 * partition restores it and re-reads from the committed offset, and every window, suppression and
 * baseline continues as if nothing happened — no alert missed, none repeated.
 *
 * State of input partition p lives in partition p mod N of the topic, written only by p's
 * transactional producer. Every instance follows the whole topic (kafkajs has no assign(): the
 * reader is the only member of a group of its own and never commits). When a partition is assigned
 * the runtime first connects its transactional producer, which fences the previous owner; then
 * `restore` waits until the reader has read the state partition up to its last stable offset.
 */
export class StateChangelog {
  private consumer: Consumer | undefined;
  /** Committed state per source partition: message key → entry. */
  private readonly committed = new Map<number, Map<string, StateEntry>>();
  private readonly positions = new Map<number, bigint>();
  private partitions = 0;
  private crashed: string | undefined;
  private waiters: (() => void)[] = [];

  constructor(private readonly options: StateChangelogOptions) {}

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
      // Only committed state counts: state of an aborted transaction describes nothing that happened.
      readUncommitted: false,
    });
    this.consumer = consumer;
    // END_BATCH_PROCESS counts transaction markers too, so the position reaches the end of the partition.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => this.advance(payload.partition, BigInt(payload.lastOffset) + 1n));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      logger.error({ err: payload.error, restart: payload.restart }, 'state reader crashed');
      if (!payload.restart) this.crashed = payload.error.message;
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => this.apply(batch.messages) });
  }

  private async apply(messages: { offset: string; key: Buffer | null; value: Buffer | null }[]): Promise<void> {
    const { serde, consumerGroup, sourceTopic, logger } = this.options;
    await serde.prepare(messages.map((m) => m.value));
    for (const message of messages) {
      const key = message.key?.toString();
      if (!key) continue;
      let parsed: [string, string, number, AlerterStateKind, string];
      try {
        parsed = JSON.parse(key) as typeof parsed;
      } catch {
        continue;
      }
      const [group, topic, partition, kind, stateKey] = parsed;
      if (group !== consumerGroup || topic !== sourceTopic) continue;
      let table = this.committed.get(partition);
      if (!table) this.committed.set(partition, (table = new Map()));
      if (!message.value || message.value.length === 0) {
        table.delete(key);
        continue;
      }
      try {
        const state = serde.decode(message.value);
        table.set(key, { kind, key: stateKey, state: state.state });
      } catch (err) {
        if (!(err instanceof SerdeError) || err.canRetry) throw err;
        logger.warn({ offset: message.offset, reason: err.code }, 'state record skipped: it cannot be read');
      }
    }
  }

  private advance(partition: number, next: bigint): void {
    const current = this.positions.get(partition);
    if (current === undefined || next > current) this.positions.set(partition, next);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * The committed state of a source partition, once everything committed for it before this call
   * has been read. Call it after the partition's transactional producer has fenced the previous owner.
   */
  async restore(sourcePartition: number, signal?: AbortSignal): Promise<StateEntry[]> {
    const statePartition = this.statePartition(sourcePartition);
    const admin = this.options.kafka.admin();
    let end: bigint;
    let low: bigint;
    await admin.connect();
    try {
      // fetchTopicOffsets lists read_committed: `offset` is the last stable offset.
      const offsets = (await admin.fetchTopicOffsets(this.options.topic)).find((o) => o.partition === statePartition);
      end = BigInt(offsets?.offset ?? '0');
      low = BigInt(offsets?.low ?? '0');
    } finally {
      await admin.disconnect();
    }
    while (end > low && (this.positions.get(statePartition) ?? -1n) < end) {
      if (signal?.aborted) throw new Error('stopped while restoring the alerter state');
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
    return [...(this.committed.get(sourcePartition)?.values() ?? [])];
  }

  /** The changelog messages of a batch's state changes, for the batch's transaction. */
  messages(sourcePartition: number, changes: readonly StateChange[], now: number): OutputMessage[] {
    const { topic, consumerGroup, sourceTopic, serde } = this.options;
    const partition = this.statePartition(sourcePartition);
    return changes.map((change) => ({
      topic,
      partition,
      key: JSON.stringify([consumerGroup, sourceTopic, sourcePartition, change.kind, change.key]),
      value:
        change.state === null
          ? null
          : serde.encode({ consumerGroup, sourceTopic, sourcePartition, kind: change.kind, key: change.key, state: change.state, updatedAt: now }),
    }));
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
