import { describe, expect, it } from 'vitest';
import { activitySummary, MAX_SUMMARY_RANGE_MS, parseActivitySummary } from '../../src/query/summary.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');

describe('parseActivitySummary', () => {
  it('defaults to the last hour and reads epoch seconds', () => {
    expect(parseActivitySummary({}, 'us-east-1', NOW)).toEqual({ region: 'us-east-1', startMs: NOW - 3_600_000, endMs: NOW });
    expect(parseActivitySummary({ StartTime: NOW / 1000 - 60, EndTime: String(NOW / 1000) }, 'eu-west-1', NOW)).toEqual({ region: 'eu-west-1', startMs: NOW - 60_000, endMs: NOW });
  });

  it('bounds the range and refuses what is not one', () => {
    expect(() => parseActivitySummary({ StartTime: NOW / 1000 - MAX_SUMMARY_RANGE_MS / 1000 - 1 }, 'r', NOW)).toThrow(expect.objectContaining({ code: 'InvalidTimeRangeException' }));
    expect(() => parseActivitySummary({ StartTime: NOW / 1000, EndTime: NOW / 1000 - 1 }, 'r', NOW)).toThrow(expect.objectContaining({ code: 'InvalidTimeRangeException' }));
    expect(() => parseActivitySummary({ StartTime: 'yesterday' }, 'r', NOW)).toThrow(expect.objectContaining({ code: 'SerializationException' }));
    expect(() => parseActivitySummary({ Region: 'x' }, 'r', NOW)).toThrow(expect.objectContaining({ code: 'InvalidParameterException' }));
  });
});

describe('activitySummary', () => {
  it('passes the region and range as parameters, never in the SQL text, and totals the minutes', async () => {
    const seen: { text: string; values: unknown[] }[] = [];
    const db = {
      query: async <R extends object>(q: { text: string; values: unknown[] }) => {
        seen.push(q);
        const rows = q.text.includes('date_trunc')
          ? [
              { minute: '1765108800', count: 3, failed: 1 },
              { minute: '1765108860', count: 2, failed: 0 },
            ]
          : q.text.includes('username')
            ? [{ username: "o'brien", count: 5 }]
            : [{ event_name: 'RunInstances', event_source: 'ec2.amazonaws.com', error_code: 'AccessDenied', count: 1 }];
        return { rows: rows as unknown as R[] };
      },
    };
    const s = await activitySummary(db, { region: "us-east-1'; DROP TABLE events; --", startMs: NOW - 60_000, endMs: NOW });
    expect(s).toMatchObject({ TotalEvents: 5, FailedEvents: 1, TopCallers: [{ Username: "o'brien", Count: 5 }], EventsPerMinute: [{ Minute: 1765108800, Count: 3, Failed: 1 }, { Minute: 1765108860, Count: 2, Failed: 0 }] });
    expect(seen).toHaveLength(3);
    for (const q of seen) {
      expect(q.text).not.toContain('DROP');
      expect(q.values).toEqual(["us-east-1'; DROP TABLE events; --", new Date(NOW - 60_000).toISOString(), new Date(NOW).toISOString()]);
    }
  });
});
