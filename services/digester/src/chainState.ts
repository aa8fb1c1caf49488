import type { KafkaClient } from '@opentrail/runtime';
import type { Logger, ServiceMetrics } from '@opentrail/observability';
import { locateOwnState, PartitionedStateTable, type OutputMessage } from '@opentrail/runtime';
import type { AvroSerde, DigesterState } from '@opentrail/serde';

/**
 * Chain heads: for each (trail, account, region) group, the last digest written (key, SHA-256,
 * signature, period) and the last input offset it lists. They live in a compacted topic, written in
 * the same Kafka transaction as the digest's delivery record and the input offset commit, so a head
 * is durable exactly when the offsets behind it are committed. The digest object itself is stored
 * in S3 before that transaction: after a crash in between, the next owner writes the same period
 * again, under the same key, chained to the same previous digest.
 *
 * Heads of input partition p go to partition p mod N of the state topic, written only by p's
 * transactional producer; every instance follows the whole topic, and `restore` makes every head
 * the previous owner of a partition committed known before its first record (PartitionedStateTable
 * in @opentrail/runtime).
 */
export function groupKey(trailName: string, accountId: string, region: string): string {
  return `${trailName}|${accountId}|${region}`;
}

export interface ChainStateOptions {
  kafka: KafkaClient;
  topic: string;
  serde: AvroSerde<DigesterState>;
  /** The digester's consumer group: heads of other deployments sharing the topic are ignored. */
  consumerGroup: string;
  sourceTopic: string;
  logger: Logger;
  /** Counts state records read and skipped as unreadable. */
  metrics?: ServiceMetrics;
}

export class ChainState extends PartitionedStateTable<DigesterState> {
  constructor(options: ChainStateOptions) {
    super({
      ...options,
      what: 'the digester state',
      locate: locateOwnState(options.consumerGroup, options.sourceTopic, (state) => groupKey(state.trailName, state.accountId, state.region)),
      replaces: (next, current) => next.lastDigestEndTime >= current.lastDigestEndTime,
    });
  }

  /** The state record of a digest, to go in the same transaction as its delivery record. */
  message(state: DigesterState): OutputMessage {
    return this.stateMessage(state.sourcePartition, `${state.consumerGroup}|${state.sourceTopic}|${groupKey(state.trailName, state.accountId, state.region)}`, state);
  }
}
