import type { Clock } from '../src/index.js';

/**
 * A clock whose time moves only when the test says so: sleeps (backoffs, attempt timeouts) wait
 * until `advance` passes their due time, so retry schedules run in microseconds and exactly.
 */
export class ManualClock implements Clock {
  private time = 0;
  private readonly timers = new Set<{ due: number; fire: () => void }>();
  /** Every sleep asked for, in order (backoffs and attempt timeouts). */
  readonly sleeps: number[] = [];

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = {
        due: this.time + ms,
        fire: () => {
          this.timers.delete(timer);
          signal?.removeEventListener('abort', timer.fire);
          resolve();
        },
      };
      this.timers.add(timer);
      signal?.addEventListener('abort', timer.fire, { once: true });
    });
  }

  /** Moves time forward by `ms`, firing the timers that fall due in order. */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    for (;;) {
      await settle();
      const next = [...this.timers].filter((t) => t.due <= until).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.time = next.due;
      next.fire();
    }
    this.time = until;
    await settle();
  }

  /** Runs timers until `promise` settles (each step jumps to the next due timer). */
  async run<T>(promise: Promise<T>): Promise<T> {
    let done = false;
    const tracked = promise.finally(() => (done = true));
    for (let steps = 0; !done; steps++) {
      if (steps > 1_000_000) throw new Error('ManualClock.run: the promise never settled');
      await settle();
      if (done) break;
      const next = [...this.timers].sort((a, b) => a.due - b.due)[0];
      if (!next) continue;
      this.time = Math.max(this.time, next.due);
      next.fire();
    }
    return tracked;
  }

  get pendingTimers(): number {
    return this.timers.size;
  }
}

export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
