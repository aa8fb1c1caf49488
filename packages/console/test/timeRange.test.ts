import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTimeRange } from '../src/timeRange.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');

describe('parseTimeRange', () => {
  it('reads relative ranges ending now', () => {
    expect(parseTimeRange({ kind: 'relative', value: '15m' }, NOW)).toEqual({ ok: true, start: new Date(NOW - 15 * 60_000), end: new Date(NOW) });
    expect(parseTimeRange({ kind: 'relative', value: '12h' }, NOW)).toMatchObject({ ok: true, start: new Date(NOW - 12 * 3_600_000) });
    expect(parseTimeRange({ kind: 'relative', value: '7d' }, NOW)).toMatchObject({ ok: true, start: new Date(NOW - 7 * 86_400_000) });
    expect(parseTimeRange({ kind: 'relative', value: '2w' }, NOW)).toMatchObject({ ok: true, start: new Date(NOW - 14 * 86_400_000) });
  });

  it('refuses zero, more than 90 days and what is not a range', () => {
    for (const value of ['0m', '91d', '13w', '', 'h', '5', '5y', '-5m', '1.5h', '5 minutes']) {
      expect(parseTimeRange({ kind: 'relative', value }, NOW).ok, value).toBe(false);
    }
  });

  it('reads absolute times, UTC unless a zone is given, either end open', () => {
    expect(parseTimeRange({ kind: 'absolute', start: '2026-12-01T09:30', end: '2026-12-01T11:00:30+01:00' }, NOW)).toEqual({ ok: true, start: new Date('2026-12-01T09:30:00Z'), end: new Date('2026-12-01T10:00:30Z') });
    expect(parseTimeRange({ kind: 'absolute', start: '2026-12-01', end: '' }, NOW)).toEqual({ ok: true, start: new Date('2026-12-01T00:00:00Z') });
    expect(parseTimeRange({ kind: 'absolute', start: '', end: '' }, NOW)).toEqual({ ok: true });
  });

  it('refuses impossible dates and a start after the end', () => {
    expect(parseTimeRange({ kind: 'absolute', start: '2026-02-31', end: '' }, NOW)).toMatchObject({ ok: false });
    expect(parseTimeRange({ kind: 'absolute', start: '2026-13-01', end: '' }, NOW)).toMatchObject({ ok: false });
    expect(parseTimeRange({ kind: 'absolute', start: '2026-12-01T25:00', end: '' }, NOW)).toMatchObject({ ok: false });
    expect(parseTimeRange({ kind: 'absolute', start: 'yesterday', end: '' }, NOW)).toMatchObject({ ok: false, error: expect.stringContaining('Start') });
    expect(parseTimeRange({ kind: 'absolute', start: '2026-12-02', end: '2026-12-01' }, NOW)).toEqual({ ok: false, error: 'The start must be before the end' });
  });

  it('never throws, on any input (fast-check), and a range it accepts is ordered', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (a, b, c) => {
        for (const r of [parseTimeRange({ kind: 'relative', value: a }, NOW), parseTimeRange({ kind: 'absolute', start: b, end: c }, NOW)]) {
          if (r.ok && r.start && r.end) expect(r.start.getTime()).toBeLessThanOrEqual(r.end.getTime());
          if (!r.ok) expect(r.error.length).toBeGreaterThan(0);
        }
      }),
    );
  });
});
