/**
 * What "recovered" means, measured from outside as an operator would: every instance answers
 * /readyz, the instances together own as many partitions as before any fault (their
 * `assigned_partitions` gauges), and each consumer group's lag (committed offsets against the
 * partitions' ends, from the broker) is back to its level before the faults.
 */
import type { KafkaAdmin } from '@opentrail/runtime';
import type { consumerGroups, Instance, ServiceName } from './pipeline.js';

export interface ServiceState {
  ready: boolean;
  /** Partitions the live instances own together (every consumer of the service). */
  owned: number;
  /** The same by instance name (an unreachable instance counts 0). */
  ownedBy: Map<string, number>;
  /** Messages behind the end, summed over the source topic's partitions; undefined if unknown. */
  lag: number | undefined;
}

/** A Prometheus text exposition's samples summed by metric name (labels dropped). */
export function sumByMetric(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const brace = line.indexOf('{');
    const name = line.slice(0, brace >= 0 && brace < space ? brace : space);
    const value = Number(line.slice(space + 1));
    if (Number.isFinite(value)) sums.set(name, (sums.get(name) ?? 0) + value);
  }
  return sums;
}

/** The one sample whose name ends with `suffix` (e.g. `_rolls_total`), summed; 0 if none. */
export function metricEnding(sums: Map<string, number>, suffix: string): number {
  let total = 0;
  for (const [name, value] of sums) if (name.endsWith(suffix)) total += value;
  return total;
}

export async function scrape(instance: Instance): Promise<Map<string, number> | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${instance.port}/metrics`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? sumByMetric(await res.text()) : undefined;
  } catch {
    return undefined;
  }
}

async function isReady(instance: Instance): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${instance.port}/readyz`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

export class Observer {
  constructor(
    private readonly admin: KafkaAdmin,
    private readonly instances: Instance[],
    private readonly groups: ReturnType<typeof consumerGroups>,
  ) {}

  async state(service: ServiceName): Promise<ServiceState> {
    const mine = this.instances.filter((i) => i.service === service);
    const [ready, metrics, lag] = await Promise.all([Promise.all(mine.map(isReady)), Promise.all(mine.map(scrape)), this.lag(service)]);
    const ownedBy = new Map(mine.map((instance, i) => [instance.name, metrics[i] ? metricEnding(metrics[i], '_assigned_partitions') : 0]));
    const owned = [...ownedBy.values()].reduce((sum, n) => sum + n, 0);
    return { ready: ready.every(Boolean), owned, ownedBy, lag };
  }

  /** Summed over the service's groups: what each group has yet to read of its source topic. */
  private async lag(service: ServiceName): Promise<number | undefined> {
    const source = this.groups[service];
    if (!source) return 0;
    try {
      const ends = await this.admin.fetchTopicOffsets(source.topic);
      let lag = 0;
      for (const groupId of source.groupIds) {
        const committed = await this.admin.fetchOffsets({ groupId, topics: [source.topic] });
        const at = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
        lag += ends.reduce((sum, end) => sum + Math.max(0, Number(end.high) - Math.max(0, at.get(end.partition) ?? 0)), 0);
      }
      return lag;
    } catch {
      return undefined;
    }
  }
}

/** The steady state before any fault: partitions owned and the lag a service normally runs with. */
export interface Baseline {
  owned: number;
  lag: number;
}

/** Recovered: every instance ready, as many partitions owned as before, the lag back under its normal bound. */
export function recovered(state: ServiceState, baseline: Baseline, lagBound: number): boolean {
  return state.ready && state.owned >= baseline.owned && state.lag !== undefined && state.lag <= Math.max(lagBound, baseline.lag * 2);
}
