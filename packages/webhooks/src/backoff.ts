/** When to retry: exponential backoff with full jitter and a cap. */
export interface BackoffOptions {
  /** Cap of the first retry's delay; doubles per attempt. */
  initialDelayMs: number;
  /** Cap of every delay. */
  maxDelayMs: number;
}

/**
 * The delay before the retry that follows attempt `attempt` (1-based): uniform in [0, cap] with the
 * cap doubling per attempt up to `maxDelayMs` ("full jitter", AWS Architecture Blog, "Exponential
 * Backoff And Jitter"): many senders that failed together spread out instead of retrying in step.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  // 2 ** 31 already exceeds any sensible cap; bounding the exponent keeps the product finite.
  const cap = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.min(Math.max(0, attempt - 1), 31));
  return Math.round(random() * cap);
}
