import { CircuitBreaker, type BreakerOptions, type BreakerState } from './breaker.js';
import { WebhookError, isRetriableStatus } from './errors.js';
import { webhookHeaders } from './signature.js';

/** Where webhooks go. */
export interface WebhookTarget {
  /** For logs and metrics. @default the URL's origin */
  name?: string;
  url: string;
  /** HMAC secret (a `whsec_<base64>` secret is base64-decoded); several during rotation, the first is current. */
  secret: string | readonly string[];
  /** Extra request headers (e.g. an API gateway key). */
  headers?: Record<string, string>;
}

/** One message: the same id on every attempt and every target, so receivers can de-duplicate. */
export interface WebhookMessage {
  id: string;
  body: string | Buffer;
  /** @default application/json */
  contentType?: string;
}

export interface AttemptInfo {
  target: string;
  messageId: string;
  attempt: number;
  durationMs: number;
  status?: number;
  error?: WebhookError;
}

export interface DeliveryOutcome {
  target: string;
  messageId: string;
  ok: boolean;
  attempts: number;
  status?: number;
  /** The last error when not ok. */
  error?: WebhookError;
}

export interface WebhookSenderOptions {
  /** Attempts after the first. @default 5 */
  retries?: number;
  /** First backoff; doubles per attempt, with jitter. @default 500 */
  initialDelayMs?: number;
  /** @default 30000 */
  maxDelayMs?: number;
  /** Per-attempt timeout. @default 10000 */
  timeoutMs?: number;
  breaker?: BreakerOptions;
  /** Called once when a message is given up on a target (retries exhausted, rejected, or circuit open): dead-letter it here. Not called when the signal aborted the delivery. */
  onFinalFailure?: (target: WebhookTarget, message: WebhookMessage, error: WebhookError) => void | Promise<void>;
  /** Called after every attempt (metrics, logs). */
  onAttempt?: (info: AttemptInfo) => void;
  /** Aborts waiting and in-flight attempts (shutdown). */
  signal?: AbortSignal;
  /** For tests. @default Math.random */
  random?: () => number;
}

/**
 * Delivers signed webhooks: each attempt is signed afresh (new timestamp, same id), failures that
 * can heal (timeouts, connection errors, 408/425/429/5xx) are retried with exponential backoff and
 * full jitter (honouring Retry-After), refusals (other 4xx) are not, and each target has a circuit
 * breaker so a receiver that is down costs one fast failure per message instead of a full retry
 * schedule. A message that cannot be delivered ends in `onFinalFailure`, never in an exception.
 */
export class WebhookSender {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly retries: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;
  private readonly random: () => number;

  constructor(private readonly options: WebhookSenderOptions = {}) {
    this.retries = options.retries ?? 5;
    this.initialDelayMs = options.initialDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.random = options.random ?? Math.random;
  }

  /** The circuit state of a target (by name or URL). */
  breakerState(target: WebhookTarget): BreakerState {
    return this.breakerFor(target).state;
  }

  async send(target: WebhookTarget, message: WebhookMessage): Promise<DeliveryOutcome> {
    const name = targetName(target);
    const breaker = this.breakerFor(target);
    let attempt = 0;
    let lastError: WebhookError | undefined;
    for (;;) {
      if (this.options.signal?.aborted) {
        lastError = new WebhookError('ABORTED', 'delivery aborted');
        break;
      }
      if (!breaker.tryAcquire()) {
        lastError = new WebhookError('CIRCUIT_OPEN', `circuit open for ${name} after repeated failures; next probe in ${breaker.retryInMs()} ms`);
        break;
      }
      attempt++;
      const started = performance.now();
      const result = await this.attempt(target, message);
      const durationMs = performance.now() - started;
      if (result.ok) {
        breaker.onSuccess();
        this.options.onAttempt?.({ target: name, messageId: message.id, attempt, durationMs, status: result.status });
        return { target: name, messageId: message.id, ok: true, attempts: attempt, status: result.status };
      }
      lastError = result.error;
      // An aborted attempt says nothing about the receiver's health.
      if (lastError.code !== 'ABORTED') breaker.onFailure();
      this.options.onAttempt?.({ target: name, messageId: message.id, attempt, durationMs, status: lastError.status, error: lastError });
      if (!lastError.canRetry || attempt > this.retries) break;
      const delay = Math.min(this.maxDelayMs, Math.max(this.backoff(attempt), lastError.retryAfterMs ?? 0));
      await sleep(delay, this.options.signal);
    }
    const error = lastError ?? new WebhookError('ABORTED', 'delivery aborted');
    // An aborted delivery (shutdown) is not given up on: the caller's next owner sends it again, so
    // it must not be dead-lettered.
    if (error.code !== 'ABORTED') await this.options.onFinalFailure?.(target, message, error);
    return { target: name, messageId: message.id, ok: false, attempts: attempt, status: error.status, error };
  }

  /** Exponential backoff with full jitter: uniform in [cap/2, cap], cap doubling per attempt. */
  private backoff(attempt: number): number {
    const cap = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** (attempt - 1));
    return Math.round(cap / 2 + (this.random() * cap) / 2);
  }

  private async attempt(target: WebhookTarget, message: WebhookMessage): Promise<{ ok: true; status: number } | { ok: false; error: WebhookError }> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = this.options.signal ? AbortSignal.any([timeout, this.options.signal]) : timeout;
    try {
      const response = await fetch(target.url, {
        method: 'POST',
        redirect: 'manual',
        signal,
        headers: {
          'content-type': message.contentType ?? 'application/json',
          'user-agent': 'opentrail-webhooks/1',
          ...target.headers,
          ...webhookHeaders(target.secret, message.id, message.body),
        },
        body: message.body,
      });
      // Drain the body so the connection returns to the pool.
      await response.arrayBuffer().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
      const retriable = isRetriableStatus(response.status);
      return {
        ok: false,
        error: new WebhookError(retriable ? 'HTTP_RETRIABLE' : 'HTTP_REJECTED', `${targetName(target)} answered ${response.status}`, response.status, retriable ? retryAfter(response.headers.get('retry-after')) : undefined),
      };
    } catch (err) {
      if (this.options.signal?.aborted) return { ok: false, error: new WebhookError('ABORTED', 'delivery aborted') };
      if (timeout.aborted) return { ok: false, error: new WebhookError('TIMEOUT', `${targetName(target)} did not answer within ${this.timeoutMs} ms`) };
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      return { ok: false, error: new WebhookError('NETWORK', `${targetName(target)}: ${cause?.code ?? cause?.message ?? (err as Error).message}`) };
    }
  }

  private breakerFor(target: WebhookTarget): CircuitBreaker {
    const key = targetName(target);
    let breaker = this.breakers.get(key);
    if (!breaker) this.breakers.set(key, (breaker = new CircuitBreaker(this.options.breaker)));
    return breaker;
  }
}

export function targetName(target: WebhookTarget): string {
  if (target.name) return target.name;
  try {
    const url = new URL(target.url);
    return `${url.origin}${url.pathname}`;
  } catch {
    return target.url;
  }
}

/** Retry-After as milliseconds: delay-seconds or an HTTP date. */
function retryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
