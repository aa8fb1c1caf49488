import { dayOf, retentionCutoff, type PartitionManager } from '@opentrail/history';
import type { Logger } from '@opentrail/observability';
import type { HistoryMetrics } from './metrics.js';

export interface RetentionOptions {
  partitions: PartitionManager;
  retentionDays: number;
  intervalMs: number;
  metrics: HistoryMetrics;
  logger: Logger;
  now?: () => Date;
}

/**
 * Retention by partition: on start and every interval, drops the day partitions wholly older than
 * retentionDays (DROP TABLE: no row deletes, no vacuum debt) and creates today's and tomorrow's
 * ahead of the first event, so the hot path rarely takes the DDL lock. Several instances may run
 * it: the DDL is serialised by an advisory lock and is idempotent.
 */
export function startRetention(options: RetentionOptions): { runOnce(): Promise<string[]>; stop(): void } {
  const now = options.now ?? (() => new Date());
  const runOnce = async () => {
    const at = now();
    const dropped = await options.partitions.dropBefore(retentionCutoff(at, options.retentionDays));
    if (dropped.length > 0) {
      options.metrics.partitionsDropped.inc(dropped.length);
      options.logger.info({ dropped, retentionDays: options.retentionDays }, 'retention dropped day partitions');
    }
    await options.partitions.ensure([dayOf(at.getTime()), dayOf(at.getTime() + 86_400_000)]);
    return dropped;
  };
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = runOnce().catch((err: unknown) => options.logger.warn({ err }, 'retention failed; it runs again at the next interval'));
  };
  tick();
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return {
    runOnce,
    stop: () => {
      clearInterval(timer);
      void running;
    },
  };
}
