import { backoffDelay } from './backoff.js';
import { CircuitBreaker, type BreakerState } from './breaker.js';
import { systemClock, type Clock } from './clock.js';
import { OutboundError } from './errors.js';
import { RetryBudget, type RetryBudgetOptions } from './retryBudget.js';

/**
 * How one destination is delivered to. The first six fields are the services' `delivery` config
 * section (`deliveryPolicyShape` in @opentrail/config), so a service passes it as it is.
 */
export interface OutboundPolicy {
  /** Attempts after the first. @default 5 */
  retries: number;
  /** Cap of the first backoff; doubles per attempt, full jitter. @default 500 */
  initialDelayMs: number;
  /** @default 30000 */
  maxDelayMs: number;
  /** Per attempt. @default 10000 */
  timeoutMs: number;
  /** Consecutive failed attempts that open the destination's circuit. @default 5 */
  breakerFailures: number;
  /** How long an open circuit refuses attempts before one probe. @default 30000 */
  breakerResetMs: number;
  /** From a message's first attempt to the latest moment a retry may start. @default 120000 */
  deadlineMs: number;
  /** @default 600 retries per 60 s (10 a second on average) */
  retryBudget: RetryBudgetOptions;
}

export const DEFAULT_OUTBOUND_POLICY: Readonly<OutboundPolicy> = Object.freeze({
  retries: 5,
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  timeoutMs: 10_000,
  breakerFailures: 5,
  breakerResetMs: 30_000,
  deadlineMs: 120_000,
  retryBudget: Object.freeze({ maxRetries: 600, windowMs: 60_000 }),
});

/**
 * One attempt: resolves (with the HTTP status, when there is one) when the destination accepted the
 * message, throws otherwise. It must stop when `signal` aborts (attempt timeout or shutdown).
 */
export type SendAttempt<M> = (message: M, signal: AbortSignal) => Promise<number | void>;

/** How a delivery ended: given up on (`aborted: false`, dead-letter it with `error`) or stopped by the caller's signal. */
export type OutboundResult = { ok: true; attempts: number; status?: number } | { ok: false; aborted: boolean; attempts: number; error: OutboundError };

export interface AttemptInfo<M> {
  destination: string;
  message: M;
  attempt: number;
  durationMs: number;
  status?: number;
  error?: OutboundError;
}

/** What metrics see of a channel (see outboundMetrics). */
export interface OutboundObserver {
  attempt(destination: string, info: { status?: number; error?: OutboundError }): void;
  result(destination: string, result: OutboundResult): void;
  /** Called once per channel, so the observer can read its breaker state at scrape time. */
  track(channel: OutboundChannel<never>): void;
}

export interface OutboundChannelOptions<M> {
  /** The destination's name, for errors, logs and metrics (`webhook:siem`, `sns:<arn>`). */
  destination: string;
  send: SendAttempt<M>;
  /** Turns what `send` threw into an outcome. @default an OutboundError as it is, anything else NETWORK */
  classify?: (error: unknown) => OutboundError;
  policy?: Partial<OutboundPolicy>;
  /** Aborts waiting and in-flight attempts (shutdown). */
  signal?: AbortSignal;
  clock?: Clock;
  /** @default Math.random */
  random?: () => number;
  observer?: OutboundObserver;
  /** After every attempt (service-specific metrics, logs). */
  onAttempt?: (info: AttemptInfo<M>) => void;
}

/**
 * Delivers messages to one destination (a webhook URL, an SNS topic) through a `send` function, with
 * the discipline every outbound path shares: failures that can heal are retried with exponential
 * backoff and full jitter (a destination's Retry-After wins when longer), refusals are not; a
 * circuit breaker makes a destination that is down cost one fast failure per message instead of a
 * full retry schedule; a retry budget bounds what retries add per window; a deadline bounds each
 * message. A delivery never throws: it ends in an OutboundResult the caller dead-letters.
 */
export class OutboundChannel<M> {
  readonly destination: string;
  private readonly policy: OutboundPolicy;
  private readonly breaker: CircuitBreaker;
  private readonly budget: RetryBudget;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly classify: (error: unknown) => OutboundError;

  constructor(private readonly options: OutboundChannelOptions<M>) {
    this.destination = options.destination;
    this.policy = { ...DEFAULT_OUTBOUND_POLICY, ...stripUndefined(options.policy ?? {}) };
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.breaker = new CircuitBreaker({ failureThreshold: this.policy.breakerFailures, resetAfterMs: this.policy.breakerResetMs }, () => this.clock.now());
    this.budget = new RetryBudget(this.policy.retryBudget);
    this.classify = options.classify ?? ((e) => networkError(this.destination, e));
    options.observer?.track(this);
  }

  get breakerState(): BreakerState {
    return this.breaker.state;
  }

  async deliver(message: M): Promise<OutboundResult> {
    const result = await this.run(message);
    this.options.observer?.result(this.destination, result);
    return result;
  }

