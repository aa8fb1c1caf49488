import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinaryCopyWriter } from '../../src/store/copyBinary.js';

/** Reads back what BinaryCopyWriter wrote (text fields as strings, raw bytes otherwise). */
function readCopy(buf: Buffer): (Buffer | null)[][] {
  expect(buf.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
  expect(buf.readInt32BE(11)).toBe(0);
  expect(buf.readInt32BE(15)).toBe(0);
  let at = 19;
  const rows: (Buffer | null)[][] = [];
  for (;;) {
    const fields = buf.readInt16BE(at);
    at += 2;
    if (fields === -1) break;
    const row: (Buffer | null)[] = [];
    for (let f = 0; f < fields; f++) {
      const n = buf.readInt32BE(at);
      at += 4;
      if (n === -1) row.push(null);
      else {
        row.push(buf.subarray(at, at + n));
        at += n;
      }
    }
    rows.push(row);
  }
  expect(at).toBe(buf.length);
  return rows;
}

describe('BinaryCopyWriter', () => {
  it('writes the binary COPY header, typed fields and trailer', () => {
    const ms = Date.UTC(2026, 11, 7, 6, 30, 15);
    const rows = readCopy(new BinaryCopyWriter(16).row(6).timestamptz(ms).text('ü"\\🚀').text(null).boolean(true).boolean(false).jsonb('[{"a":1}]').finish());
    expect(rows).toHaveLength(1);
    const [time, text, nul, yes, no, json] = rows[0]!;
    // Microseconds since 2000-01-01T00:00:00Z.
    expect(time!.readBigInt64BE(0)).toBe(BigInt(ms - Date.UTC(2000, 0, 1)) * 1000n);
    expect(text!.toString('utf8')).toBe('ü"\\🚀');
    expect(nul).toBeNull();
    expect([...yes!, ...no!]).toEqual([1, 0]);
    expect(json![0]).toBe(1);
    expect(json!.subarray(1).toString('utf8')).toBe('[{"a":1}]');
  });

  it('keeps every string exactly, however the buffer grows', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.option(fc.string({ unit: 'grapheme', maxLength: 300 })), { minLength: 1, maxLength: 5 }), { maxLength: 40 }), fc.integer({ min: 1, max: 64 }), (rows, initial) => {
        const w = new BinaryCopyWriter(initial);
        for (const row of rows) {
          w.row(row.length);
          for (const v of row) w.text(v);
        }
        expect(readCopy(w.finish()).map((r) => r.map((f) => (f === null ? null : f.toString('utf8'))))).toEqual(rows);
      }),
    );
  });

  it('writes any millisecond instant as PostgreSQL microseconds, before 2000 and far ahead included', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.integer({ min: -1e12, max: 1e13 })), (ms) => {
        const time = readCopy(new BinaryCopyWriter(16).row(1).timestamptz(ms).finish())[0]?.[0];
        expect(time?.readBigInt64BE(0)).toBe(BigInt(ms - Date.UTC(2000, 0, 1)) * 1000n);
      }),
    );
  });

  it('writes ASCII and non-ASCII text alike, the short ASCII copy included', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom('a', 'Z', '0', '\u007f', '\u0080', 'é', '\ud83d', '\ude80', '🚀'), maxLength: 140 }), { maxLength: 20 }), (values) => {
        const w = new BinaryCopyWriter(8).row(values.length);
        for (const v of values) w.text(v);
        const [row] = readCopy(w.finish());
        expect((row ?? []).map((f) => f!.toString('hex'))).toEqual(values.map((v) => Buffer.from(v, 'utf8').toString('hex')));
      }),
    );
  });
});
