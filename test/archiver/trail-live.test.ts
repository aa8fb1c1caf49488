import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@opentrail/observability';
import { openTrailActivityReader, openTrailCatalog, parseTrail, type TrailActivityReader, type TrailCatalogHandle, type TrailInput, type TrailRecord } from '@opentrail/trails';
import { testKafka, testRegistry, uniquePrefix } from '../helpers/env.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { archiverEnv, archiverTopics, awsClients, bucketName, createBucket, EnrichedProducer, listKeys } from './helpers.js';
import { digestsIn, liveDigesterEnv, eventIDsIn as idsIn, expectStartChangeStop, LiveTraffic, type Sent } from './liveTraffic.js';

/**
 * Trails change while traffic flows (issue 14), on the real stack: the archiver and the digester
 * follow the trails topic. A trail written to the catalog starts receiving log files and digests;
 * new selectors change what it receives; deleting or stopping it stops them (the final digest
 * included); the trail that stays has every event exactly once; a trail whose bucket does not exist
 * shows NoSuchBucket as its delivery error and holds up nobody.
 */

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const prefix = uniquePrefix('live');
const aws = awsClients();
const buckets = { stay: bucketName('live-stay'), added: bucketName('live-added'), gone: bucketName('live-gone'), missing: bucketName('live-missing') };
const trail = (name: string, bucket: string, extra: Partial<TrailInput> = {}): TrailInput => ({ name, accountId: ACCOUNT, homeRegion: REGION, bucket, roll: { intervalSeconds: 2 }, digests: { enabled: true, periodMinutes: 1 }, ...extra });
const STAY = trail('stay-trail', buckets.stay);
const PERIOD_SECONDS = 5;
const STOP_DRAIN_MS = 3000;

const apiRecord = (input: TrailInput, now: number): TrailRecord => ({ definition: parseTrail(input), isLogging: true, startLoggingTime: now, tags: [], createdAt: now, updatedAt: now, origin: 'api' });

const services: ServiceProcess[] = [];
let sent: Sent[] = [];
let catalog: TrailCatalogHandle;
let activity: TrailActivityReader;
const times = { start: 0, change: 0, gone: 0, stop: 0 };

const eventIDsIn = (bucket: string) => idsIn(aws.s3, bucket);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  await archiverTopics(testKafka(), prefix);
  for (const bucket of [buckets.stay, buckets.added, buckets.gone]) await createBucket(aws.s3, bucket);
  const archiver = await startService('archiver', archiverEnv(prefix, [STAY], { OPENTRAIL_ARCHIVER_GROUP_ID: `${prefix}archiver` }));
  services.push(archiver);
  const digester = await startService(
    'digester',
    liveDigesterEnv(prefix, [STAY], { periodSeconds: PERIOD_SECONDS, stopDrainMs: STOP_DRAIN_MS }),
  );
  services.push(digester);
  const logger = createLogger('trail-live-test', 'silent');
  // The test writes trails as the API does: through its own catalog handle on the same topic.
  catalog = await openTrailCatalog({ kafka: testKafka('live-catalog'), registry: testRegistry(), topic: `${prefix}trails`, seed: [], logger, groupIdPrefix: `${prefix}test` });
  activity = await openTrailActivityReader({ kafka: testKafka('live-activity'), registry: testRegistry(), topic: `${prefix}trails.activity`, logger, groupIdPrefix: `${prefix}test` });

  const producer = await EnrichedProducer.create(testKafka(), prefix);
  const traffic = new LiveTraffic(producer, { seed: prefix, account: ACCOUNT, region: REGION });
  sent = traffic.sent;
  traffic.start();

  try {
    await sleep(3000);
    // A trail created and started, one to be deleted, and one whose bucket does not exist.
    times.start = Date.now();
    await catalog.put(apiRecord(trail('added-trail', buckets.added), times.start));
    await catalog.put(apiRecord(trail('gone-trail', buckets.gone), times.start));
    await catalog.put(apiRecord(trail('broken-trail', buckets.missing), times.start));
    await waitFor(async () => (await eventIDsIn(buckets.added)).length > 0 && (await eventIDsIn(buckets.gone)).length > 0, 'log files of the new trails', 60_000, 1000);

    // Writes only from now on.
    times.change = Date.now();
    await catalog.put({ ...catalog.get('added-trail')!, definition: parseTrail(trail('added-trail', buckets.added, { eventSelectors: [{ readWriteType: 'WriteOnly' }] })), updatedAt: times.change });
    await sleep(6000);
    times.gone = Date.now();
    await catalog.delete('gone-trail');
    await sleep(4000);
    times.stop = Date.now();
    await catalog.put({ ...catalog.get('added-trail')!, isLogging: false, stopLoggingTime: times.stop, updatedAt: times.stop });
    await sleep(6000);
  } finally {
    await traffic.stop();
    await producer.close();
  }
  await waitFor(async () => ((await eventIDsIn(buckets.stay)).length >= sent.length ? true : undefined), 'the trail that stays to deliver every event', 90_000, 1000);
}, 300_000);

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await activity?.stop();
  await catalog?.stop();
  aws.destroy();
});

