import type { ConsumedMessage, KafkaClient } from '@opentrail/runtime';
import type { Logger } from '@opentrail/observability';
import { StateTopicReader, type OutputMessage } from '@opentrail/runtime';
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
 * transactional producer; every instance follows the whole topic, and `catchUp` makes every head
 * the previous owner of a partition committed known before its first record (StateTopicReader in
 * @opentrail/runtime).
 */
export function groupKey(trailName: string, accountId: string, region: string): string {
  return `${trailName}|${accountId}|${region}`;
}

export class ChainState extends StateTopicReader {
  /** Committed heads read from the topic, per source partition. */
  private readonly committed = new Map<number, Map<string, DigesterState>>();

  constructor(
    private readonly options: { kafka: KafkaClient; topic: string; serde: AvroSerde<DigesterState>; consumerGroup: string; sourceTopic: string; logger: Logger },
  ) {
    super({ kafka: options.kafka, topic: options.topic, consumerGroup: options.consumerGroup, what: 'the digester state', logger: options.logger });
  }

  protected async apply(statePartition: number, messages: ConsumedMessage[]): Promise<void> {
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
}
