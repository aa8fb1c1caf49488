import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type GaugeConfiguration } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * One Prometheus registry per service, with the process and Node.js defaults, and helpers that
 * name metrics `opentrail_<service>_<name>` (Prometheus conventions: `_total` counters, base units
 * `_seconds` and `_bytes`).
 */
export class ServiceMetrics {
  readonly registry = new Registry();

  constructor(readonly service: string) {
    collectDefaultMetrics({ register: this.registry });
  }

  name(metric: string): string {
    return `opentrail_${this.service}_${metric}`;
  }

  counter<L extends string>(metric: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return this.getOr(metric, () => new Counter<L>({ name: this.name(metric), help, labelNames, registers: [this.registry] }));
  }

  gauge<L extends string>(metric: string, help: string, labelNames: readonly L[] = [], collect?: GaugeConfiguration<L>['collect']): Gauge<L> {
    return this.getOr(metric, () => new Gauge<L>({ name: this.name(metric), help, labelNames, collect, registers: [this.registry] }));
  }

  histogram<L extends string>(metric: string, help: string, labelNames: readonly L[] = [], buckets?: number[]): Histogram<L> {
    return this.getOr(metric, () => new Histogram<L>({ name: this.name(metric), help, labelNames, buckets, registers: [this.registry] }));
  }

  /** Library code may ask for the same metric twice (two processors in one service). */
  private getOr<M>(metric: string, create: () => M): M {
    return (this.registry.getSingleMetric(this.name(metric)) as M | undefined) ?? create();
  }
}

/** Latency buckets from 5 ms to 10 minutes: end-to-end delivery spans seconds to the roll interval and beyond. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600];
