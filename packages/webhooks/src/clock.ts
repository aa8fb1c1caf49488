import { sleep } from '@opentrail/runtime';

/** Time as the delivery sees it: injected, so tests run retries, breakers and budgets on a fake clock. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = { now: () => Date.now(), sleep };
