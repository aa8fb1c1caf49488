import type { TrailActivity, TrailActivitySource } from './trailOperations.js';

/**
 * GetTrailStatus' facts come from two places: the deliveries topic (every log file and digest
 * delivered, which ApiState follows) and the trail activity topic (attempts, errors and
 * notifications, which the archiver, digester and notifier write at a bounded rate). Each time is
 * the later of the two, so a delivery shows at once even before its activity record is written;
 * errors and attempt times only the activity topic knows.
 */
export function combinedActivity(...sources: TrailActivitySource[]): TrailActivitySource {
  return {
    activity(trailName: string): TrailActivity {
      const out: TrailActivity = {};
      for (const source of sources) {
        const a = source.activity(trailName);
        for (const key of TIMES) {
          const value = a[key];
          if (value !== undefined) out[key] = Math.max(out[key] ?? value, value);
        }
        for (const key of ERRORS) {
          const value = a[key];
          if (value !== undefined) out[key] ??= value;
        }
      }
      return out;
    },
  };
}

const TIMES = ['latestDeliveryTime', 'latestDeliveryAttemptTime', 'latestDigestDeliveryTime', 'latestNotificationTime', 'latestNotificationAttemptTime'] as const;
const ERRORS = ['latestDeliveryError', 'latestDigestDeliveryError', 'latestNotificationError'] as const;
