import type { ServiceMetrics } from '@opentrail/observability';
import type { BreakerState } from './breaker.js';
import type { OutboundChannel, OutboundObserver, OutboundResult } from './outboundChannel.js';

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** Label of the destinations past the limit: they still count, together. */
export const OTHER_DESTINATIONS = 'other';

export interface OutboundMetricsOptions {
  /** Distinct destination labels before the rest are counted as `other`. @default 64 */
  maxDestinations?: number;
}

/**
 * The outbound delivery metrics of a service (opentrail_<service>_outbound_*), per destination:
 * attempts by result (HTTP status or error code), delivery results by outcome (sent, aborted or the
 * code it was given up with) and the breaker state. Destinations come from configuration and trails
 * (data), so their label values are capped: past `maxDestinations` they share the label `other`.
 */
export function outboundMetrics(metrics: ServiceMetrics, options: OutboundMetricsOptions = {}): OutboundObserver {
  const maxDestinations = options.maxDestinations ?? 64;
  const labels = new Set<string>();
  const label = (destination: string): string => {
    if (labels.has(destination)) return destination;
    if (labels.size >= maxDestinations) return OTHER_DESTINATIONS;
    labels.add(destination);
    return destination;
  };
  // The latest channel per destination: a target that is stopped and started again replaces its old one.
  const channels = new Map<string, OutboundChannel<never>>();
  const attempts = metrics.counter('outbound_attempts_total', 'Outbound attempts (webhook requests, SNS publishes), by destination and result (HTTP status or error code)', ['destination', 'result']);
  const results = metrics.counter('outbound_results_total', 'Outbound deliveries by destination and outcome: sent, aborted (shutdown) or the code they were given up with', ['destination', 'outcome']);
  metrics.gauge('outbound_breaker_state', 'Circuit breaker of a destination: 0 closed, 1 half-open, 2 open', ['destination'], function collect() {
    this.reset();
    // Destinations over the limit share `other`: it shows the worst of their states.
    const worst = new Map<string, number>();
    for (const [destination, channel] of channels) {
      const key = label(destination);
      worst.set(key, Math.max(worst.get(key) ?? 0, BREAKER_VALUE[channel.breakerState]));
    }
    for (const [destination, value] of worst) this.set({ destination }, value);
  });
  return {
    attempt(destination, info) {
      attempts.inc({ destination: label(destination), result: info.status !== undefined ? String(info.status) : (info.error?.code ?? 'OK') });
    },
    result(destination, result: OutboundResult) {
      results.inc({ destination: label(destination), outcome: result.ok ? 'sent' : result.aborted ? 'aborted' : result.error.code });
    },
    track(channel) {
      channels.set(channel.destination, channel);
    },
  };
}
