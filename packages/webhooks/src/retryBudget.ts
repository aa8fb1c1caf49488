export interface RetryBudgetOptions {
  /** Retries a destination may get within any window. @default 600 */
  maxRetries?: number;
  /** @default 60000 */
  windowMs?: number;
}

/**
 * Bounded retries per sliding time window for one destination. Retries of many messages to a
 * destination that is failing multiply the load on it just when it can least take it (a retry
 * storm); the breaker only opens after consecutive failures, so a destination failing half of the
 * time never trips it. The budget caps what retries can add: past it, a message is given up on its
 * first retriable failure. Memory is one timestamp per retry of the window (a ring of maxRetries).
 */
export class RetryBudget {
  readonly maxRetries: number;
  readonly windowMs: number;
  /** Times of the retries granted, oldest at `head`. */
  private readonly granted: number[] = [];
  private head = 0;

  constructor(options: RetryBudgetOptions = {}) {
    this.maxRetries = options.maxRetries ?? 600;
    this.windowMs = options.windowMs ?? 60_000;
    if (!Number.isInteger(this.maxRetries) || this.maxRetries < 0) throw new RangeError(`retry budget: maxRetries must be a non-negative integer, got ${this.maxRetries}`);
    if (!(this.windowMs > 0)) throw new RangeError(`retry budget: windowMs must be positive, got ${this.windowMs}`);
  }

  /** Takes one retry at `now` if the window has room. */
  tryAcquire(now: number): boolean {
    if (this.maxRetries === 0) return false;
    if (this.granted.length < this.maxRetries) {
      this.granted.push(now);
      return true;
    }
    // Full: the oldest grant must have left the window (now - windowMs, now].
    if (this.granted[this.head]! > now - this.windowMs) return false;
    this.granted[this.head] = now;
    this.head = (this.head + 1) % this.maxRetries;
    return true;
  }

  /** Retries still available at `now`. */
  available(now: number): number {
    let used = 0;
    for (const at of this.granted) if (at > now - this.windowMs) used++;
    return this.maxRetries - used;
  }
}
