import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { SERVICE_EXIT } from '@opentrail/config';
import { OpentrailError } from '@opentrail/errors';

/**
 * Services that may run as several instances: the consumer-group services. The API listens on the
 * one port of the configuration file, so a second instance could not start beside the first.
 */
const SINGLE_INSTANCE = new Set(['api']);

/**
 * `--replicas archiver=3,enricher=2` (or the configuration's `demo.replicas`) as instance counts
 * by service; services not named run once. Throws on an unknown service or a count that is not a
 * whole number from 1 to 16, naming it.
 */
export function parseReplicas(spec: string | Record<string, unknown> | undefined, services: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>(services.map((name) => [name, 1]));
  if (spec === undefined || spec === '') return counts;
  const pairs: [string, unknown][] =
    typeof spec === 'string'
      ? spec.split(',').map((part) => {
          const [name = '', count, ...rest] = part.trim().split('=');
          if (count === undefined || rest.length) throw new Error(`--replicas: "${part.trim()}" is not SERVICE=COUNT`);
          return [name.trim(), Number(count.trim())];
        })
      : Object.entries(spec);
  for (const [name, count] of pairs) {
    if (!counts.has(name)) throw new Error(`--replicas: unknown service "${name}" (services: ${services.join(', ')})`);
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 16) throw new Error(`--replicas: ${name}=${String(count)} is not a whole number from 1 to 16`);
    if (count > 1 && SINGLE_INSTANCE.has(name)) throw new Error(`--replicas: ${name} runs as one instance (it listens on the configuration's port)`);
    counts.set(name, count);
  }
  return counts;
}

/** The instances of a service: its own name when it runs once, `archiver-1`, `archiver-2`, … when several. */
export function instanceNames(service: string, count: number): string[] {
  return count === 1 ? [service] : Array.from({ length: count }, (_, i) => `${service}-${i + 1}`);
}

/** The service processes this process started that are still running. */
const spawned = new Set<ChildProcess>();
let exitListening = false;

/**
 * One service process (services/<name>/src/main.ts under `root`), its stdout and stderr appended
 * to `logFile`. A process group of its own: Ctrl-C in the terminal signals the demo's group, and
 * the demo then stops each service with exactly one SIGTERM, in order. (A service that received
 * the terminal's SIGINT and then the demo's SIGTERM would take the second signal as "exit now" and
 * skip its final flush and commit.)
 */
export function spawnService(root: string, service: string, env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'services', service, 'src', 'main.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  // Should the caller itself die without stopping them, its services go with it. One listener for
  // all of them: one per spawn would pile up with every restart and scale-out.
  if (!exitListening) {
    exitListening = true;
    process.once('exit', () => {
      for (const running of spawned) if (running.exitCode === null) running.kill('SIGKILL');
    });
  }
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  return child;
}

/** One SIGTERM (the service flushes and commits), SIGKILL if it has not exited after 30 s. */
export async function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

/** How to start one service process (a fresh one on every restart). */
export interface ServiceSpec {
  /** The instance's name: the service's, or `archiver-2` when it runs several (instanceNames). */
  name: string;
  /** Its /metrics /healthz /readyz port. */
  port: number;
  /** Where its log goes, for messages. */
  logFile: string;
  spawn(): ChildProcess;
}

export interface SupervisorOptions {
  /**
   * How long a service may stay not ready, from its (re)start, before the demo gives up on it. The
   * service's own start deadline ends it first (exit 75, naming the step); this is the backstop.
   */
  readyDeadlineMs: number;
  /** First restart delay; doubles per consecutive restart, with jitter. @default 1000 */
  initialRestartDelayMs?: number;
  /** @default 30000 */
  maxRestartDelayMs?: number;
  /** Progress lines: `ready: X`, `restarted: X …`. */
  say(line: string): void;
  /** How often /readyz is asked while a service is not ready. @default 500 */
  pollIntervalMs?: number;
}

/** A service that cannot start (or keeps failing): the demo stops, with its name. */
export class ServiceFailure extends OpentrailError<'SERVICE_FAILED'> {
  constructor(
    readonly service: string,
    reason: string,
  ) {
    super('SERVICE_FAILED', `${service} ${reason}`);
  }
}

interface Supervised {
  spec: ServiceSpec;
  child: ChildProcess;
  ready: boolean;
  /** When the current not-ready period began (start or restart). */
  since: number;
  restarts: number;
  /** Restarts since it was last ready: the backoff grows with them. */
  consecutive: number;
  /** Scaled in: stopped on purpose and not restarted. */
  retired?: boolean;
  timer?: NodeJS.Timeout;
}

/**
 * Keeps the demo's services running: all are started together (as a deployment starts them after an
 * upgrade or a node drain), a service that exits is restarted with backoff and the restart is
 * shown, and a service that cannot start — a configuration error, its start deadline passed, or
 * not ready within the deadline — fails the demo with its name instead of leaving traffic running
 * into a broken pipeline.
 */
export class Supervisor {
  private readonly services: Supervised[] = [];
  private stopping = false;
  private failure: ServiceFailure | undefined;
  private readonly failed: Promise<ServiceFailure>;
  private fail!: (failure: ServiceFailure) => void;
  private poller: NodeJS.Timeout | undefined;

