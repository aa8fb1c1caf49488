import type { Logger, ServiceMetrics } from '@opentrail/observability';
import { CompactedTopicReader, type CompactedTopicDecoder, type SkippedRecord } from './compactedTopic.js';
import type { KafkaClient } from './kafkaClient.js';
import type { OutputMessage } from './processor.js';

/**
 * The state a transactional service keeps per input partition (the archiver's high-water marks,
 * the digester's chain heads, the alerter's windows), read with the one compacted-topic reader.
 *
 * The pattern (architecture.md, Delivery semantics): state of input partition p goes to partition
 * p mod N of the state topic, written only by p's transactional producer, in the same transaction
 * as the batch's outputs and its input offset commit, so the topic always holds the state of the
 * committed offset. Every instance reads the whole topic, committed records only. When a partition
 * is assigned, the runtime first connects its transactional producer, which fences the previous
 * owner; `restore` then waits until the reader has read that state partition to its last stable
 * offset, so every state the previous owner committed is known before the partition's first record.
 *
 * Records are kept per source partition and key; a tombstone removes its key. Records of other
 * deployments sharing the topic (another consumer group or source topic) are left out by `locate`.
 */

/** Where a state record belongs. */
export interface StateLocation {
  sourcePartition: number;
  /** The record's key within its source partition's state. */
  key: string;
}

/** Reads and writes the state topic's values (an AvroSerde fits). */
export interface StateSerde<V> extends CompactedTopicDecoder<V> {
  encode(value: V): Buffer;
}

export interface PartitionedStateOptions<V> {
  kafka: KafkaClient;
  topic: string;
  /** The service's consumer group; the reader's own group is named after it. */
  consumerGroup: string;
  /** What the state is, for logs, /healthz and errors ("the archiver state"). */
  what: string;
  serde: StateSerde<V>;
  /**
   * Where a record belongs (its message key is input: check it); undefined leaves it out: a record
   * of another deployment, or a key this deployment never writes.
   */
  locate: (key: string, value: V | null) => StateLocation | undefined;
  /**
   * Whether `next` replaces `current` under the same key. Compaction keeps the newest record, but a
   * replay of older ones (a writer's retried transaction) must not move the state back. @default always
   */
  replaces?: (next: V, current: V) => boolean;
  logger: Logger;
  /** Counts records read and skipped (opentrail_<service>_table_records_total{topic,kind}). */
  metrics?: ServiceMetrics;
  /** Called for each record skipped as unreadable, after its warning. */
  onSkip?: (skipped: SkippedRecord) => void;
}

/** `locate` for a state whose value names its owner: records of other deployments are left out; tombstones are never written. */
export function locateOwnState<V extends StateOwner>(consumerGroup: string, sourceTopic: string, keyOf: (value: V) => string): PartitionedStateOptions<V>['locate'] {
  return (_key, value) => (value !== null && value.consumerGroup === consumerGroup && value.sourceTopic === sourceTopic ? { sourcePartition: value.sourcePartition, key: keyOf(value) } : undefined);
}

/** What a state value that names its owner holds. */
export interface StateOwner {
  consumerGroup: string;
  sourceTopic: string;
  sourcePartition: number;
}

/**
 * A CompactedTopicReader that keeps what it reads per source partition. Readiness, health, start
 * and stop are the reader's; `restore` is its per-partition catch-up on assignment.
 */
export class PartitionedStateTable<V> extends CompactedTopicReader<V> {
  /** Committed state per source partition: key → value. */
  private readonly tables: Map<number, Map<string, V>>;

  constructor(private readonly stateOptions: PartitionedStateOptions<V>) {
    const { consumerGroup, serde, locate, replaces, ...reader } = stateOptions;
    // Made before super(): the reader applies into it, and `this` is not there yet.
    const tables = new Map<number, Map<string, V>>();
    super({
      ...reader,
      groupIdPrefix: `${consumerGroup}-state`,
      decoder: serde,
      apply: (key, value) => applyState(tables, locate(key, value), value, replaces),
      // Only committed state counts: state of an aborted transaction describes nothing that happened.
      readCommitted: true,
    });
    this.tables = tables;
  }

  /** The state partition that holds the state of a source partition. */
  statePartition(sourcePartition: number): number {
    const partitions = this.partitionCount;
    if (partitions === 0) throw new Error(`${this.stateOptions.what}: the state topic's partitions are not known before start()`);
    return sourcePartition % partitions;
  }

  /**
   * The committed state of a source partition, once everything committed to its state partition
   * before this call has been read. Call it after the partition's transactional producer has fenced
   * the previous owner.
   */
  async restore(sourcePartition: number, signal?: AbortSignal): Promise<V[]> {
    await this.catchUp(signal, [this.statePartition(sourcePartition)]);
    return this.values(sourcePartition);
  }

  /** The committed state of one key of a source partition. */
  value(sourcePartition: number, key: string): V | undefined {
    return this.tables.get(sourcePartition)?.get(key);
  }

  /** The committed state of a source partition, as read so far. */
  values(sourcePartition: number): V[] {
    return [...(this.tables.get(sourcePartition)?.values() ?? [])];
  }

  /** The state record of a source partition, to go in the same transaction as the batch's outputs (null: a tombstone). */
  stateMessage(sourcePartition: number, messageKey: string, value: V | null): OutputMessage {
    return { topic: this.stateOptions.topic, partition: this.statePartition(sourcePartition), key: messageKey, value: value === null ? null : this.stateOptions.serde.encode(value) };
  }
}

function applyState<V>(tables: Map<number, Map<string, V>>, at: StateLocation | undefined, value: V | null, replaces: ((next: V, current: V) => boolean) | undefined): void {
  if (at === undefined) return;
  let table = tables.get(at.sourcePartition);
  if (value === null) {
    table?.delete(at.key);
    return;
  }
  if (!table) tables.set(at.sourcePartition, (table = new Map()));
  const current = table.get(at.key);
  if (current === undefined || (replaces?.(value, current) ?? true)) table.set(at.key, value);
}
