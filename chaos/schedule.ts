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
  | { kind: 'postgres-restart' }
  /** An extra instance of the service is started: it joins the group and takes partitions. */
  | { kind: 'scale-out'; instance: string; service: ServiceName }
  /** SIGTERM of an instance that is not restarted: the group shrinks. */
  | { kind: 'scale-in'; instance: string; service: ServiceName };

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
  /** Scale-outs of each scalable service (archiver, enricher, history), each followed later by a scale-in. @default 1 */
  scalesPerService?: number;
  /** Only faults of these kinds (scale-out or scale-in keeps both: they come in pairs) (e.g. kill and sigterm, to time recovery without stack faults). @default all */
  kinds?: ReadonlySet<Fault['kind']>;
}

/** The services the schedule scales out and in: consumer-group services with work to hand over. */
export const SCALABLE: readonly ServiceName[] = ['archiver', 'enricher', 'history'];

/** The name an added instance gets: the next free `service-N` after the `taken` ones. */
function nextInstanceName(service: string, taken: Set<string>): string {
  for (let n = 2; ; n++) if (!taken.has(`${service}-${n}`)) return `${service}-${n}`;
}

/**
 * Every service killed `killsPerService` times, and at least once at each of its moments (instance
 * and moment chosen per kill), one SIGTERM of an archiver and of an enricher instance (the planned
 * hand-over), a broker restart, an S3 outage, a PostgreSQL restart, and `scalesPerService`
 * scale-outs and as many scale-ins of the archiver, enricher and history, in a seeded order at
 * evenly spread, jittered times.
 *
 * Kills and SIGTERMs target the instances the run starts with; a scale-in retires an instance a
 * scale-out added. A kill that waits for its moment (up to 30 s) then never finds its instance
 * retired under it, and a service never shrinks below its starting size. The scale faults of a
 * service alternate out, in, out, … in the schedule's order, so the group grows and shrinks by one.
 */
export function faultSchedule(options: ScheduleOptions): ScheduledFault[] {
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  type Slot = Fault | { kind: 'scale'; service: ServiceName };
  const slots: Slot[] = [];
  for (const [service, names] of options.instances) {
    const moments = MOMENTS[service];
    const kills = Math.max(options.killsPerService, moments.filter((m) => m !== 'random').length);
    for (let k = 0; k < kills; k++) slots.push({ kind: 'kill', service, instance: pick(names), moment: moments[k % moments.length]! });
  }
  for (const service of ['archiver', 'enricher'] as const) {
    const names = options.instances.get(service);
    if (names) slots.push({ kind: 'sigterm', service, instance: pick(names) });
  }
  slots.push({ kind: 'broker-restart' }, { kind: 's3-outage', seconds: options.s3OutageSeconds ?? 30 }, { kind: 'postgres-restart' });
  for (const service of SCALABLE) {
    if (!options.instances.has(service)) continue;
    for (let k = 0; k < 2 * (options.scalesPerService ?? 1); k++) slots.push({ kind: 'scale', service });
  }
  const wanted = (kind: Slot['kind']) => !options.kinds || (kind === 'scale' ? options.kinds.has('scale-out') || options.kinds.has('scale-in') : options.kinds.has(kind));
  const kept = slots.filter((s) => wanted(s.kind));
  // Fisher–Yates with the seeded generator.
  for (let i = kept.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kept[i], kept[j]] = [kept[j]!, kept[i]!];
  }
  // The scale slots become faults in the schedule's order: out, in, out, … per service, the
  // scale-in taking one of the added instances still running (seeded).
  const taken = new Set([...options.instances.values()].flat());
  const added = new Map<ServiceName, string[]>();
  const faults: Fault[] = kept.map((slot) => {
    if (slot.kind !== 'scale') return slot;
    const live = added.get(slot.service) ?? [];
    added.set(slot.service, live);
    if (live.length === 0) {
      const instance = nextInstanceName(slot.service, taken);
      taken.add(instance);
      live.push(instance);
      return { kind: 'scale-out', service: slot.service, instance };
    }
    const [instance] = live.splice(Math.floor(random() * live.length), 1);
    return { kind: 'scale-in', service: slot.service, instance: instance! };
  });
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
    case 'scale-out':
      return `scale-out: ${fault.instance} started`;
    case 'scale-in':
      return `scale-in: ${fault.instance} SIGTERM, not restarted`;
  }
}
