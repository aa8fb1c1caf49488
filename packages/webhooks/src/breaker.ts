export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failed attempts that open the circuit. @default 5 */
  failureThreshold?: number;
  /** How long an open circuit refuses attempts before it lets one probe through. @default 30000 */
  resetAfterMs?: number;
}

/**
 * A circuit breaker for one target: after `failureThreshold` consecutive failed attempts it opens
 * and refuses attempts (they fail fast instead of piling up on a receiver that is down); after
 * `resetAfterMs` it lets a single probe through (half-open): success closes it, failure opens it
 * again for another period.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  private probing = false;
  private readonly threshold: number;
  private readonly resetAfterMs: number;

  constructor(options: BreakerOptions = {}, private readonly now: () => number = Date.now) {
    this.threshold = options.failureThreshold ?? 5;
    this.resetAfterMs = options.resetAfterMs ?? 30_000;
  }

  get state(): BreakerState {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.resetAfterMs ? 'half-open' : 'open';
  }

  /** Whether an attempt may go out now; in half-open state only one probe at a time. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.probing) return false;
    this.probing = true;
    return true;
  }

  /** Milliseconds until an open circuit lets a probe through (0 when it would now). */
  retryInMs(): number {
    if (this.openedAt === undefined) return 0;
    return Math.max(0, this.openedAt + this.resetAfterMs - this.now());
  }

  onSuccess(): void {
    this.failures = 0;
    this.openedAt = undefined;
    this.probing = false;
  }

  /**
   * An acquired attempt ended without a verdict on the destination (the caller aborted it): a
   * half-open probe slot is handed back, or the breaker would refuse every later attempt.
   */
  release(): void {
    this.probing = false;
  }

  onFailure(): void {
    this.failures++;
    if (this.probing || this.failures >= this.threshold) this.openedAt = this.now();
    this.probing = false;
  }
}
