/**
 * The seeded fault schedule: the same seed gives the same faults, targets, moments and times, so
 * a failure found by a run is reproduced with its seed.
 */
import type { ServiceName } from './pipeline.js';

/**
 * When, within a service's work, a kill lands: the run watches the instance's metrics and kills
 * it as soon as the named step is seen happening (`random`: at the scheduled time).
 *   roll    the archiver closed a log file (its upload, delivery and commit follow)
 *   upload  the archiver has log files waiting for or in upload
 *   digest  the digester stored a digest (the chain's next link and commit follow)
 *   commit  a transaction or offset commit just went through (the next is under way)
 */
export type Moment = 'random' | 'roll' | 'upload' | 'digest' | 'commit';

export type Fault =
  | { kind: 'kill'; instance: string; service: ServiceName; moment: Moment }
  | { kind: 'sigterm'; instance: string; service: ServiceName }
  | { kind: 'broker-restart' }
  | { kind: 's3-outage'; seconds: number }
  | { kind: 'postgres-restart' };

export interface ScheduledFault {
  /** Seconds after traffic starts. */
  at: number;
  fault: Fault;
}

/** mulberry32: small, fast, and the same sequence on every platform for a seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The moments each service's kills go through in turn (the first kill of the archiver lands on a roll, …). */
const MOMENTS: Record<ServiceName, Moment[]> = {
  enricher: ['commit', 'random'],
  archiver: ['roll', 'upload', 'random'],
  digester: ['digest', 'random'],
  notifier: ['random'],
  alerter: ['commit', 'random'],
  history: ['commit', 'random'],
  api: ['random'],
};

export interface ScheduleOptions {
  seed: number;
  /** Seconds of traffic; faults fall between `settle` seconds after its start and `settle` before its end. */
  durationSeconds: number;
  /** Instance names by service (instanceNames of the demo's supervisor). */
  instances: Map<ServiceName, string[]>;
  /** SIGKILLs of each service over the run. */
  killsPerService: number;
  /** @default 20 */
  settleSeconds?: number;
  /** @default 30 */
  s3OutageSeconds?: number;
  /** Only faults of these kinds (e.g. kill and sigterm, to time recovery without stack faults). @default all */
  kinds?: ReadonlySet<Fault['kind']>;
}

/**
 * Every service killed `killsPerService` times (instance and moment chosen per kill), one SIGTERM of
 * an archiver and of an enricher instance (the planned hand-over), a broker restart, an S3 outage
 * and a PostgreSQL restart, in a seeded order at evenly spread, jittered times.
 */
export function faultSchedule(options: ScheduleOptions): ScheduledFault[] {
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const faults: Fault[] = [];
  for (const [service, names] of options.instances) {
    for (let k = 0; k < options.killsPerService; k++) {
      const moments = MOMENTS[service];
      faults.push({ kind: 'kill', service, instance: pick(names), moment: moments[k % moments.length]! });
    }
  }
  for (const service of ['archiver', 'enricher'] as const) {
    const names = options.instances.get(service);
    if (names) faults.push({ kind: 'sigterm', service, instance: pick(names) });
  }
  faults.push({ kind: 'broker-restart' }, { kind: 's3-outage', seconds: options.s3OutageSeconds ?? 30 }, { kind: 'postgres-restart' });
  const kept = options.kinds ? faults.filter((f) => options.kinds!.has(f.kind)) : faults;
  faults.splice(0, faults.length, ...kept);
  // Fisher–Yates with the seeded generator.
  for (let i = faults.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [faults[i], faults[j]] = [faults[j]!, faults[i]!];
  }
  const settle = options.settleSeconds ?? 20;
  const span = Math.max(1, options.durationSeconds - 2 * settle);
  const slot = span / faults.length;
  return faults.map((fault, i) => ({ at: Math.round(settle + slot * i + random() * slot * 0.5), fault }));
}

export function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case 'kill':
      return `SIGKILL ${fault.instance}${fault.moment === 'random' ? '' : ` (on ${fault.moment})`}`;
    case 'sigterm':
      return `SIGTERM ${fault.instance}`;
    case 'broker-restart':
      return 'broker restart';
    case 's3-outage':
      return `S3 unavailable ${fault.seconds} s`;
    case 'postgres-restart':
      return 'PostgreSQL restart';
  }
}
