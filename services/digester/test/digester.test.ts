import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inflateDigest, loadLocalKeys } from '@opentrail/integrity';
import type { Delivery, DigesterState } from '@opentrail/serde';
import { trailsSchema } from '@opentrail/trails';
import type { ChainState } from '../src/chainState.js';
import { logDelivery, MINUTE, testDigester } from './fixtures.js';
import { staticDigestTrails } from '../src/digestTrails.js';
import type { DigestStore } from '../src/digestStore.js';
import type { KeyRing } from '../src/keyRing.js';
import { filesForPeriod, nextPeriodEnd, periodStart } from '../src/periods.js';

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const [TRAIL] = trailsSchema.parse([{ name: 'main', accountId: '111122223333', homeRegion: 'us-east-1', bucket: 'trail-bucket', digests: { periodMinutes: 1 } }]);

describe('periods', () => {
  it('align to multiples of the period', () => {
    expect(periodStart(T0 + 59_999, MINUTE)).toBe(T0);
    expect(nextPeriodEnd(T0, MINUTE)).toBe(T0 + MINUTE);
    expect(nextPeriodEnd(T0 + 10, MINUTE)).toBe(T0 + MINUTE);
  });

  it('list the run of files delivered before the end, in offset order', () => {
    const files = [{ offset: 1n, deliveredAt: T0 }, { offset: 2n, deliveredAt: T0 + MINUTE }, { offset: 3n, deliveredAt: T0 + 1 }];
    expect(filesForPeriod(files, T0 + MINUTE).map((f) => f.offset)).toEqual([1n]);
  });
});

function harness() {
  let now = T0;
  const stored = new Map<string, { body: Buffer; signature: string }>();
  const states: DigesterState[] = [];
  const key = loadLocalKeys(mkdtempSync(join(tmpdir(), 'k-')), { generate: true }).keys[0]!;
  const state = { restore: async () => [], message: (s: DigesterState) => (states.push(s), { topic: 'state', value: Buffer.from('') }) } as unknown as ChainState;
  const store = { put: async (_b: string, k: string, body: Buffer, signature: string) => void stored.set(k, { body, signature }) } as unknown as DigestStore;
  const digester = testDigester({
    trails: staticDigestTrails([TRAIL!]),
    state,
    keys: { current: () => key } as unknown as KeyRing,
    store,
    now: () => now,
  });
  const tp = { topic: 'deliveries', partition: 0 };
  const delivery = (i: number, deliveredAt: number): Delivery =>
    logDelivery({ deliveryId: `d${i}`, trailName: 'main', bucket: 'trail-bucket', key: `log-${i}.json.gz`, deliveredAt });
  const feed = (i: number, offset: number, deliveredAt: number, overrides: Partial<Delivery> = {}) =>
    digester.processBatch([{ topic: 'deliveries', partition: 0, offset: String(offset), key: null, value: { ...delivery(i, deliveredAt), ...overrides }, headers: {}, timestamp: '0', bytes: 1 }], {
      ...tp,
      highWatermark: '0',
      heartbeat: async () => undefined,
      signal: new AbortController().signal,
    });
  return { digester, stored, states, tp, feed, setNow: (t: number) => (now = t) };
}

describe('Digester', () => {
  it('dead-letters a delivery its digest could not list (issue 19, class 2), and digests the others', async () => {
    const h = harness();
    expect(await h.feed(1, 10, T0 + 1000)).toBeUndefined();
    // Times no Date can hold, and a delivery from the far future whose period would never end.
    const outOfRange = await h.feed(2, 11, T0 + 2000, { oldestEventTime: 9e15 });
    const future = await h.feed(3, 12, T0 + 365 * 24 * 60 * MINUTE);
    expect(outOfRange?.deadLetters).toMatchObject([{ reason: 'DIGEST_FAILED', detail: expect.stringMatching(/^RangeError: Invalid time value/), record: { offset: '11' } }]);
    expect(future?.deadLetters).toMatchObject([{ reason: 'DIGEST_FAILED', detail: expect.stringMatching(/ahead of this clock/), record: { offset: '12' } }]);
    await h.feed(4, 13, T0 + 3000);
    h.setNow(T0 + MINUTE + 6000);
    await h.digester.flush(h.tp, 'tick');
    const digests = [...h.stored.values()].map((d) => inflateDigest(d.body));
    expect(digests.map((d) => d.logFiles!.map((f) => f.s3Object))).toEqual([['log-1.json.gz', 'log-4.json.gz']]);
    // Nothing is held back for the dead letters: the partition commits past them.
    expect(h.digester.heldFrom(h.tp)).toBeUndefined();
  });

  it('writes a starting digest, then chained and empty ones, holding offsets until listed', async () => {
    const h = harness();
    await h.feed(1, 10, T0 + 1000);
    await h.feed(2, 11, T0 + MINUTE + 1000);
    expect(h.digester.heldFrom(h.tp)).toBe(10n);
    h.setNow(T0 + MINUTE + 4000); // inside the grace
    expect((await h.digester.flush(h.tp, 'tick'))?.outputs).toEqual([]);
    h.setNow(T0 + 3 * MINUTE + 6000);
    const work = await h.digester.flush(h.tp, 'tick');
    expect(work?.outputs).toHaveLength(6); // three periods: a delivery record and a head each
    const digests = [...h.stored.keys()].sort().map((k) => inflateDigest(h.stored.get(k)!.body));
    expect(digests.map((d) => [d.digestStartTime, d.digestEndTime])).toEqual([
      ['2026-11-01T12:00:00Z', '2026-11-01T12:01:00Z'],
      ['2026-11-01T12:01:00Z', '2026-11-01T12:02:00Z'],
      ['2026-11-01T12:02:00Z', '2026-11-01T12:03:00Z'],
    ]);
    expect(digests[0]!.previousDigestSignature).toBeNull();
    expect(digests.map((d) => d.logFiles!.map((f) => f.s3Object))).toEqual([['log-1.json.gz'], ['log-2.json.gz'], []]);
    const keys = [...h.stored.keys()].sort();
    expect(digests[1]!.previousDigestS3Object).toBe(keys[0]);
    expect(digests[1]!.previousDigestSignature).toBe(h.stored.get(keys[0]!)!.signature);
    expect(digests[2]!.previousDigestSignature).toBe(h.stored.get(keys[1]!)!.signature);
    expect(digests[2]!.newestEventTime).toBeNull();
    expect(h.digester.heldFrom(h.tp)).toBeUndefined();
    expect(h.states.at(-1)!.coveredThroughOffset).toBe(11);
    expect(keys[0]).toBe('AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/01/111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20261101T120100Z.json.gz');
  });

  it('skips deliveries that are not log files and those already listed', async () => {
    const h = harness();
    await h.feed(1, 10, T0 + 1000);
    h.setNow(T0 + MINUTE + 6000);
    await h.digester.flush(h.tp, 'tick');
    await h.feed(1, 10, T0 + 1000); // re-read after a crash: offset 10 is in the stored digest
    expect(h.digester.heldFrom(h.tp)).toBeUndefined();
  });
});
