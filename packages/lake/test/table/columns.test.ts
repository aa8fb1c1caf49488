import { Int32, makeVector, TimestampMicrosecond, TimestampSecond, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { lakeArrowSchema, toLakeRow } from '../../src/index.js';
import { columnData } from '../../src/table/columns.js';
import { realLookingRecords } from './records.js';

/** Arrow values (rows, maps, lists, bigint timestamps) as comparable text. */
const text = (values: unknown[]) => JSON.stringify(values, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

describe('columnData', () => {
  it("builds the same column values as Arrow's generic builders, for every Lake column", () => {
    const rows = Object.values(realLookingRecords).map((r) => toLakeRow(r) as unknown as Record<string, unknown>);
    rows.push(Object.fromEntries(Object.keys(rows[0]!).map((k) => [k, null])));
    for (const field of lakeArrowSchema.fields) {
      const values = rows.map((r) => r[field.name]);
      const direct = makeVector(columnData(values, field.type));
      const generic = vectorFromArray(values, field.type);
      expect(text([...direct]), field.name).toBe(text([...generic]));
      expect(direct.nullCount, field.name).toBe(generic.nullCount);
    }
  });

  it('follows a switch of the timestamp unit, and falls back to the generic builder for other types', () => {
    const millis = [Date.UTC(2026, 11, 7, 23, 59, 59), null];
    expect(makeVector(columnData(millis, new TimestampMicrosecond())).toArray()).toEqual(new BigInt64Array([BigInt(millis[0]!) * 1000n, 0n]));
    expect(makeVector(columnData(millis, new TimestampSecond())).get(0)).toBe(makeVector(columnData(millis, new TimestampMicrosecond())).get(0));
    expect([...makeVector(columnData([1, null, 3], new Int32()))]).toEqual([1, null, 3]);
  });
});
