import { describe, expect, it } from 'vitest';
import { lakeObjectKey, LakeTableError, type LakeObjectKeyParts } from '../../src/index.js';

const parts: LakeObjectKeyParts = { prefix: 'lake', storeId: '0f1c2d3e-aaaa-4bbb-8ccc-123456789abc', day: '2026-12-07', partition: 3, firstOffset: 1234n };

describe('lakeObjectKey', () => {
  it('names the Hive partition folder and the file by partition and zero-padded first offset', () => {
    expect(lakeObjectKey(parts)).toBe('lake/0f1c2d3e-aaaa-4bbb-8ccc-123456789abc/eventdate=2026-12-07/3-00000000000000001234.parquet');
    expect(lakeObjectKey({ ...parts, prefix: 'a/b', firstOffset: 2n ** 63n - 1n })).toBe('a/b/0f1c2d3e-aaaa-4bbb-8ccc-123456789abc/eventdate=2026-12-07/3-09223372036854775807.parquet');
  });

  it('is deterministic: the same parts give the same key, a number offset the same as a bigint', () => {
    expect(lakeObjectKey({ ...parts })).toBe(lakeObjectKey(parts));
    expect(lakeObjectKey({ ...parts, firstOffset: 1234 })).toBe(lakeObjectKey(parts));
    expect(lakeObjectKey({ ...parts, firstOffset: 1235n })).not.toBe(lakeObjectKey(parts));
    expect(lakeObjectKey({ ...parts, partition: 4 })).not.toBe(lakeObjectKey(parts));
  });

  it('sorts keys of one partition in offset order', () => {
    const keys = [0n, 9n, 10n, 99_999n, 100_000n, 2n ** 40n].map((firstOffset) => lakeObjectKey({ ...parts, firstOffset }));
    expect([...keys].sort()).toEqual(keys);
  });

  it('refuses parts that would make an ambiguous key', () => {
    const bad: Partial<LakeObjectKeyParts>[] = [
      { prefix: '' },
      { prefix: '/lake' },
      { prefix: 'lake/' },
      { prefix: 'a//b' },
      { prefix: 'a/../b' },
      { storeId: 'a/b' },
      { storeId: '' },
      { storeId: '..' },
      { day: '2026-02-30' },
      { day: '2026-1-07' },
      { day: '2026-12-07/x' },
      { partition: -1 },
      { partition: 1.5 },
      { firstOffset: -1n },
      { firstOffset: 2n ** 63n },
      { firstOffset: 0.5 },
      { firstOffset: Number.MAX_SAFE_INTEGER + 1 },
    ];
    for (const change of bad) {
      let error: unknown;
      try {
        lakeObjectKey({ ...parts, ...change });
      } catch (e) {
        error = e;
      }
      expect(error, String(Object.values(change)[0])).toBeInstanceOf(LakeTableError);
      expect((error as LakeTableError).code).toBe('INVALID_OBJECT_KEY_PART');
    }
  });
});
