import type { KafkaClient } from '@opentrail/runtime';
import type { Logger, ServiceMetrics } from '@opentrail/observability';
import { PartitionedStateTable, type OutputMessage } from '@opentrail/runtime';
import type { AlerterState, AlerterStateKind, AvroSerde } from '@opentrail/serde';
import type { StateChange } from './partitionEvaluator.js';

export interface StateChangelogOptions {
  kafka: KafkaClient;
  topic: string;
  serde: AvroSerde<AlerterState>;
  /** The alerter's consumer group: state of other deployments sharing the topic is ignored. */
  consumerGroup: string;
  sourceTopic: string;
  logger: Logger;
  /** Counts state records read and skipped as unreadable. */
  metrics?: ServiceMetrics;
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
 * reader has read the state partition up to its last stable offset (PartitionedStateTable in
 * @opentrail/runtime).
 */
export class StateChangelog extends PartitionedStateTable<AlerterState> {
  constructor(private readonly changelog: StateChangelogOptions) {
    const { consumerGroup, sourceTopic } = changelog;
    super({
      ...changelog,
      what: 'the alerter state',
      // A window that closed leaves a tombstone: only the message key says whose it was.
      locate: (key) => {
        const parsed = changelogKey(key);
        return parsed && parsed.consumerGroup === consumerGroup && parsed.sourceTopic === sourceTopic ? { sourcePartition: parsed.sourcePartition, key } : undefined;
      },
    });
  }

  /** The changelog messages of a batch's state changes, for the batch's transaction. */
  messages(sourcePartition: number, changes: readonly StateChange[], now: number): OutputMessage[] {
    const { consumerGroup, sourceTopic } = this.changelog;
    return changes.map((change) =>
      this.stateMessage(
        sourcePartition,
        JSON.stringify([consumerGroup, sourceTopic, sourcePartition, change.kind, change.key]),
        change.state === null ? null : { consumerGroup, sourceTopic, sourcePartition, kind: change.kind, key: change.key, state: change.state, updatedAt: now },
      ),
    );
  }
}

/** A changelog message key, `[consumerGroup, sourceTopic, sourcePartition, kind, key]` as JSON; undefined if it is not one (keys are input). */
export function changelogKey(key: string): { consumerGroup: string; sourceTopic: string; sourcePartition: number } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(key);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 5) return undefined;
  const [consumerGroup, sourceTopic, sourcePartition, kind, stateKey] = parsed as unknown[];
  if (typeof consumerGroup !== 'string' || typeof sourceTopic !== 'string' || typeof kind !== 'string' || typeof stateKey !== 'string') return undefined;
  if (typeof sourcePartition !== 'number' || !Number.isSafeInteger(sourcePartition) || sourcePartition < 0) return undefined;
  return { consumerGroup, sourceTopic, sourcePartition };
}
