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
      // Each store ID token (1) became `lake . eds . "…"` (5), and each string compared with
      // eventTime got a TIMESTAMP before it.
      const timeLiterals = parseLakeSql(sampleStatement(sample, EDS)).timeLiterals.length;
      expect(outputTokens.length).toBe(inputTokens.length + 4 * sample.references + timeLiterals);
      expect(() => parseLakeSql(result.statement)).not.toThrow();
    });
  }
});
