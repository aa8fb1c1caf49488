/**
 * Before/after per figure: the median of each tree's rounds, and a verdict that calls a figure
 * WORSE only when it moved beyond the noise measured in the same run. The noise band of a figure is
 * how far one tree's own rounds lie apart (base vs base, and now vs now: same code, same stack,
 * same sizes; the wider of the two), and never narrower than MIN_BAND. Both trees count because two
 * or three rounds of one tree can agree by chance: the first trial on this machine had a producer
 * figure of unchanged code "WORSE" by 11% against a 3% base-vs-base spread of two rounds, while
 * the same figure's now-vs-now spread was 1.5%... and the next pair of runs swapped them.
 */
import type { Better, Figure } from './figures.js';

/** The narrowest band: a 3% move is not a finding on a machine shared by seven helpers. */
export const MIN_BAND = 0.03;

export type Verdict = 'better' | 'same within noise' | 'WORSE' | 'only before' | 'only after';

export interface Comparison {
  bench: string;
  figure: string;
  unit: string;
  better: Better;
  before?: number;
  after?: number;
  /** after / before, of the medians. */
  ratio?: number;
  /** The wider relative spread (max - min) / median of either tree's rounds, at least MIN_BAND. */
  band: number;
  beforeRounds: number[];
  afterRounds: number[];
  verdict: Verdict;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function noiseBand(rounds: readonly number[]): number {
  if (rounds.length < 2) return MIN_BAND;
  const m = median(rounds);
  const spread = Math.max(...rounds) - Math.min(...rounds);
  if (m === 0) return spread === 0 ? MIN_BAND : Infinity;
  return Math.max(MIN_BAND, spread / Math.abs(m));
}

/** better / same / WORSE for medians `before` → `after` of a figure whose better direction is `better`. */
export function verdictOf(before: number, after: number, better: Better, band: number): Verdict {
  if (before === after) return 'same within noise';
  if (before === 0) {
    // A count that was zero (duplicates, alerts): any move is beyond a relative band.
    return (after > 0) === (better === 'higher') ? 'better' : 'WORSE';
  }
  const change = (after - before) / Math.abs(before);
  const improved = better === 'higher' ? change > 0 : change < 0;
  if (Math.abs(change) <= band) return 'same within noise';
  return improved ? 'better' : 'WORSE';
}

/** Pairs the figures of every round of both trees by bench and figure name. */
export function compareRounds(bench: string, beforeRuns: readonly Figure[][], afterRuns: readonly Figure[][]): Comparison[] {
  const byName = new Map<string, { unit: string; better: Better; before: number[]; after: number[] }>();
  const collect = (runs: readonly Figure[][], side: 'before' | 'after') => {
    for (const run of runs) {
      for (const f of run) {
        let entry = byName.get(f.name);
        if (!entry) byName.set(f.name, (entry = { unit: f.unit, better: f.better, before: [], after: [] }));
        entry[side].push(f.value);
      }
    }
  };
  collect(beforeRuns, 'before');
  collect(afterRuns, 'after');
  return [...byName].map(([figure, e]) => {
    const before = e.before.length ? median(e.before) : undefined;
    const after = e.after.length ? median(e.after) : undefined;
    const band = Math.max(noiseBand(e.before), noiseBand(e.after));
    const base = { bench, figure, unit: e.unit, better: e.better, band, beforeRounds: e.before, afterRounds: e.after };
    if (before === undefined) return { ...base, after, verdict: 'only after' as const };
    if (after === undefined) return { ...base, before, verdict: 'only before' as const };
    return { ...base, before, after, ratio: before === 0 ? undefined : after / before, verdict: verdictOf(before, after, e.better, band) };
  });
}
