import type { ThresholdSpec } from './rule.js';

/** One match counted toward a threshold: its event time and event id. */
export interface CountedMatch {
  time: number;
  eventId: string;
}

/** A window that reached its threshold: the matches that make the alert. */
export interface ThresholdCrossing {
  windowStart: number;
  windowEnd: number;
  firstSeen: number;
  lastSeen: number;
  matches: CountedMatch[];
}

/**
 * A sliding event-time window for one (rule, group): it fires as soon as `count` matches fall
 * within `windowMs` of each other (so five failed sign-ins in 60 s fire whether or not they straddle
 * a minute boundary), then starts counting afresh. The window that fired is identified by its
 * first match (time and event id), so processing the same matches again finds the same window and
 * the same alert id. Event ids are counted once (a producer's retried duplicate does not count twice).
 */
export class ThresholdWindow {
  /** Sorted by time, then event id. */
  private matches: CountedMatch[];

  constructor(matches: CountedMatch[] = []) {
    this.matches = matches;
  }

  get size(): number {
    return this.matches.length;
  }

  /** Latest match time, or -Infinity when empty. */
  get newest(): number {
    return this.matches.length ? this.matches[this.matches.length - 1]!.time : -Infinity;
  }

  /** Adds a match; returns the crossing if a window now holds `count` matches. */
  add(match: CountedMatch, spec: ThresholdSpec): ThresholdCrossing | undefined {
    const list = this.matches;
    if (list.some((m) => m.eventId === match.eventId)) return undefined;
    let i = list.length;
    while (i > 0 && compare(list[i - 1]!, match) > 0) i--;
    list.splice(i, 0, match);
    // Matches too old to share a window with the newest can never count again.
    const horizon = this.newest - spec.windowMs;
    let drop = 0;
    while (drop < list.length && list[drop]!.time < horizon) drop++;
    if (drop > 0) list.splice(0, drop);

    // The earliest window [t, t + windowMs] holding `count` matches (two pointers over sorted times).
    for (let start = 0, end = 0; start + spec.count <= list.length; start++) {
      if (end < start) end = start;
      while (end + 1 < list.length && list[end + 1]!.time - list[start]!.time <= spec.windowMs) end++;
      if (end - start + 1 >= spec.count) {
        const fired = list.slice(start, start + spec.count);
        this.matches = [];
        return {
          windowStart: fired[0]!.time,
          windowEnd: fired[0]!.time + spec.windowMs,
          firstSeen: fired[0]!.time,
          lastSeen: fired[fired.length - 1]!.time,
          matches: fired,
        };
      }
    }
    return undefined;
  }

  /** Drops matches older than `before`; returns whether the window is now empty. */
  expire(before: number): boolean {
    let drop = 0;
    while (drop < this.matches.length && this.matches[drop]!.time < before) drop++;
    if (drop > 0) this.matches.splice(0, drop);
    return this.matches.length === 0;
  }

  toJSON(): [number, string][] {
    return this.matches.map((m) => [m.time, m.eventId]);
  }

  static fromJSON(value: unknown): ThresholdWindow {
    if (!Array.isArray(value)) return new ThresholdWindow();
    return new ThresholdWindow(
      value
        .filter((v): v is [number, string] => Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'string')
        .map(([time, eventId]) => ({ time, eventId }))
        .sort(compare),
    );
  }
}

function compare(a: CountedMatch, b: CountedMatch): number {
  return a.time - b.time || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);
}
