import { describe, expect, it } from 'vitest';
import { parseLakeSql } from '../../src/index.js';
import { cloudTrailSampleQueries, configSampleQueries, sampleStatement } from './sampleQueries.js';
import { check, EDS, tableOf, tokensOf } from './stores.js';

describe("AWS's CloudTrail Lake sample queries", () => {
  it('has at least 20 CloudTrail event queries, each naming the store after FROM', () => {
    expect(cloudTrailSampleQueries.length).toBeGreaterThanOrEqual(20);
    for (const sample of [...cloudTrailSampleQueries, ...configSampleQueries]) {
      expect(sample.references, sample.file).toBeGreaterThan(0);
      expect(sampleStatement(sample, EDS).split(EDS).length - 1, sample.file).toBe(sample.references);
    }
  });

  for (const sample of [...cloudTrailSampleQueries, ...configSampleQueries]) {
    it(`accepts ${sample.file}`, () => {
      const result = check(sampleStatement(sample, EDS));
      expect(result.storesRead).toEqual([EDS]);
      // Every reference became the store's table, and nothing else of the query changed.
      expect(result.statement).not.toContain(EDS);
      expect(result.statement.split(tableOf(EDS)).length - 1).toBe(sample.references);
      expect(result.statement).not.toMatch(/;\s*$/);
      const inputTokens = tokensOf(sampleStatement(sample, EDS)).filter((t) => !(t.kind === 'operator' && t.value === ';'));
      const outputTokens = tokensOf(result.statement);
      // Each store ID token (1) became `lake . eds . "…"` (5), each string compared with
      // eventTime got a TIMESTAMP before it, and a WHERE bounding eventTime got its day bounds:
      // `( … )` and `AND eventdate >= 'day'` / `AND eventdate <= 'day'` (4 tokens each).
      const parsed = parseLakeSql(sampleStatement(sample, EDS));
      const dayTokens = parsed.dayBounds.reduce((n, b) => n + 2 + (b.first !== undefined ? 4 : 0) + (b.last !== undefined ? 4 : 0), 0);
      expect(outputTokens.length).toBe(inputTokens.length + 4 * sample.references + parsed.timeLiterals.length + dayTokens);
      expect(() => parseLakeSql(result.statement)).not.toThrow();
    });
  }
});
