import type { ConsumedMessage, KafkaClient } from '@opentrail/runtime';
import type { Logger } from '@opentrail/observability';
import { StateTopicReader, type OutputMessage } from '@opentrail/runtime';
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
 * transactional producer; every instance follows the whole topic, and `catchUp` makes every mark
 * the previous owner of a partition committed known before its first record is looked at
 * (StateTopicReader in @opentrail/runtime).
 */

export type GroupKind = ArchiverState['kind'];

export interface HighWaterMarksOptions {
  kafka: KafkaClient;
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

export class HighWaterMarks extends StateTopicReader {
  /** Committed marks read from the topic, per source partition. */
  private readonly committed = new Map<number, Map<string, bigint>>();

  constructor(private readonly options: HighWaterMarksOptions) {
    super({ kafka: options.kafka, topic: options.topic, consumerGroup: options.consumerGroup, what: 'the archiver state', logger: options.logger });
  }

  protected async apply(statePartition: number, messages: ConsumedMessage[]): Promise<void> {
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
      this.raise(state.sourcePartition, groupKey(state.trailName, state.kind, state.accountId, state.region), BigInt(state.lastOffset));
    }
  }

  private raise(partition: number, key: string, offset: bigint) {
    let marks = this.committed.get(partition);
    if (!marks) this.committed.set(partition, (marks = new Map()));
    const current = marks.get(key);
    if (current === undefined || offset > current) marks.set(key, offset);
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
}
