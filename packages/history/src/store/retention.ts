import { dayOf } from './eventRow.js';

/**
 * The first day (`YYYYMMDD`) kept when the history keeps `retentionDays` days: the day of
 * now − retentionDays. A day partition goes only once all of it is older than the window, so no
 * event is dropped while it is younger than retentionDays; the ingest skips events older than it.
 */
export function retentionCutoff(now: Date, retentionDays: number): string {
  return dayOf(now.getTime() - retentionDays * 86_400_000);
}
