import { describe, expect, it } from 'vitest';
import { InMemoryTrailStore } from '@opentrail/trails';
import { Operations } from '../src/operations.js';
import { combinedActivity } from '../src/trailStatus.js';
import type { TrailActivity } from '../src/trailOperations.js';

const T = Date.UTC(2026, 5, 1);
const caller = { accessKeyId: 'AKIA', region: 'us-east-1', accountId: '111122223333' };
const source = (a: TrailActivity) => ({ activity: () => a });

describe('combinedActivity: the deliveries topic and the trail activity topic', () => {
  it('takes the later time of each member and the errors only one source knows', () => {
    const deliveries = source({ latestDeliveryTime: T + 5000, latestDigestDeliveryTime: T + 1000 });
    const activity = source({ latestDeliveryTime: T + 2000, latestDeliveryAttemptTime: T + 9000, latestDeliveryError: 'NoSuchBucket', latestNotificationTime: T + 3000, latestDigestDeliveryTime: T + 4000 });
    expect(combinedActivity(deliveries, activity).activity('t')).toEqual({
      latestDeliveryTime: T + 5000,
      latestDeliveryAttemptTime: T + 9000,
      latestDeliveryError: 'NoSuchBucket',
      latestDigestDeliveryTime: T + 4000,
      latestNotificationTime: T + 3000,
    });
  });

  it('knows nothing of a trail neither source knows', () => {
    expect(combinedActivity(source({}), source({})).activity('t')).toEqual({});
  });
});

describe('GetTrailStatus over combined activity', () => {
  it('shows the delivery error with the last attempt, and the last success apart', async () => {
    const store = new InMemoryTrailStore();
    const activity = combinedActivity(source({ latestDeliveryTime: T + 1000 }), source({ latestDeliveryAttemptTime: T + 8000, latestDeliveryError: 'AccessDenied' }));
    const ops = new Operations({ store, keys: { keys: new Map() }, activity, maxTrailsPerRegion: 5, newTrails: { rollIntervalSeconds: 7, digestPeriodMinutes: 15 }, now: () => T });
    await ops.run({ api: 'cloudtrail', operation: 'CreateTrail' }, { Name: 'status-trail', S3BucketName: 'logs', EnableLogFileValidation: true }, caller);
    // The configured defaults of new trails: what CloudTrail's API cannot say.
    expect(store.get('status-trail')!.definition).toMatchObject({ roll: { intervalSeconds: 7 }, digests: { enabled: true, periodMinutes: 15 } });
    const status = (await ops.run({ api: 'cloudtrail', operation: 'GetTrailStatus' }, { Name: 'status-trail' }, caller)) as Record<string, unknown>;
    expect(status).toMatchObject({
      IsLogging: false,
      LatestDeliveryError: 'AccessDenied',
      LatestDeliveryTime: (T + 1000) / 1000,
      LatestDeliveryAttemptTime: new Date(T + 8000).toISOString().replace('.000Z', 'Z'),
      LatestDeliveryAttemptSucceeded: new Date(T + 1000).toISOString().replace('.000Z', 'Z'),
    });
  });
});
