import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { walkPage, type Planning } from '../../src/query/pageWalk.js';
import { MICROS_PER_DAY } from '../../src/query/timeRange.js';

/** A database with no rows that records each statement's window ([from, to] as epoch ms) and whether it was named (prepared). */
function emptyDb() {
  const windows: { from: number; to: number; named: boolean }[] = [];
  return {
    windows,
    db: {
      async query<R extends object>(q: { text: string; values: unknown[]; name?: string }): Promise<{ rows: R[] }> {
        // No attribute: $1 region, $2 from, $3 to.
        windows.push({ from: Date.parse(String(q.values[1])), to: Date.parse(String(q.values[2])), named: q.name !== undefined });
        return { rows: [] };
      },
    },
  };
}

const DAY_MS = 86_400_000;

describe('walkPage windows', () => {
  const walk = async (planning: Planning, endMs: number, days: number) => {
    const { db, windows } = emptyDb();
    const end = BigInt(endMs) * 1000n;
    const start = end - BigInt(days) * MICROS_PER_DAY;
    await walkPage(db, { region: 'us-east-1', category: 'management' }, { start, end }, undefined, 50, planning);
    return { windows, startMs: endMs - days * DAY_MS };
  };

  it('cover the whole range once, newest first, with no gap and no overlap', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<Planning>('prepared', 'custom'), fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }), fc.integer({ min: 0, max: 120 }), async (planning, endMs, days) => {
        const { windows, startMs } = await walk(planning, endMs, days);
        expect(windows[0]!.to).toBe(endMs);
        for (let i = 1; i < windows.length; i++) expect(windows[i]!.to).toBe(windows[i - 1]!.from);
        expect(windows[windows.length - 1]!.from).toBe(startMs);
        for (const w of windows) expect(w.named).toBe(planning === 'prepared');
      }),
    );
  });

  it('with generic plans, walk 90 empty days in at most four statements (day, week, four weeks, the rest)', async () => {
    const { windows } = await walk('prepared', Date.UTC(2026, 11, 7, 12), 90);
    expect(windows).toHaveLength(4);
    expect(windows.map((w) => Math.round((w.to - w.from) / DAY_MS))).toEqual([1, 7, 28, 55]);
  });

  it('with custom plans, a week at a time after the first day (each plan covers a few partitions)', async () => {
    const { windows } = await walk('custom', Date.UTC(2026, 11, 7, 12), 90);
    expect(windows.length).toBeGreaterThan(13);
    for (const w of windows.slice(1, -1)) expect(w.to - w.from).toBe(7 * DAY_MS);
  });
});
