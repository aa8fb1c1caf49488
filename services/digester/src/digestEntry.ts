import { buildDigest } from '@opentrail/integrity';
import { failureDetail } from '@opentrail/runtime';
import type { Delivery } from '@opentrail/serde';
import { nextPeriodEnd, periodStart } from './periods.js';

/** How far the archivers' clocks may run ahead of this one. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Why a delivery cannot be listed in a digest, or undefined when it can (issue 19, class 2). Its
 * part of the digest is formatted when it arrives, not at the end of its period: there, a failure
 * would hold back its group's digests, and the partition's commits, at every tick for ever. The same
 * goes for a delivery from the far future, whose period would never end.
 */
export function undigestible(d: Delivery, periodMs: number, nowMs: number): string | undefined {
  if (!(d.deliveredAt < nowMs + periodMs + MAX_CLOCK_SKEW_MS)) return `deliveredAt ${d.deliveredAt} is more than a digest period (and ${MAX_CLOCK_SKEW_MS / 60_000} minutes of clock skew) ahead of this clock (${nowMs})`;
  try {
    const startMs = periodStart(d.deliveredAt, periodMs);
    buildDigest({
      accountId: d.accountId,
      startTimeMs: startMs,
      endTimeMs: nextPeriodEnd(startMs, periodMs),
      bucket: d.bucket,
      key: d.key,
      fingerprint: '',
      previous: null,
      logFiles: [{ bucket: d.bucket, key: d.key, sha256: d.sha256, oldestEventTimeMs: d.oldestEventTime, newestEventTimeMs: d.newestEventTime }],
    });
    return undefined;
  } catch (err) {
    return failureDetail(err);
  }
}
