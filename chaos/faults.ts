/**
 * Carrying out one fault of the schedule, and timing the recovery from it.
 */
import type { ChildProcess } from 'node:child_process';
import type { Supervisor } from '../packages/cli/src/demo/supervisor.js';
import { metricEnding, recovered, scrape, type Baseline, type Observer } from './observe.js';
import type { Instance, Pipeline, ServiceName } from './pipeline.js';
import type { Fault, Moment } from './schedule.js';
import type { ChaosStack } from './stack.js';

/** The metric whose change marks each moment (an instance's own /metrics), and whether it must grow or be non-zero. */
const MOMENT_SIGNS: Record<Exclude<Moment, 'random'>, { suffix: string; when: 'grows' | 'nonzero' }> = {
  roll: { suffix: '_rolls_total', when: 'grows' },
  upload: { suffix: '_pending_log_files', when: 'nonzero' },
  digest: { suffix: '_digests_written_total', when: 'grows' },
  commit: { suffix: '_offset_commits_total', when: 'grows' },
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Waits (up to `timeoutMs`) for the instance to be at the moment, polling its metrics every 50 ms.
 * Resolves whether the moment was seen; the kill follows at once either way.
 */
async function awaitMoment(instance: Instance, moment: Moment, timeoutMs: number): Promise<boolean> {
  if (moment === 'random') return true;
  const sign = MOMENT_SIGNS[moment];
  const first = await scrape(instance);
  const before = first ? metricEnding(first, sign.suffix) : 0;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const now = await scrape(instance);
    const value = now ? metricEnding(now, sign.suffix) : 0;
    if (sign.when === 'grows' ? value > before : value > 0) return true;
    await sleep(50);
  }
  return false;
}

/** Waits (up to `timeoutMs`) until the instance reports at least one assigned partition. */
async function awaitOwning(instance: Instance, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const metrics = await scrape(instance);
    if (metrics && metricEnding(metrics, '_assigned_partitions') > 0) return true;
    await sleep(250);
  }
  return false;
}

export interface FaultOutcome {
  fault: Fault;
  /** ms since epoch: when the fault was applied, and when it ended (an outage restored; else = startedAt). */
  startedAt: number;
  endedAt: number;
  /** For timed kills: whether the moment was seen before the kill; for a scale-in: whether the instance owned a partition. */
  momentSeen?: boolean;
  /** ms from the fault to the instances of the affected service(s) owning every partition again. */
  ownedAfterMs?: number;
  /** ms from the end of the fault to full recovery (ready, partitions owned, lag normal); undefined: not within the limit. */
  recoveredAfterMs?: number;
  /** The services that were not recovered when the limit passed, with their state. */
  notRecovered?: string;
}

function signal(child: ChildProcess | undefined, sig: NodeJS.Signals): void {
  if (child && child.exitCode === null && child.signalCode === null) child.kill(sig);
}

export async function applyFault(fault: Fault, context: { stack: ChaosStack; supervisor: Supervisor; instances: Instance[]; pipeline: Pick<Pipeline, 'addInstance' | 'retireInstance'> }): Promise<{ startedAt: number; endedAt: number; momentSeen?: boolean }> {
  switch (fault.kind) {
    case 'kill': {
      const instance = context.instances.find((i) => i.name === fault.instance)!;
      const momentSeen = await awaitMoment(instance, fault.moment, 30_000);
      const startedAt = Date.now();
      signal(context.supervisor.child(fault.instance), 'SIGKILL');
      return { startedAt, endedAt: startedAt, momentSeen };
    }
    case 'sigterm': {
      const startedAt = Date.now();
      signal(context.supervisor.child(fault.instance), 'SIGTERM');
      return { startedAt, endedAt: startedAt };
    }
    case 'broker-restart': {
      const startedAt = Date.now();
      await context.stack.restartBroker();
      return { startedAt, endedAt: Date.now() };
    }
    case 's3-outage': {
      const startedAt = Date.now();
      await context.stack.cutS3();
      await sleep(fault.seconds * 1000);
      await context.stack.restoreS3();
      return { startedAt, endedAt: Date.now() };
    }
    case 'postgres-restart': {
      const startedAt = Date.now();
      await context.stack.restartPostgres();
      return { startedAt, endedAt: Date.now() };
    }
    case 'scale-out': {
      const startedAt = Date.now();
      await context.pipeline.addInstance(fault.service, fault.instance);
      return { startedAt, endedAt: startedAt };
    }
    case 'scale-in': {
      // A scale-in takes an instance that has joined and holds partitions (as an autoscaler's
      // would, minutes after the scale-out), not one still starting: up to 90 s to get there.
      const instance = context.instances.find((i) => i.name === fault.instance);
      const momentSeen = instance ? await awaitOwning(instance, 90_000) : false;
      const startedAt = Date.now();
      // The hand-over is timed from the SIGTERM; the instance's own flush and exit go on meanwhile.
      void context.pipeline.retireInstance(fault.instance);
      return { startedAt, endedAt: startedAt, momentSeen };
    }
  }
}

/** The services a fault touches: one for a kill or SIGTERM, every one for the stack's faults. */
export function affectedServices(fault: Fault, all: readonly ServiceName[]): ServiceName[] {
  return 'service' in fault ? [fault.service] : [...all];
}

/**
 * Polls (every 250 ms) until each affected service owns its partitions again and then is fully
 * recovered; gives up after `limitMs` from the end of the fault. After a scale-out, `joining` (the
 * added instance) must own a partition too, while it runs: the hand-over is done when it serves its share.
 */
export async function timeRecovery(
  observer: Observer,
  services: ServiceName[],
  baselines: Map<ServiceName, Baseline>,
  lagBound: number,
  applied: { startedAt: number; endedAt: number },
  limitMs: number,
  joining?: string,
): Promise<Pick<FaultOutcome, 'ownedAfterMs' | 'recoveredAfterMs' | 'notRecovered'>> {
  let ownedAt: number | undefined;
  let sawGap = false;
  let last = '';
  while (Date.now() - applied.endedAt < limitMs) {
    const states = await Promise.all(services.map(async (s) => [s, await observer.state(s)] as const));
    const owning = states.every(([s, state]) => state.owned >= baselines.get(s)!.owned && (joining === undefined || !state.ownedBy.has(joining) || state.ownedBy.get(joining)! > 0));
    // Partitions count as served again once a gap was seen and closed: a poll right after the
    // signal can still see the stopping instance's gauge. A hand-over too quick for the 250 ms
    // polls to see a gap counts as none.
    if (!owning) sawGap = true;
    if (owning && ownedAt === undefined && (sawGap || Date.now() - applied.startedAt > 3000)) ownedAt = sawGap ? Date.now() : applied.startedAt;
    if (states.every(([s, state]) => recovered(state, baselines.get(s)!, lagBound)) && ownedAt !== undefined) {
      return { ownedAfterMs: ownedAt - applied.startedAt, recoveredAfterMs: Date.now() - applied.endedAt };
    }
    last = states
      .filter(([s, state]) => !recovered(state, baselines.get(s)!, lagBound))
      .map(([s, state]) => `${s}: ready=${state.ready} owned=${state.owned}/${baselines.get(s)!.owned} lag=${state.lag ?? '?'}`)
      .join(', ');
    await sleep(250);
  }
  return { ownedAfterMs: ownedAt === undefined ? undefined : ownedAt - applied.startedAt, notRecovered: last };
}