  private async run(message: M): Promise<OutboundResult> {
    const { policy, clock, destination } = this;
    const signal = this.options.signal;
    const deadline = clock.now() + policy.deadlineMs;
    let attempts = 0;
    for (;;) {
      if (signal?.aborted) return aborted(attempts);
      if (!this.breaker.tryAcquire()) {
        return { ok: false, aborted: false, attempts, error: new OutboundError('CIRCUIT_OPEN', `circuit open for ${destination} after repeated failures; next probe in ${this.breaker.retryInMs()} ms`) };
      }
      attempts++;
      const timeoutMs = Math.max(1, Math.min(policy.timeoutMs, deadline - clock.now()));
      const started = performance.now();
      const outcome = await this.attempt(message, timeoutMs);
      const durationMs = performance.now() - started;
      if (outcome.ok) {
        this.breaker.onSuccess();
        this.observeAttempt({ destination, message, attempt: attempts, durationMs, ...(outcome.status === undefined ? {} : { status: outcome.status }) });
        return { ok: true, attempts, ...(outcome.status === undefined ? {} : { status: outcome.status }) };
      }
      if (outcome.aborted) {
        // An aborted attempt says nothing about the destination's health.
        this.breaker.release();
        return aborted(attempts);
      }
      const { error } = outcome;
      this.breaker.onFailure();
      this.observeAttempt({ destination, message, attempt: attempts, durationMs, ...(error.status === undefined ? {} : { status: error.status }), error });
      if (!error.canRetry || attempts > policy.retries) return gaveUp(attempts, error);
      const delay = Math.min(policy.maxDelayMs, Math.max(backoffDelay(attempts, policy, this.random), error.retryAfterMs ?? 0));
      const now = clock.now();
      if (now + delay >= deadline) {
        return gaveUp(attempts, wrap('DEADLINE_EXCEEDED', `${error.message}; the next attempt (in ${delay} ms) would start after the message's deadline of ${policy.deadlineMs} ms`, error));
      }
      if (!this.budget.tryAcquire(now)) {
        return gaveUp(attempts, wrap('RETRY_BUDGET_EXHAUSTED', `${error.message}; ${destination}'s retry budget (${this.budget.maxRetries} per ${this.budget.windowMs} ms) is spent`, error));
      }
      await clock.sleep(delay, signal);
    }
  }

  private async attempt(message: M, timeoutMs: number): Promise<{ ok: true; status?: number } | { ok: false; aborted: true } | { ok: false; aborted: false; error: OutboundError }> {
    const { signal } = this.options;
    const controller = new AbortController();
    const stopTimer = new AbortController();
    let timedOut = false;
    // The timeout runs on the injected clock, so a fake clock drives it in tests.
    void this.clock.sleep(timeoutMs, stopTimer.signal).then(() => {
      if (stopTimer.signal.aborted) return;
      timedOut = true;
      controller.abort();
    });
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const status = await this.options.send(message, controller.signal);
      return typeof status === 'number' ? { ok: true, status } : { ok: true };
    } catch (err) {
      if (signal?.aborted) return { ok: false, aborted: true };
      if (timedOut) return { ok: false, aborted: false, error: new OutboundError('TIMEOUT', `${this.destination} did not answer within ${timeoutMs} ms`, { cause: err }) };
      return { ok: false, aborted: false, error: this.classify(err) };
    } finally {
      stopTimer.abort();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private observeAttempt(info: AttemptInfo<M>): void {
    this.options.observer?.attempt(this.destination, info);
    this.options.onAttempt?.(info);
  }
}

function aborted(attempts: number): OutboundResult {
  return { ok: false, aborted: true, attempts, error: new OutboundError('ABORTED', 'delivery aborted') };
}

function gaveUp(attempts: number, error: OutboundError): OutboundResult {
  return { ok: false, aborted: false, attempts, error };
}

/** A decision of the delivery (deadline, budget) that keeps the destination's last answer. */
function wrap(code: 'DEADLINE_EXCEEDED' | 'RETRY_BUDGET_EXHAUSTED', message: string, last: OutboundError): OutboundError {
  return new OutboundError(code, message, { ...(last.status === undefined ? {} : { status: last.status }), ...(last.targetCode === undefined ? {} : { targetCode: last.targetCode }), cause: last });
}

function networkError(destination: string, err: unknown): OutboundError {
  if (err instanceof OutboundError) return err;
  // fetch wraps the socket error: its cause has the errno code (ECONNREFUSED, ENOTFOUND, …).
  const cause = (err as { cause?: { code?: string; message?: string } } | null)?.cause;
  const text = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
  return new OutboundError('NETWORK', `${destination}: ${text}`, { cause: err });
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] !== undefined) out[key] = value[key];
  return out;
}

/**
 * The reason and detail of a given-up delivery's dead letter (the runtime's `opentrail-dlq-*`
 * headers): where it was going, the destination's last answer, the attempts made and the code.
 */
export function deadLetterReason(where: string, result: Extract<OutboundResult, { ok: false }>): { reason: 'DELIVERY_FAILED'; detail: string } {
  return { reason: 'DELIVERY_FAILED', detail: `${where}: ${result.error.message} after ${result.attempts} attempt(s) [${result.error.code}]` };
}
