import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dayBounds, dayOf, retentionCutoff } from '../../src/store/index.js';

describe('day partitions', () => {
  it('bounds a day [00:00, next 00:00) UTC, across month and year ends and leap days', () => {
    expect(dayBounds('20261207')).toEqual({ from: '2026-12-07', to: '2026-12-08' });
    expect(dayBounds('20261231')).toEqual({ from: '2026-12-31', to: '2027-01-01' });
    expect(dayBounds('20280228')).toEqual({ from: '2028-02-28', to: '2028-02-29' });
  });

  it('refuses anything that is not a real day (partition names are built from it)', () => {
    for (const bad of ['2026120', '20261301', '20260230', "2026'; DROP", '', '2026-12-07']) expect(() => dayBounds(bad)).toThrow(/not a day/);
  });

  it('every instant falls in the partition of its day', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }), (ms) => {
        const { from, to } = dayBounds(dayOf(ms));
        expect(Date.parse(`${from}T00:00:00Z`)).toBeLessThanOrEqual(ms);
        expect(ms).toBeLessThan(Date.parse(`${to}T00:00:00Z`));
      }),
    );
  });

  it('retention keeps the day of now − retentionDays, so no event younger than the window is dropped', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2090, 0, 1) }), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 0, max: 400 * 86_400_000 }), (now, days, age) => {
        const cutoff = retentionCutoff(new Date(now), days);
        const eventDay = dayOf(now - age);
        // Kept (day >= cutoff) whenever the event is younger than the window.
        if (age <= days * 86_400_000) expect(eventDay >= cutoff).toBe(true);
        // Dropped only when all of its day is older than the window.
        if (eventDay < cutoff) expect(Date.parse(`${dayBounds(eventDay).to}T00:00:00Z`)).toBeLessThanOrEqual(now - days * 86_400_000);
      }),
    );
  });
});
