import type { ChildProcess } from 'node:child_process';
import { SERVICE_EXIT } from '@opentrail/config';
import { OpentrailError } from '@opentrail/errors';

/** How to start one service process (a fresh one on every restart). */
export interface ServiceSpec {
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
    const now = Date.now();
    for (const spec of specs) {
      const supervised: Supervised = { spec, child: spec.spawn(), ready: false, since: now, restarts: 0, consecutive: 0 };
      this.services.push(supervised);
      this.watch(supervised);
    }
    this.poller = setInterval(() => void this.poll(), this.options.pollIntervalMs ?? 500);
  }

  /** Resolves when every service is ready; rejects with the first ServiceFailure. */
  async allReady(): Promise<void> {
    const ready = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (this.services.every((s) => s.ready)) {
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

  /** No more restarts: the demo is stopping. */
  stop(): void {
    this.stopping = true;
    clearInterval(this.poller);
    for (const s of this.services) clearTimeout(s.timer);
  }

  private watch(s: Supervised): void {
    const child = s.child;
    child.once('exit', (code, signal) => {
      if (this.stopping || this.failure || child !== s.child) return;
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
        if (this.stopping || this.failure) return;
        s.child = s.spec.spawn();
        this.watch(s);
      }, delay);
    });
  }

  private async poll(): Promise<void> {
    for (const s of this.services) {
      if (s.ready || this.stopping || this.failure) continue;
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