  constructor(private readonly options: SupervisorOptions) {
    this.failed = new Promise((resolve) => (this.fail = resolve));
  }

  /** Resolves with the first failure; never if none. */
  get failures(): Promise<ServiceFailure> {
    return this.failed;
  }

  get restartCount(): Record<string, number> {
    return Object.fromEntries(this.services.map((s) => [s.spec.name, s.restarts]));
  }

  /** Starts every service at once and watches them. */
  start(specs: ServiceSpec[]): void {
    for (const spec of specs) this.add(spec);
    this.poller = setInterval(() => void this.poll(), this.options.pollIntervalMs ?? 500);
  }

  /** Starts one more instance (a scale-out) and keeps it running like the others. */
  add(spec: ServiceSpec): void {
    const supervised: Supervised = { spec, child: spec.spawn(), ready: false, since: Date.now(), restarts: 0, consecutive: 0 };
    this.services.push(supervised);
    this.watch(supervised);
  }

  /**
   * A scale-in: one SIGTERM to the instance, which is then neither restarted nor watched for
   * readiness. Returns its process (to await its exit), undefined for an unknown name.
   */
  retire(name: string): ChildProcess | undefined {
    const s = this.services.find((candidate) => candidate.spec.name === name && !candidate.retired);
    if (!s) return undefined;
    s.retired = true;
    clearTimeout(s.timer);
    if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGTERM');
    return s.child;
  }

  /** Resolves when every service is ready; rejects with the first ServiceFailure. */
  async allReady(): Promise<void> {
    const ready = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (this.services.every((s) => s.ready || s.retired)) {
          clearInterval(check);
          resolve();
        }
      }, 200);
      void this.failed.then(() => clearInterval(check));
    });
    const failure = await Promise.race([ready.then(() => undefined), this.failed]);
    if (failure) throw failure;
  }

  /** The processes, in start order (for stopping them in reverse). */
  get children(): { name: string; child: ChildProcess; port: number }[] {
    return this.services.map((s) => ({ name: s.spec.name, child: s.child, port: s.spec.port }));
  }

  /** The current process of one instance (a restart replaces it), or undefined for an unknown name. */
  child(name: string): ChildProcess | undefined {
    return this.services.find((s) => s.spec.name === name)?.child;
  }

  /** No more restarts: the demo is stopping. */
  stop(): void {
    this.stopping = true;
    clearInterval(this.poller);
    for (const s of this.services) clearTimeout(s.timer);
  }

  private watch(s: Supervised): void {
    const child = s.child;
    child.once('exit', (code, signal) => {
      if (this.stopping || this.failure || s.retired || child !== s.child) return;
      // A service that was ready and then exited gets a new start window; one that never became
      // ready keeps its first, so that a crash loop still ends at the deadline.
      if (s.ready) s.since = Date.now();
      s.ready = false;
      const how = code !== null ? `exit code ${code}` : `signal ${signal}`;
      if (code === SERVICE_EXIT.config) return this.giveUp(s, `stopped on a configuration error (${how}); see ${s.spec.logFile}`);
      if (code === SERVICE_EXIT.startDeadline) return this.giveUp(s, `could not start within its start deadline (${how}); see ${s.spec.logFile}`);
      s.restarts++;
      s.consecutive++;
      const initial = this.options.initialRestartDelayMs ?? 1000;
      const cap = Math.min(this.options.maxRestartDelayMs ?? 30_000, initial * 2 ** (s.consecutive - 1));
      const delay = Math.round(cap / 2 + (Math.random() * cap) / 2);
      this.options.say(`restarted: ${s.spec.name} (${how}; restart ${s.restarts}, in ${(delay / 1000).toFixed(1)} s; see ${s.spec.logFile})`);
      s.timer = setTimeout(() => {
        if (this.stopping || this.failure || s.retired) return;
        s.child = s.spec.spawn();
        this.watch(s);
      }, delay);
    });
  }

  private async poll(): Promise<void> {
    for (const s of this.services) {
      if (s.ready || s.retired || this.stopping || this.failure) continue;
      if (Date.now() - s.since > this.options.readyDeadlineMs) {
        this.giveUp(s, `not ready within ${Math.round(this.options.readyDeadlineMs / 1000)} s${s.restarts ? ` (${s.restarts} restarts)` : ''}; see ${s.spec.logFile}`);
        return;
      }
      if (s.child.exitCode !== null || s.child.signalCode !== null) continue;
      try {
        const answer = await fetch(`http://127.0.0.1:${s.spec.port}/readyz`, { signal: AbortSignal.timeout(1000) });
        if (answer.ok && !s.ready) {
          s.ready = true;
          s.consecutive = 0;
          this.options.say(`ready: ${s.spec.name} metrics=http://127.0.0.1:${s.spec.port}/metrics${s.restarts ? ` (after ${s.restarts} restarts)` : ''}`);
        }
      } catch {
        /* not listening yet */
      }
    }
  }

  private giveUp(s: Supervised, reason: string): void {
    if (this.failure) return;
    this.failure = new ServiceFailure(s.spec.name, reason);
    this.fail(this.failure);
  }
}
