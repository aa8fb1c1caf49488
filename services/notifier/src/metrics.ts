import { LATENCY_BUCKETS, type ServiceMetrics } from '@opentrail/observability';
import { outboundMetrics } from '@opentrail/webhooks';

const BREAKER_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

/**
 * The notifier's metrics (opentrail_notifier_*), each labelled by target (`sns:<topic ARN>`,
 * `webhook:<name>`, `kafka`), beside the runtime's events_in/out and commits. The runtime's
 * consumer_lag is shared by the targets' consumers; target_lag is the one per target.
 */
export function notifierMetrics(metrics: ServiceMetrics, breakers: () => Iterable<[target: string, state: keyof typeof BREAKER_VALUE]>) {
  return {
    sent: metrics.counter('notifications_sent_total', 'Notifications a target accepted (an SNS message may announce several deliveries)', ['target']),
    deliveriesNotified: metrics.counter('deliveries_notified_total', 'Deliveries announced to a target', ['target']),
    failed: metrics.counter('notification_attempts_failed_total', 'Failed attempts to notify a target, by result (HTTP status or error code)', ['target', 'result']),
    retried: metrics.counter('notification_retries_total', 'Attempts after the first', ['target']),
    deadLettered: metrics.counter('notifications_dead_lettered_total', 'Deliveries whose notification a target gave up on (dead-lettered), by error code', ['target', 'code']),
    skipped: metrics.counter('deliveries_skipped_total', 'Deliveries of a target\'s trails not announced to it: kind (not announced to this target, e.g. digests) or unknown_trail (no such trail in the configuration)', ['target', 'reason']),
    latency: metrics.histogram('notification_latency_seconds', 'From a delivery (its deliveredAt) to its notification being accepted by the target', ['target'], LATENCY_BUCKETS),
    snsBatchKeys: metrics.histogram('sns_message_keys', 'Object keys per SNS message', ['target'], [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000]),
    inFlight: metrics.gauge('notifications_in_flight', 'Deliveries a target has read but not yet announced or dead-lettered', ['target']),
    lag: metrics.gauge('target_lag', 'Deliveries on the partition a target has not finished yet (its commit is that far behind the end)', ['target', 'partition']),
    /** The delivery module's own metrics (opentrail_notifier_outbound_*), per destination. */
    outbound: outboundMetrics(metrics),
    breaker: metrics.gauge('breaker_state', 'Circuit breaker of a target: 0 closed, 1 half-open, 2 open', ['target'], function collect() {
      for (const [target, state] of breakers()) this.set({ target }, BREAKER_VALUE[state]);
    }),
  };
}

export type NotifierMetrics = ReturnType<typeof notifierMetrics>;
