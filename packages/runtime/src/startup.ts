import { OpentrailError } from '@opentrail/errors';
import { AsyncLocalStorage } from 'node:async_hooks';
import { SERVICE_EXIT } from '@opentrail/config';
import type { Logger, ServiceMetrics } from '@opentrail/observability';
import { transientCounter } from '@opentrail/observability';
import { backoffDelay, sleep } from './retry.js';
import { transientCondition } from './transient.js';

/** The process exit code of a service that could not start within its deadline (EX_TEMPFAIL). */
export const EXIT_START_DEADLINE = SERVICE_EXIT.startDeadline;
/** The process exit code of a configuration error (EX_CONFIG). */
export const EXIT_CONFIG = SERVICE_EXIT.config;
/** The process exit code of a service that stopped itself on failing liveness checks (EX_SOFTWARE). */
export const EXIT_UNHEALTHY = SERVICE_EXIT.unhealthy;

/** A start that did not complete within the deadline: the step, and the last transient condition met. */
export class StartDeadlineError extends OpentrailError<'START_DEADLINE'> {
  constructor(
    readonly step: string,
    readonly deadlineMs: number,
    readonly lastError: unknown,
  ) {
    super('START_DEADLINE', `not started within ${Math.round(deadlineMs / 1000)} s: still waiting for ${step} (${(lastError as Error)?.message ?? String(lastError)})`, { cause: lastError });
  }
}

export interface StartupOptions {
  /** How long the whole start may take, from construction. */
  deadlineMs: number;
  logger: Logger;
  metrics?: ServiceMetrics;
  /** @default 250 */
  initialDelayMs?: number;
  /** @default 5000 */
  maxDelayMs?: number;
}

const current = new AsyncLocalStorage<{ startup: Startup; step: string }>();

/**
 * A service's start, step by step. Each step (topics, schema registration, a state topic, the
 * consumer group, …) is retried with backoff and jitter while it fails for a reason that passes by
 * itself (transient.ts), until the start deadline. A fault that is not transient ends the start at
 * once, as does the deadline. The log says once per step, not once per attempt, what the service
 * is waiting for; /readyz says it while it waits.
 */
export class Startup {
  readonly deadline: number;
  private waiting: { step: string; condition: string; reason: string } | undefined;
  private readonly counter;

  constructor(private readonly options: StartupOptions) {
    this.deadline = Date.now() + options.deadlineMs;
    this.counter = options.metrics ? transientCounter(options.metrics) : undefined;
  }

  /** What the start waits for now ("schema registration: … (REGISTRY_UNAVAILABLE)"), for /readyz; undefined while nothing fails. */
  get waitingFor(): string | undefined {
    return this.waiting && `waiting for ${this.waiting.step}: ${this.waiting.reason} (${this.waiting.condition})`;
  }

  /**
   * Records a transient condition met by `step`, which will be tried again after `delayMs`: counted,
   * shown on /readyz. Throws StartDeadlineError when the next attempt would come after the deadline.
   */
  waitingOn(step: string, condition: string, err: unknown, delayMs: number): void {
    this.counter?.inc({ source: 'startup', condition });
    if (Date.now() + delayMs > this.deadline) throw new StartDeadlineError(step, this.options.deadlineMs, err);
    this.waiting = { step, condition, reason: (err as Error)?.message ?? String(err) };
  }

  /** Runs `fn` with this start as the ambient one: the runtime's steps inside it find it (startupStep). */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return current.run({ startup: this, step: '' }, fn);
  }

  /**
   * Runs one step until it succeeds, a non-transient fault, or the deadline. A step inside a step
   * runs once: the outer one retries (a retry inside a retry would multiply the waits).
   */
  async step<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const outer = current.getStore();
    if (outer?.startup === this && outer.step) return fn();
    return current.run({ startup: this, step: what }, () => this.attempt(what, fn));
  }

  private async attempt<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const { logger } = this.options;
    let logged = false;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await fn();
        if (logged) logger.info({ step: what, attempts: attempt }, `done waiting for ${what}`);
        if (this.waiting?.step === what) this.waiting = undefined;
        return result;
      } catch (err) {
        const condition = transientCondition(err);
        if (condition === undefined) throw err;
        const delay = backoffDelay(attempt, this.options.initialDelayMs ?? 250, this.options.maxDelayMs ?? 5000);
        this.waitingOn(what, condition, err, delay);
        if (!logged) {
          // Once per step: a broker electing leaders for a minute would otherwise fill the log.
          logged = true;
          logger.warn({ step: what, condition, err: { message: (err as Error)?.message } }, `waiting for ${what} (${condition}); retrying until the start deadline`);
        }
        await sleep(delay);
      }
    }
  }
}

/**
 * One step of the ambient start (see Startup.run): retried while transient, up to the deadline.
 * Outside a service's start (a test, a tool) it runs `fn` once.
 */
export function startupStep<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const store = current.getStore();
  return store ? store.startup.step(what, fn) : fn();
}
