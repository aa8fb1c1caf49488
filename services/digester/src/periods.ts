/**
 * Digest periods are aligned to multiples of the period since the epoch (hourly digests end on the
 * hour): the same period always has the same end time and so the same digest key, whichever
 * instance writes it and however often.
 */
export function periodStart(ms: number, periodMs: number): number {
  return Math.floor(ms / periodMs) * periodMs;
}

/** The end of the period after the one that ended at `endMs` (a changed period length realigns). */
export function nextPeriodEnd(endMs: number, periodMs: number): number {
  return periodStart(endMs, periodMs) + periodMs;
}

export interface PendingFile {
  offset: bigint;
  deliveredAt: number;
}

/**
 * The log files a digest ending at `endMs` lists: the longest run, in offset order, of pending
 * files delivered before the end. Stopping at the first later one keeps "every offset up to X is in
 * a digest" true, which is what the committed offset and the chain head's coveredThroughOffset say.
 */
export function filesForPeriod<F extends PendingFile>(pending: F[], endMs: number): F[] {
  let n = 0;
  while (n < pending.length && pending[n]!.deliveredAt < endMs) n++;
  return pending.slice(0, n);
}
