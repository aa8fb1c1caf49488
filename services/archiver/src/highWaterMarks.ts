import type { KafkaClient } from '@opentrail/runtime';
import type { Logger, ServiceMetrics } from '@opentrail/observability';
import { locateOwnState, PartitionedStateTable, type OutputMessage } from '@opentrail/runtime';
import type { ArchiverState, AvroSerde } from '@opentrail/serde';

/**
 * Per-group high-water marks: for each (trail, kind, account, region) group and input partition,
 * the last input offset already in a delivered log file. They live in a compacted topic, written in
 * the same Kafka transaction as the file's delivery record and the input offset commit, so a mark
 * is durable exactly when the delivery is. After a crash or a rebalance the partition is re-read
 * from its committed offset (the first record of its oldest file not yet delivered); records at or
 * below their group's mark are skipped, the others rebuild the same files under the same keys.
 *
 * Marks of input partition p go to partition p mod N of the state topic, written only by p's
 * transactional producer; every instance follows the whole topic, and `restore` makes every mark
 * the previous owner of a partition committed known before its first record is looked at
 * (PartitionedStateTable in @opentrail/runtime).
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
  /** Counts state records read and skipped as unreadable. */
  metrics?: ServiceMetrics;
}

export function groupKey(trailName: string, kind: GroupKind, accountId: string, region: string): string {
  return `${trailName}|${kind}|${accountId}|${region}`;
}

export class HighWaterMarks extends PartitionedStateTable<ArchiverState> {
  constructor(options: HighWaterMarksOptions) {
    super({
      ...options,
      what: 'the archiver state',
      locate: locateOwnState(options.consumerGroup, options.sourceTopic, (state) => groupKey(state.trailName, state.kind, state.accountId, state.region)),
      replaces: (next, current) => next.lastOffset > current.lastOffset,
    });
  }

  /** The last offset of a group in a source partition that a committed delivery holds, or -1 when none does. */
  get(sourcePartition: number, key: string): bigint {
    const mark = this.value(sourcePartition, key);
    return mark === undefined ? -1n : BigInt(mark.lastOffset);
  }

  /**
   * The state record of a delivered file, to go in the same transaction as its delivery record.
   * Until the reader reads it back, the owner keeps the mark itself (see Archiver): a mark whose
   * transaction never commits must not count for the partition's next owner, even in this process.
   */
  message(state: ArchiverState): OutputMessage {
    const key = groupKey(state.trailName, state.kind, state.accountId, state.region);
    return this.stateMessage(state.sourcePartition, `${state.consumerGroup}|${state.sourceTopic}|${state.sourcePartition}|${key}`, state);
  }
}
