import type { Counter } from 'prom-client';
import type { ServiceMetrics } from './metrics.js';

/**
 * Conditions that pass by themselves and that the runtime handles (a leader election, a registry
 * still starting, concurrent transactions): logged below error level, and counted here so that a
 * condition that does not pass shows on a dashboard even though no line says "error".
 * `source` is where it was met (startup, kafka, …); `condition` a name from a closed list.
 */
export function transientCounter(metrics: ServiceMetrics): Counter<'source' | 'condition'> {
  return metrics.counter('transient_conditions_total', 'Transient conditions met and handled (retried), by where and which', ['source', 'condition']);
}
