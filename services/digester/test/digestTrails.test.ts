import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inflateDigest, loadLocalKeys } from '@opentrail/integrity';
import { RetryAbortedError } from '@opentrail/runtime';
import { InMemoryTrailStore, parseTrail, type TrailRecord } from '@opentrail/trails';
import type { ChainState } from '../src/chainState.js';
import { logDelivery, MINUTE, testDigester } from './fixtures.js';
import { catalogDigestTrails } from '../src/digestTrails.js';
import type { DigestStore } from '../src/digestStore.js';
import type { KeyRing } from '../src/keyRing.js';

const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const key = loadLocalKeys(mkdtempSync(join(tmpdir(), 'k-')), { generate: true }).keys[0]!;

const apiTrail = (name: string, startedAt: number): TrailRecord => ({
  definition: parseTrail({ name, accountId: '111122223333', homeRegion: 'us-east-1', bucket: `${name}-bucket`, digests: { periodMinutes: 1 } }),
  isLogging: true,
  startLoggingTime: startedAt,
  tags: [],
  createdAt: startedAt,
  updatedAt: startedAt,
  origin: 'api',
});

function harness(records: TrailRecord[]) {
  let now = T0;
  const catalog = new InMemoryTrailStore(records);
  const stored = new Map<string, { body: Buffer; signature: string }>();
  const failing = new Set<string>();
  const activity: string[] = [];
  const state = { restore: async () => [], message: () => ({ topic: 'state', value: Buffer.from('') }) } as unknown as ChainState;
  const store = {
    put: async (bucket: string, k: string, body: Buffer, signature: string) => {
      if (failing.has(bucket)) throw new RetryAbortedError(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
      stored.set(k, { body, signature });
    },
  } as unknown as DigestStore;
  const digester = testDigester({
    trails: catalogDigestTrails(catalog, () => now),
    stopDrainMs: 20_000,
    activity: { succeeded: (t, k) => activity.push(`${t}/${k} ok`), failed: (t, k, err) => activity.push(`${t}/${k} ${(err as Error).name}`) },
    state,
    keys: { current: () => key } as unknown as KeyRing,
    store,
    now: () => now,
  });
  const tp = { topic: 'deliveries', partition: 0 };
  let offset = 0;
  const feed = (trailName: string, i: number, deliveredAt: number) =>
    digester.processBatch(
      [
        {
          topic: 'deliveries',
          partition: 0,
          offset: String(offset++),
          key: null,
          headers: {},
          timestamp: '0',
          bytes: 1,
          value: logDelivery({ deliveryId: `${trailName}-${i}`, trailName, bucket: `${trailName}-bucket`, key: `${trailName}-log-${i}.json.gz`, deliveredAt }),
        },
      ],
      { ...tp, highWatermark: '0', heartbeat: async () => undefined, signal: new AbortController().signal },
    );
  const tick = async (at: number) => {
    now = at;
    await digester.flush(tp, 'tick');
  };
  /** The digests of a trail, in time order. */
  const digests = (trailName: string) =>
    [...stored.keys()]
      .filter((k) => k.includes(`_${trailName}_`))
      .sort()
      .map((k) => Object.assign(inflateDigest(stored.get(k)!.body), { key: k }));
  return { catalog, digester, stored, failing, activity, feed, tick, digests, tp, setNow: (t: number) => (now = t) };
}

describe('Digester following the trail catalog', () => {
  it('on StopLogging writes a final digest covering the files up to the stop, then none while stopped', async () => {
    const h = harness([apiTrail('stopped', T0 - MINUTE), apiTrail('stays', T0 - MINUTE)]);
    await h.feed('stopped', 1, T0 + 1000);
    await h.feed('stays', 1, T0 + 1000);
    h.setNow(T0 + 30_000);
    await h.catalog.put({ ...h.catalog.get('stopped')!, isLogging: false, stopLoggingTime: T0 + 30_000, updatedAt: T0 + 30_000 });
    // The archiver's last file of the stopped trail, delivered after the stop: in the final digest.
    await h.feed('stopped', 2, T0 + 45_000);
    // Delivered after the final digest's period: while stopped, never digested.
    await h.feed('stopped', 3, T0 + MINUTE + 1000);
    for (let m = 1; m <= 5; m++) await h.tick(T0 + m * MINUTE + 6000);
    const final = h.digests('stopped');
    expect(final).toHaveLength(1);
    expect(final[0]!.logFiles!.map((f) => f.s3Object)).toEqual(['stopped-log-1.json.gz', 'stopped-log-2.json.gz']);
    // The trail that stays goes on: one digest per period, chained.
    expect(h.digests('stays')).toHaveLength(5);
    expect(h.digests('stays')[4]!.previousDigestSignature).not.toBeNull();
    // Nothing held for the stopped trail.
    expect(h.digester.heldFrom(h.tp)).toBeUndefined();
  });

  it('after logging restarts, the chain starts again with null previous fields', async () => {
    const h = harness([apiTrail('restarted', T0 - MINUTE)]);
    await h.feed('restarted', 1, T0 + 1000);
    await h.tick(T0 + MINUTE + 6000);
    await h.catalog.put({ ...h.catalog.get('restarted')!, isLogging: false, stopLoggingTime: T0 + MINUTE + 7000 });
    for (let m = 2; m <= 4; m++) await h.tick(T0 + m * MINUTE + 6000);
    expect(h.digests('restarted')).toHaveLength(2);
    const restart = T0 + 4 * MINUTE + 10_000;
    await h.catalog.put({ ...h.catalog.get('restarted')!, isLogging: true, startLoggingTime: restart });
    await h.feed('restarted', 2, restart + 5000);
    for (let m = 5; m <= 6; m++) await h.tick(T0 + m * MINUTE + 6000);
    const all = h.digests('restarted');
    expect(all).toHaveLength(4);
    expect(all[2]).toMatchObject({ digestStartTime: '2026-11-01T12:04:00Z', previousDigestS3Object: null, previousDigestSignature: null, previousDigestHashValue: null });
    expect(all[2]!.logFiles!.map((f) => f.s3Object)).toEqual(['restarted-log-2.json.gz']);
    expect(all[3]!.previousDigestS3Object).toBe(all[2]!.key);
  });

  it('a deleted trail gets its final digest and then nothing; a new trail starts its chain', async () => {
    const h = harness([apiTrail('deleted', T0 - MINUTE)]);
    await h.feed('deleted', 1, T0 + 1000);
    // Not in the catalog yet: skipped.
    await h.feed('added', 1, T0 + 2000);
    h.setNow(T0 + 10_000);
    await h.catalog.delete('deleted');
    await h.catalog.put(apiTrail('added', T0 + 10_000));
    await h.feed('added', 2, T0 + 12_000);
    for (let m = 1; m <= 3; m++) await h.tick(T0 + m * MINUTE + 6000);
    expect(h.digests('deleted')).toHaveLength(1);
    expect(h.digests('deleted')[0]!.logFiles!.map((f) => f.s3Object)).toEqual(['deleted-log-1.json.gz']);
    const added = h.digests('added');
    expect(added).toHaveLength(3);
    expect(added[0]!.previousDigestSignature).toBeNull();
    expect(added[0]!.logFiles!.map((f) => f.s3Object)).toEqual(['added-log-2.json.gz']);
  });

  it('a recent delivery of a trail the catalog does not hold yet waits for it; an old one is skipped', async () => {
    const h = harness([]);
    h.setNow(T0 + 10_000);
    await expect(h.feed('early', 1, T0 + 5000)).rejects.toThrow(/unknown to this digester's trail catalog yet/);
    await h.catalog.put(apiTrail('early', T0));
    await h.feed('early', 1, T0 + 5000);
    await h.tick(T0 + MINUTE + 6000);
    expect(h.digests('early')[0]!.logFiles!.map((f) => f.s3Object)).toEqual(['early-log-1.json.gz']);
    // Long delivered: not waited for.
    expect(await h.feed('never', 1, T0)).toBeUndefined();
  });

  it('reports a digest write that fails with S3\'s code, and the success after it', async () => {
    const h = harness([apiTrail('denied', T0 - MINUTE)]);
    await h.feed('denied', 1, T0 + 1000);
    h.failing.add('denied-bucket');
    await h.tick(T0 + MINUTE + 6000);
    expect(h.activity).toEqual(['denied/DIGEST AccessDenied']);
    expect(h.digester.heldFrom(h.tp)).toBe(0n);
    h.failing.clear();
    await h.tick(T0 + MINUTE + 7000);
    expect(h.activity).toEqual(['denied/DIGEST AccessDenied', 'denied/DIGEST ok']);
    expect(h.digester.heldFrom(h.tp)).toBeUndefined();
  });
});
