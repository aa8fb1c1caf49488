import { OpentrailError } from '@opentrail/errors';

/** Options for retry(): exponential backoff with full jitter. */
export interface RetryOptions {
  /** Attempts after the first; Infinity retries until it succeeds or the signal aborts. @default 5 */
  retries?: number;
  /** @default 200 */
  initialDelayMs?: number;
  /** @default 10000 */
  maxDelayMs?: number;
  /** Whether an error is worth another attempt. @default errors whose canRetry is not false */
  shouldRetry?: (error: unknown) => boolean;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
}

export class RetryAbortedError extends OpentrailError<'RETRY_ABORTED'> {
  constructor(readonly lastError: unknown) {
    super('RETRY_ABORTED', `gave up: ${(lastError as Error)?.message ?? String(lastError)}`, { cause: lastError });
  }
}

/** The delay before attempt `attempt` (1-based): full jitter over an exponential cap. */
export function backoffDelay(attempt: number, initialDelayMs: number, maxDelayMs: number, random = Math.random): number {
  const cap = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/**
 * Runs `fn` until it succeeds. An error with `canRetry === false` (a programming or input error) is
 * thrown at once; `bail(error)` inside `fn` does the same.
 */
export async function retry<T>(fn: (bail: (error: unknown) => never, attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { retries = 5, initialDelayMs = 200, maxDelayMs = 10_000, signal } = options;
  const shouldRetry = options.shouldRetry ?? ((e: unknown) => (e as { canRetry?: boolean })?.canRetry !== false);
  const bailed = new WeakSet<object>();
  const bail = (error: unknown): never => {
    const wrapped = error instanceof Error ? error : new Error(String(error));
    bailed.add(wrapped);
    throw wrapped;
  };
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(bail, attempt);
    } catch (error) {
      if ((error instanceof Error && bailed.has(error)) || !shouldRetry(error)) throw error;
      if (attempt > retries || signal?.aborted) throw new RetryAbortedError(error);
      const delay = backoffDelay(attempt, initialDelayMs, maxDelayMs);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, signal);
      if (signal?.aborted) throw new RetryAbortedError(error);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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
