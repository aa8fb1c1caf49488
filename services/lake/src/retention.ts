import type { EventDataStoreCatalog } from '@opentrail/lake';
import type { Logger } from '@opentrail/observability';
import type { LakeMetrics } from './metrics.js';
import type { SegmentStore } from './segmentStore.js';

/**
 * Retention drops whole days: every `eventdate=` folder of a store older than its retention
 * period is deleted, never row by row. A store past PENDING_DELETION's seven days is removed with
 * its whole table. Runs in one instance's worth of work per interval; several instances running it
 * delete the same objects, which is harmless.
 */
export interface LakeRetentionOptions {
  catalog: EventDataStoreCatalog;
  segments: SegmentStore;
  intervalMs: number;
  metrics: LakeMetrics;
  logger: Logger;
  now?: () => number;
}

const DAY_MS = 86_400_000;
/** CloudTrail keeps a deleted store seven days before it is gone. */
export const PENDING_DELETION_DAYS = 7;

export function oldestKeptDay(nowMs: number, retentionDays: number): string {
  return new Date(nowMs - (retentionDays - 1) * DAY_MS).toISOString().slice(0, 10);
}

export function startLakeRetention(o: LakeRetentionOptions): { stop(): Promise<void> } {
  const now = o.now ?? Date.now;
  let running: Promise<void> | undefined;
  const run = async () => {
    for (const record of o.catalog.all()) {
      const d = record.definition;
      if (record.status === 'PENDING_DELETION') {
        if (record.deletedAt !== undefined && now() - record.deletedAt >= PENDING_DELETION_DAYS * DAY_MS) {
          const deleted = await o.segments.deleteUnder(d.id);
          if (deleted > 0) o.logger.info({ store: d.id, objects: deleted }, 'table of a deleted event data store removed');
        }
        continue;
      }
      const keepFrom = oldestKeptDay(now(), d.retentionPeriodDays);
      for (const day of await o.segments.days(d.id)) {
        if (day >= keepFrom) break;
        await o.segments.deleteUnder(d.id, `eventdate=${day}/`);
        o.metrics.daysDropped.inc();
        o.logger.info({ store: d.id, day, retentionDays: d.retentionPeriodDays }, 'day dropped by retention');
      }
    }
  };
  const tick = () => {
    running ??= run()
      .catch((err: unknown) => o.logger.warn({ err }, 'lake retention failed; it runs again at the next interval'))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, o.intervalMs);
  timer.unref();
  tick();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
