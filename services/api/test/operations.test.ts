import { describe, expect, it } from 'vitest';
import type { DigestPublicKey } from '@opentrail/serde';
import { configTrailRecord, InMemoryTrailStore, trailsSchema } from '@opentrail/trails';
import { Operations } from '../src/operations.js';

const T = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
const trails = trailsSchema.parse([
  { name: 'home', accountId: '111122223333', homeRegion: 'us-east-1', bucket: 'b-home', regions: ['us-east-1'] },
  { name: 'everywhere', accountId: '111122223333', homeRegion: 'eu-west-1', bucket: 'b-all', prefix: 'p' },
]);
const key = (fingerprint: string, start: number, end: number | null): DigestPublicKey => ({ fingerprint, publicKeyDer: Buffer.from(fingerprint), validityStart: start, validityEnd: end, source: 'local:x', publishedAt: start });
const keys = new Map([
  ['old', key('old', T, T + 10 * HOUR)],
  ['new', key('new', T + 10 * HOUR, null)],
]);
const activity = { activity: (name: string) => (name === 'home' ? { latestDeliveryTime: T + 5500, latestDigestDeliveryTime: T + 7000 } : {}) };
const store = new InMemoryTrailStore(trails.map((t) => configTrailRecord(t, T)));
const ops = new Operations({ store, keys: { keys }, activity, maxTrailsPerRegion: 5, now: () => T + 20 * HOUR });
const caller = (region: string) => ({ accessKeyId: 'AKIA', region, accountId: '111122223333' });

describe('ListPublicKeys', () => {
  it('returns the keys whose windows overlap the range, epoch seconds, base64 values', () => {
    const all = ops.listPublicKeys({ StartTime: T / 1000, EndTime: (T + 30 * HOUR) / 1000 }).PublicKeyList;
    expect(all.map((k) => k.Fingerprint)).toEqual(['old', 'new']);
    expect(all[0]).toEqual({ Value: Buffer.from('old').toString('base64'), ValidityStartTime: T / 1000, ValidityEndTime: (T + 10 * HOUR) / 1000, Fingerprint: 'old' });
    expect(all[1]!.ValidityEndTime).toBeUndefined();
    expect(ops.listPublicKeys({ StartTime: (T + HOUR) / 1000, EndTime: (T + 2 * HOUR) / 1000 }).PublicKeyList.map((k) => k.Fingerprint)).toEqual(['old']);
    expect(ops.listPublicKeys({}).PublicKeyList.map((k) => k.Fingerprint)).toEqual(['new']);
    expect(() => ops.listPublicKeys({ StartTime: 10, EndTime: 5 })).toThrow(expect.objectContaining({ code: 'InvalidTimeRangeException' }));
  });
});

describe('DescribeTrails and GetTrailStatus', () => {
  it('lists the region\'s trails and, unless asked not to, the shadows of multi-region trails', () => {
    expect(ops.trails.describeTrails({}, caller('us-east-1')).trailList.map((t) => t.Name)).toEqual(['everywhere', 'home']);
    expect(ops.trails.describeTrails({ includeShadowTrails: false }, caller('us-east-1')).trailList.map((t) => t.Name)).toEqual(['home']);
    expect(ops.trails.describeTrails({ trailNameList: ['everywhere'] }, caller('us-east-1')).trailList).toEqual([]);
    expect(ops.trails.describeTrails({ trailNameList: ['arn:aws:cloudtrail:eu-west-1:111122223333:trail/everywhere'] }, caller('us-east-1')).trailList[0]).toMatchObject({ S3KeyPrefix: 'p', IsMultiRegionTrail: true, HomeRegion: 'eu-west-1' });
  });

  it('reports delivery and digest times in epoch seconds', () => {
    expect(ops.trails.getTrailStatus({ Name: 'home' }, caller('us-east-1'))).toMatchObject({ IsLogging: true, LatestDeliveryTime: (T + 5500) / 1000, LatestDigestDeliveryTime: (T + 7000) / 1000, StartLoggingTime: T / 1000, TimeLoggingStarted: '2026-01-01T00:00:00Z' });
    expect(() => ops.trails.getTrailStatus({ Name: 'nope' }, caller('us-east-1'))).toThrow(expect.objectContaining({ code: 'TrailNotFoundException' }));
    expect(() => ops.trails.getTrailStatus({ Name: 'arn:aws:cloudtrail:bad' }, caller('us-east-1'))).toThrow(expect.objectContaining({ code: 'CloudTrailARNInvalidException' }));
  });
});

describe('event history without a database', () => {
  it('answers the history operations with UnsupportedOperationException, the others as before', async () => {
    const c = caller('us-east-1');
    await expect(ops.run({ api: 'cloudtrail', operation: 'LookupEvents' }, {}, c)).rejects.toMatchObject({ code: 'UnsupportedOperationException', status: 400 });
    await expect(ops.run({ api: 'opentrail', operation: 'QueryEvents' }, {}, c)).rejects.toMatchObject({ code: 'UnsupportedOperationException' });
    await expect(ops.run({ api: 'opentrail', operation: 'DescribeTrails' }, {}, c)).rejects.toMatchObject({ code: 'UnknownOperationException' });
    await expect(ops.run({ api: 'cloudtrail', operation: 'DescribeTrails' }, {}, c)).resolves.toMatchObject({ trailList: expect.any(Array) });
  });
});
