import { createHash, randomBytes } from 'node:crypto';
import { openQueryPool } from '@opentrail/history';
import { walkPage } from '../packages/history/src/query/pageWalk.js';
import { windowStatement, type EventFilter } from '../packages/history/src/query/eventFilter.js';
import { dayStart, MICROS_PER_DAY, microsFromMillis } from '../packages/history/src/query/timeRange.js';
const pool = openQueryPool({ connectionString: process.argv[2]!, max: 1, statementTimeoutMs: 60000, planning: 'prepared' });
const name = (t: string) => `h_${createHash('sha1').update(t).digest('hex').slice(0, 20)}`;
async function oldWalk(filter: EventFilter, range: { start: bigint; end: bigint }) {
  const rows: unknown[] = []; let upper = range.end; let first = true;
  while (rows.length < 51 && upper >= range.start) {
    let from = first ? dayStart(upper) : dayStart(upper - 7n * MICROS_PER_DAY);
    if (from < range.start) from = range.start;
    const st = windowStatement(filter, { from, to: upper, toInclusive: first }, 51 - rows.length);
    rows.push(...(await pool.query({ ...st, name: name(st.text) })).rows);
    if (from === range.start) break; upper = from; first = false;
  }
  return rows;
}
const now = microsFromMillis(Date.now());
const range = { start: now - 90n * MICROS_PER_DAY, end: now + MICROS_PER_DAY };
const rand = (n: number) => Math.floor(Math.random() * n);
const cases: [string, () => EventFilter][] = [
  ['EventId', () => ({ region: 'us-east-1', category: 'management', eventId: createHash('md5').update(String(rand(10_000_000))).digest('hex') })],
  ['AccessKeyId', () => ({ region: 'us-east-1', category: 'management', accessKeyId: `AKIA${String(rand(20000)).padStart(16, '0')}` })],
  ['ResourceName', () => ({ region: 'us-east-1', category: 'management', resourceName: `bucket-${rand(20000)}` })],
  ['Username', () => ({ region: 'us-east-1', category: 'management', username: `user-${rand(5000)}` })],
  ['absent value', () => ({ region: 'us-east-1', category: 'management', username: `nobody-${randomBytes(4).toString('hex')}` })],
];
const q = (a: number[], p: number) => [...a].sort((x, y) => x - y)[Math.floor(p * a.length)]!;
for (const [label, f] of cases) {
  const t = { old: [] as number[], grow: [] as number[] };
  for (let i = 0; i < 125; i++) {
    const filter = f();
    for (const mode of i % 2 ? ['old', 'grow'] as const : ['grow', 'old'] as const) {
      const t0 = performance.now();
      if (mode === 'old') await oldWalk(filter, range); else await walkPage(pool, filter, range, undefined, 50, 'prepared');
      if (i >= 5) t[mode].push(performance.now() - t0);
    }
  }
  console.log(label.padEnd(14), 'weeks p50/p99', q(t.old, 0.5).toFixed(2), q(t.old, 0.99).toFixed(2), ' growing p50/p99', q(t.grow, 0.5).toFixed(2), q(t.grow, 0.99).toFixed(2));
}
await pool.end();