describe('trails followed live while traffic flows', () => {
  it('the trail that stays has every event exactly once', async () => {
    const ids = await eventIDsIn(buckets.stay);
    expect(ids.length).toBe(sent.length);
    expect(new Set(ids)).toEqual(new Set(sent.map((s) => s.eventID)));
  });

  it('a new trail receives what is sent from its start, its new selectors apply, and nothing after its stop', async () => {
    const ids = await eventIDsIn(buckets.added);
    expectStartChangeStop(ids, sent, times);
  });

  it('a deleted trail receives nothing sent after its deletion', async () => {
    const ids = await eventIDsIn(buckets.gone);
    expect(ids.length).toBeGreaterThan(0);
    expect(new Set(ids).size).toBe(ids.length);
    const byId = new Map(sent.map((s) => [s.eventID, s]));
    for (const id of ids) expect(byId.get(id)!.before).toBeLessThan(times.gone + 5000);
  });

  it('digests cover the new trail\'s log files up to the stop, and stop after the final one', async () => {
    const logKeys = (await listKeys(aws.s3, buckets.added)).filter((k) => k.includes('/CloudTrail/'));
    const finalEnd = Math.ceil((times.stop + STOP_DRAIN_MS) / (PERIOD_SECONDS * 1000)) * PERIOD_SECONDS * 1000;
    await waitFor(() => (Date.now() > finalEnd + 3000 ? true : undefined), 'the final digest period to end', 60_000, 500);
    const digests = await waitFor(async () => {
      const d = await digestsIn(aws.s3, buckets.added);
      const listed = new Set(d.flatMap((x) => x.logFiles));
      return logKeys.every((k) => listed.has(k)) ? d : undefined;
    }, 'digests listing every log file of the new trail', 60_000, 1000);
    expect(digests.length).toBeGreaterThan(0);
    await sleep(2 * PERIOD_SECONDS * 1000);
    expect((await digestsIn(aws.s3, buckets.added)).length, 'no digests while stopped').toBe(digests.length);
    // The trail that stays goes on digesting.
    const stay = (await digestsIn(aws.s3, buckets.stay)).length;
    await sleep(PERIOD_SECONDS * 1000 + 2000);
    expect((await digestsIn(aws.s3, buckets.stay)).length).toBeGreaterThan(stay);
  });

  it('GetTrailStatus\'s activity: NoSuchBucket for the trail without a bucket, delivery and digest times for the others', async () => {
    const status = await waitFor(() => {
      const broken = activity.activity('broken-trail');
      return broken.latestDeliveryError && activity.activity('added-trail').latestDigestDeliveryTime ? broken : undefined;
    }, 'activity records', 30_000, 500);
    expect(status.latestDeliveryError).toBe('NoSuchBucket');
    expect(status.latestDeliveryTime).toBeUndefined();
    const stay = activity.activity('stay-trail');
    expect(stay.latestDeliveryTime).toBeGreaterThan(times.start - 60_000);
    expect(stay.latestDeliveryError).toBeUndefined();
    expect(stay.latestDigestDeliveryTime).toBeGreaterThan(times.start - 60_000);
  });
});
