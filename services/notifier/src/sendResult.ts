import type { OutboundResult } from '@opentrail/webhooks';

/** How one notification (a webhook request, an SNS message) ended on its target. */
export type SendResult =
  | { ok: true; attempts: number }
  /**
   * aborted: the notifier is stopping; the notification is neither sent nor given up on, and its
   * deliveries stay uncommitted for the next owner. Otherwise the target gave up (`code` says why)
   * and the deliveries are dead-lettered.
   */
  | { ok: false; aborted: boolean; attempts: number; code: string; detail: string; /** The target's own error code (SNS's NotFound, a webhook's HTTP status), for trail activity. */ targetCode?: string };

/**
 * A target's view of an outbound result: the code (OutboundError's closed list, or INTERNAL for a
 * sender that threw) is what metrics and dead letters are labelled with.
 */
export function sendResultOf(result: OutboundResult): SendResult {
  if (result.ok) return { ok: true, attempts: result.attempts };
  const { error } = result;
  return { ok: false, aborted: result.aborted, attempts: result.attempts, code: error.code, detail: `${error.message} after ${result.attempts} attempt(s)`, targetCode: error.targetCode ?? error.code };
}
