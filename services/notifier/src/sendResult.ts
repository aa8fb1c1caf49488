/** How one notification (a webhook request, an SNS message) ended on its target. */
export type SendResult =
  | { ok: true; attempts: number }
  /**
   * aborted: the notifier is stopping; the notification is neither sent nor given up on, and its
   * deliveries stay uncommitted for the next owner. Otherwise the target gave up (`code` says why)
   * and the deliveries are dead-lettered.
   */
  | { ok: false; aborted: boolean; attempts: number; code: string; detail: string; /** The target's own error code (SNS's NotFound, a webhook's HTTP status), for trail activity. */ targetCode?: string };
