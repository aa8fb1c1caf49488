import type { KafkaProducer } from '@opentrail/runtime';
import type { Logger } from '@opentrail/observability';
import type { IdentityTable } from './identityTable.js';
import type { EnricherMetrics } from './metrics.js';

export interface IdentitySweeperOptions {
  table: IdentityTable;
  intervalMs: number;
  /** Where tombstones of evicted learned sessions go; none when undefined. */
  tombstones?: { producer: KafkaProducer; topic: string };
  logger: Logger;
  metrics: EnricherMetrics;
}

/**
 * Evicts expired keys from the table on a period, so memory stays bounded by the keys alive now, and
 * publishes a tombstone for each learned session it evicts: compaction then forgets the key, so the
 * topic (which every instance reads in full at start) does not grow with every session ever issued.
 * Every instance sweeps by the same rule, so a key may get a tombstone from each; they compact to one.
 */
export function startIdentitySweeper(options: IdentitySweeperOptions): { stop(): void } {
  const { table, logger, metrics: m } = options;
  let previousCapacityEvictions = 0;
  const sweep = async () => {
    const { evicted, learnedKeys } = table.sweep();
    if (evicted) m.evicted.inc({ reason: 'expired' }, evicted);
    if (table.evictedForCapacity > previousCapacityEvictions) {
      m.evicted.inc({ reason: 'capacity' }, table.evictedForCapacity - previousCapacityEvictions);
      previousCapacityEvictions = table.evictedForCapacity;
    }
    if (options.tombstones && learnedKeys.length > 0) {
      const { producer, topic } = options.tombstones;
      await producer.send({ topic, acks: -1, messages: learnedKeys.map((key) => ({ key, value: null })) });
    }
    if (evicted) logger.debug({ evicted, tombstones: learnedKeys.length, entries: table.size }, 'expired identities evicted');
  };
  const timer = setInterval(() => {
    sweep().catch((err: unknown) => logger.warn({ err }, 'publishing tombstones of expired sessions failed; the topic keeps them, and readers skip them as expired'));
  }, options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
