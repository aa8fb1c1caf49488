import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LogFileBuilder } from '@opentrail/logfiles';

const meta = (offset: number, eventTimeMs = 1_700_000_000_000 + offset * 1000) => ({ offset: BigInt(offset), timestampMs: 1_800_000_000_000 + offset, eventTimeMs });

/** Gzip members in `body`: a single one, as CloudTrail writes. */
function members(body: Buffer): number {
  let offset = 0;
  let n = 0;
  while (offset < body.length) {
    const { engine } = inflateRawSync(body.subarray(offset + 10), { info: true }) as unknown as { engine: { bytesWritten: number } };
    offset += 10 + engine.bytesWritten + 8;
    n++;
  }
  return n;
}

describe('LogFileBuilder', () => {
  it('writes {"Records":[...]} as one gzip member, compressed chunk by chunk', () => {
    const file = new LogFileBuilder(meta(7), 0, 6);
    const records = Array.from({ length: 500 }, (_, i) => JSON.stringify({ eventID: `e${i}`, eventTime: '2026-11-01T00:00:00Z', text: 'é'.repeat(i % 9), n: i }));
    records.forEach((json, i) => {
      file.append(json, Buffer.byteLength(json), meta(7 + i * 2));
      if (i % 97 === 0) file.compact();
    });
    const closed = file.close();
    const content = gunzipSync(closed.body);
    expect(content.toString()).toBe(`{"Records":[${records.join(',')}]}`);
    expect(members(closed.body)).toBe(1);
    expect(closed).toMatchObject({ records: 500, uncompressedBytes: content.length, firstOffset: 7n, lastOffset: 7n + 998n, firstTimestampMs: 1_800_000_000_007 });
    expect(closed.sha256).toBe(createHash('sha256').update(content).digest('hex'));
    expect([closed.oldestEventTimeMs, closed.newestEventTimeMs]).toEqual([meta(7).eventTimeMs, meta(7 + 998).eventTimeMs]);
    expect(closed.eventTimes).toHaveLength(500);
  });

  it('never closes bigger than it projected, even for incompressible records', () => {
    for (const compressible of [true, false]) {
      const file = new LogFileBuilder(meta(0), 0, 6);
      for (let i = 0; i < 300; i++) {
        const json = JSON.stringify({ blob: compressible ? 'a'.repeat(900) : randomBytes(700).toString('base64') });
        file.append(json, Buffer.byteLength(json), meta(i));
        if (i % 50 === 49) file.compact();
      }
      const projected = file.projectedBytes();
      expect(file.close().body.length).toBeLessThanOrEqual(projected);
    }
  });

  it('counts the memory it holds: raw until compacted, then compressed', () => {
    const file = new LogFileBuilder(meta(0), 0, 6);
    const json = JSON.stringify({ text: 'x'.repeat(10_000) });
    file.append(json, json.length, meta(0));
    const raw = file.memoryBytes;
    expect(file.pendingBytes).toBeGreaterThan(10_000);
    file.compact();
    expect(file.pendingBytes).toBe(0);
    expect(file.memoryBytes).toBeLessThan(raw / 10);
  });
});
