import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CloudTrailRecord } from '@opentrail/cloudtrail';
import { cloudTrailRecord, data, deep, memberName, text, wide, withMember } from '../../../../test/fixtures/arbitraries.js';
import { decodeLakeParquet, encodeLakeParquet, LAKE_MAX_JSON_DEPTH, lakeSchema, toLakeRow, type LakeFileRow, type LakeRow } from '../../src/index.js';

/**
 * The oracle: what the schema keeps of a record, computed independently of toLakeRow (with
 * JSON.stringify and String.prototype.toWellFormed) wherever the input is plain JSON data.
 */
const wellFormed = (s: string) => (s as unknown as { toWellFormed(): string }).toWellFormed();

/** Plain JSON data no deeper than `maxDepth`: what JSON.stringify and jsonText must agree on. */
function isPlainJson(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return false;
      continue;
    }
    if (typeof v !== 'object' || depth >= maxDepth) return false;
    const proto: unknown = Object.getPrototypeOf(v);
    if (Array.isArray(v)) {
      if (proto !== Array.prototype) return false;
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) return false;
        stack.push([v[i], depth + 1]);
      }
      continue;
    }
    if (proto !== Object.prototype && proto !== null) return false;
    for (const key of Object.keys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, key)!;
      if (!('value' in d)) return false;
      if (d.value !== undefined) stack.push([d.value, depth + 1]);
    }
  }
  return true;
}

function own(object: unknown, name: string): unknown {
  if (typeof object !== 'object' || object === null) return undefined;
  const d = Object.getOwnPropertyDescriptor(object, name);
  return d && 'value' in d ? (d.value as unknown) : undefined;
}

function expectedMap(value: unknown): Map<string, string | null> | null | 'unchecked' {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const map = new Map<string, string | null>();
  for (const key of Object.keys(value)) {
    const k = wellFormed(key);
    if (map.has(k)) continue;
    const v = own(value, key);
    if (typeof v === 'string') map.set(k, wellFormed(v));
    else if (v === null || v === undefined) map.set(k, null);
    else if (isPlainJson(v, LAKE_MAX_JSON_DEPTH)) map.set(k, JSON.stringify(v));
    else if (isPlainJson(v, 10_000)) map.set(k, null); // plain, but deeper than the limit
    else return 'unchecked';
  }
  return map;
}

function fileRow(row: LakeRow): LakeFileRow {
  const { eventdate: _, ...rest } = row;
  return rest;
}

const VARCHAR_MEMBERS = lakeSchema.filter((f) => f.type.kind === 'varchar' && f.member !== undefined);

/** Records whose free-form members are hostile too: deep, wide, `__proto__`-named, unjsonable. */
const mapHeavyRecord: fc.Arbitrary<CloudTrailRecord> = fc
  .record({
    base: cloudTrailRecord(false),
    requestParameters: fc.oneof(data(true), fc.dictionary(memberName(true), data(true, false), { maxKeys: 8 }), deep(LAKE_MAX_JSON_DEPTH + 20)),
    additionalEventData: fc.oneof(wide(5_000), fc.dictionary(text(true, 4), text(true, 30), { maxKeys: 10 })),
    protoMember: fc.constantFrom('__proto__', 'constructor', 'toString'),
    protoValue: data(true, false),
  })
  .map(({ base, requestParameters, additionalEventData, protoMember, protoValue }) => {
    withMember(base, 'requestParameters', requestParameters);
    withMember(base, 'additionalEventData', additionalEventData);
    withMember(base, protoMember, protoValue);
    return base;
  });

describe('toLakeRow on arbitrary records (property)', () => {
  it('never throws, keeps what the schema keeps, and round-trips through Parquet', () => {
    let checkedEventJson = 0;
    let checkedMaps = 0;
    fc.assert(
      fc.property(fc.array(fc.oneof(cloudTrailRecord(true), mapHeavyRecord), { minLength: 1, maxLength: 4 }), (records) => {
        const rows = records.map((record) => toLakeRow(record));
        for (const [i, row] of rows.entries()) {
          const record = records[i]!;
          expect(Object.keys(row)).toEqual([...lakeSchema.map((f) => f.name), 'eventdate']);
          for (const f of VARCHAR_MEMBERS) {
            const v = own(record, f.member!);
            expect(row[f.name as keyof LakeRow], f.name).toBe(typeof v === 'string' ? wellFormed(v) : null);
          }
          for (const [column, member] of [['requestparameters', 'requestParameters'], ['responseelements', 'responseElements'], ['additionaleventdata', 'additionalEventData']] as const) {
            const expected = expectedMap(own(record, member));
            if (expected === 'unchecked') continue;
            if (expected !== null) checkedMaps++;
            expect(row[column], column).toStrictEqual(expected);
          }
          if (own(record, 'eventTime') === '2026-03-01T12:00:00Z') expect([row.eventtime, row.eventdate]).toEqual([Date.UTC(2026, 2, 1, 12), '2026-03-01']);
          if (isPlainJson(record, LAKE_MAX_JSON_DEPTH)) {
            checkedEventJson++;
            expect(row.eventjson).toBe(JSON.stringify(record));
          } else {
            expect(row.eventjson === null || typeof row.eventjson === 'string').toBe(true);
          }
        }
        // One file per day, as the writer files them.
        const byDay = new Map<string | null, LakeRow[]>();
        for (const row of rows) byDay.set(row.eventdate, [...(byDay.get(row.eventdate) ?? []), row]);
        for (const dayRows of byDay.values()) expect(decodeLakeParquet(encodeLakeParquet(dayRows))).toStrictEqual(dayRows.map(fileRow));
      }),
      { numRuns: 100 },
    );
    // Both oracles were exercised, not only the "no throw" part.
    expect(checkedEventJson).toBeGreaterThan(30);
    expect(checkedMaps).toBeGreaterThan(100);
    // Parquet writes per run: several seconds on a loaded two-core machine.
  }, 90_000);

  it('converts a map of 100,000 members in linear time, and round-trips it', () => {
    const requestParameters = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i % 2 ? `v${i}` : { n: i }]));
    const record = { eventVersion: '1.11', eventTime: '2026-03-01T12:00:00Z', awsRegion: 'eu-west-1', eventID: 'e', requestParameters } as CloudTrailRecord;
    const row = toLakeRow(record);
    expect(row.requestparameters?.size).toBe(100_000);
    expect(row.requestparameters?.get('k99998')).toBe('{"n":99998}');
    const [decoded] = decodeLakeParquet(encodeLakeParquet([row]));
    expect(decoded!.requestparameters).toStrictEqual(row.requestparameters);
  });
});
