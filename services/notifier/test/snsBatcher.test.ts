import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cloudTrailMessage } from '../src/notificationFormat.js';
import { SnsBatcher, type SnsBatch } from '../src/snsBatcher.js';

const key = (i: number, pad = 0) => `AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/01/111122223333_CloudTrail_us-east-1_20261201T1200Z_${String(i).padStart(16, 'A')}${'x'.repeat(pad)}.json.gz`;

function batcher(windowMs: number, maxMessageBytes = 262_144) {
  const sealed: SnsBatch<number>[] = [];
  const b = new SnsBatcher<number>({ windowMs, maxMessageBytes, onSeal: (batch) => sealed.push(batch) });
  return { b, sealed };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('SNS batching', () => {
  it('puts the keys of one trail that arrive within the window into one message, sealed when the window ends', () => {
    const { b, sealed } = batcher(1000);
    b.add('audit', 'bucket', key(1), 1);
    vi.advanceTimersByTime(500);
    b.add('audit', 'bucket', key(2), 2);
    expect(sealed).toHaveLength(0);
    vi.advanceTimersByTime(499);
    expect(sealed).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(sealed).toHaveLength(1);
    expect(sealed[0]).toMatchObject({ trailName: 'audit', bucket: 'bucket', keys: [key(1), key(2)], items: [1, 2] });
    // The window starts with the first key of a batch: the next key opens a new one.
    b.add('audit', 'bucket', key(3), 3);
    vi.advanceTimersByTime(1000);
    expect(sealed.map((s) => s.items)).toEqual([[1, 2], [3]]);
    expect(b.pendingKeys).toBe(0);
  });

  it('keeps trails (and buckets) apart', () => {
    const { b, sealed } = batcher(1000);
    b.add('audit', 'bucket-a', key(1), 1);
    b.add('other', 'bucket-b', key(2), 2);
    b.add('audit', 'bucket-a', key(3), 3);
    vi.advanceTimersByTime(1000);
    expect(sealed.map((s) => [s.trailName, s.bucket, s.items])).toEqual([
      ['audit', 'bucket-a', [1, 3]],
      ['other', 'bucket-b', [2]],
    ]);
  });

  it('never builds a message larger than the limit: the key that would pass it starts the next message', () => {
    const limit = 8 * 1024;
    const { b, sealed } = batcher(60_000, limit);
    const keys = Array.from({ length: 200 }, (_, i) => key(i, i % 7 === 0 ? 300 : 0));
    keys.forEach((k, i) => b.add('audit', 'bucket', k, i));
    b.sealAll();
    expect(sealed.length).toBeGreaterThan(1);
    for (const s of sealed) {
      const size = Buffer.byteLength(cloudTrailMessage(s.bucket, s.keys));
      expect(s.messageBytes).toBe(size);
      expect(size).toBeLessThanOrEqual(limit);
    }
    // Nothing lost or reordered, and each message is full enough that the next key would not have fitted.
    expect(sealed.flatMap((s) => s.keys)).toEqual(keys);
    for (let i = 0; i + 1 < sealed.length; i++) {
      const next = sealed[i + 1]!.keys[0]!;
      expect(Buffer.byteLength(cloudTrailMessage('bucket', [...sealed[i]!.keys, next]))).toBeGreaterThan(limit);
    }
  });

  it('a window of 0 sends every key on its own', () => {
    const { b, sealed } = batcher(0);
    b.add('audit', 'bucket', key(1), 1);
    b.add('audit', 'bucket', key(2), 2);
    expect(sealed.map((s) => s.items)).toEqual([[1], [2]]);
  });

  it('drops the items of a revoked partition from open batches, and the batch when nothing is left', () => {
    const { b, sealed } = batcher(1000);
    b.add('audit', 'bucket', key(1), 1);
    b.add('audit', 'bucket', key(2), 2);
    b.add('other', 'bucket', key(3), 3);
    b.remove((item) => item === 2 || item === 3);
    expect(b.pendingKeys).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(sealed).toHaveLength(1);
    expect(sealed[0]).toMatchObject({ keys: [key(1)], items: [1], messageBytes: Buffer.byteLength(cloudTrailMessage('bucket', [key(1)])) });
  });
});
