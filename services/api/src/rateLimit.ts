/**
 * Per-caller request quotas (cloudtrail-spec.md §5: LookupEvents 2 TPS per account per region),
 * as token buckets: a caller may spend `perSecond` requests a second, with a burst of as many
 * (at least one). Buckets of idle callers are dropped, so memory follows the active callers.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly burst: number;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
    private readonly maxBuckets = 10_000,
  ) {
    this.burst = Math.max(1, perSecond);
  }

  /** Spends one request of `caller`; false when its quota is used up. */
  take(caller: string): boolean {
    const now = this.now();
    const bucket = this.buckets.get(caller) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    if (!this.buckets.has(caller)) {
      if (this.buckets.size >= this.maxBuckets) this.sweep(now);
      this.buckets.set(caller, bucket);
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Drops the buckets that have refilled: forgetting them changes nothing. */
  private sweep(now: number) {
    for (const [caller, b] of this.buckets) if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(caller);
    // Still full of busy callers: drop the oldest rather than grow without bound.
    for (const caller of this.buckets.keys()) {
      if (this.buckets.size < this.maxBuckets) break;
      this.buckets.delete(caller);
    }
  }
}
