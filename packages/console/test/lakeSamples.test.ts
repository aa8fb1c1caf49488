import { describe, expect, it } from 'vitest';
import { cloudTrailSampleQueries, sampleStatement as lakeSampleStatement } from '../../lake/test/sql/sampleQueries.js';
import { LAKE_SAMPLES, sampleStatement, substituteStore } from '../app/lakeSamples.js';

const STORE = '095172b6-220e-4dd5-b3b1-64e0c9173b25';
const OTHER = 'a1b2c3d4-0000-4000-8000-000000000001';

describe("the Lake page's sample queries", () => {
  it('are 8 to 12 of the published samples, copied verbatim with their source', () => {
    expect(LAKE_SAMPLES.length).toBeGreaterThanOrEqual(8);
    expect(LAKE_SAMPLES.length).toBeLessThanOrEqual(12);
    expect(new Set(LAKE_SAMPLES.map((s) => s.file)).size).toBe(LAKE_SAMPLES.length);
    for (const s of LAKE_SAMPLES) {
      const published = cloudTrailSampleQueries.find((q) => q.file === s.file);
      expect(published, s.file).toBeDefined();
      expect({ text: s.text, placeholder: s.placeholder, source: s.source }).toEqual({ text: published!.text, placeholder: published!.placeholder, source: published!.source });
    }
  });

  it('put the store where the placeholder follows FROM, as the lake tests do', () => {
    for (const s of LAKE_SAMPLES) {
      const published = cloudTrailSampleQueries.find((q) => q.file === s.file)!;
      expect(sampleStatement(s, STORE), s.file).toBe(lakeSampleStatement(published, STORE));
      expect(sampleStatement(s, undefined)).toBe(s.text);
    }
  });

  it('moves an edited statement to another store, touching nothing but what follows FROM', () => {
    const text = `SELECT eventName FROM ${STORE} a JOIN ${STORE} b ON a.eventID = b.eventID WHERE a.eventName = '${STORE}'`;
    expect(substituteStore(text, [STORE], OTHER)).toBe(`SELECT eventName FROM ${OTHER} a JOIN ${STORE} b ON a.eventID = b.eventID WHERE a.eventName = '${STORE}'`);
    expect(substituteStore('select 1 from $EDS_ID\nwhere x', ['$EDS_ID'], OTHER)).toBe(`select 1 from ${OTHER}\nwhere x`);
    // A longer name that starts with the one replaced is left alone.
    expect(substituteStore(`SELECT 1 FROM ${STORE}-x`, [STORE], OTHER)).toBe(`SELECT 1 FROM ${STORE}-x`);
  });
});
