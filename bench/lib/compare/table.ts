/** The comparison as one markdown table (readable in a terminal, pasted as is into docs/benchmarks.md). */
import type { Comparison } from './verdict.js';

export function formatValue(value: number | undefined): string {
  if (value === undefined) return '–';
  const abs = Math.abs(value);
  if (abs >= 100 || Number.isInteger(value)) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function comparisonTable(rows: readonly Comparison[]): string {
  const lines = [
    '| bench | figure | unit | better | before | after | after/before | noise ± | verdict |',
    '|---|---|---|---|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const band = Number.isFinite(r.band) ? `${(r.band * 100).toFixed(0)}%` : '∞';
    lines.push(
      `| ${r.bench} | ${r.figure} | ${r.unit} | ${r.better} | ${formatValue(r.before)} | ${formatValue(r.after)} | ${r.ratio === undefined ? '–' : r.ratio.toFixed(2)} | ${band} | ${r.verdict} |`,
    );
  }
  return lines.join('\n');
}

/** One line: how many figures each verdict got. */
export function verdictCounts(rows: readonly Comparison[]): string {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.verdict, (counts.get(r.verdict) ?? 0) + 1);
  return [...counts].map(([verdict, n]) => `${n} ${verdict}`).join(', ');
}
