import type { ConsumedMessage, KafkaClient } from '@opentrail/runtime';
import type { Logger } from '@opentrail/observability';
import { StateTopicReader, type OutputMessage } from '@opentrail/runtime';
import { SerdeError, type AlerterState, type AlerterStateKind, type AvroSerde } from '@opentrail/serde';
import type { StateChange } from './partitionEvaluator.js';

export interface StateChangelogOptions {
  kafka: KafkaClient;
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
 * transactional producer; every instance follows the whole topic, and `restore` waits until the
 * reader has read the state partition up to its last stable offset (StateTopicReader in
 * @opentrail/runtime).
 */
export class StateChangelog extends StateTopicReader {
  /** Committed state per source partition: message key → entry. */
  private readonly committed = new Map<number, Map<string, StateEntry>>();

  constructor(private readonly options: StateChangelogOptions) {
    super({ kafka: options.kafka, topic: options.topic, consumerGroup: options.consumerGroup, what: 'the alerter state', logger: options.logger });
  }

  protected async apply(_statePartition: number, messages: ConsumedMessage[]): Promise<void> {
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

  /**
   * The committed state of a source partition, once everything committed for it before this call
   * has been read. Call it after the partition's transactional producer has fenced the previous owner.
   */
  async restore(sourcePartition: number, signal?: AbortSignal): Promise<StateEntry[]> {
    await this.catchUp(sourcePartition, signal);
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
}
