import {
  CloudTrailClient,
  CreateTrailCommand,
  DeleteTrailCommand,
  GetTrailStatusCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
  type GetTrailStatusCommandOutput,
} from '@aws-sdk/client-cloudtrail';
import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiverEnv, archiverTopics, EnrichedProducer } from '../archiver/helpers.js';
import { digestsIn, liveDigesterEnv, eventIDsIn as idsIn, expectStartChangeStop, LiveTraffic, type Sent } from '../archiver/liveTraffic.js';
import { testKafka, uniquePrefix } from '../helpers/env.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { ACCOUNT, awsClients, createTrailBucket, KEY, REGION, startTrailApi, uniqueBucket, type TrailApi } from './trail-helpers.js';

/**
 * Issue 14's proof, end to end on the real stack: trails created and changed through
 * @aws-sdk/client-cloudtrail against the API, followed live by the archiver and the digester as
 * real processes, while traffic flows. A created and started trail receives log files and digests;
 * PutEventSelectors changes what it receives; StopLogging stops it (the final digest included);
 * DeleteTrail stops another; the configured trail that stays has every event exactly once; and
 * GetTrailStatus says what happened, a missing bucket's NoSuchBucket included.
 */

const prefix = uniquePrefix('tpipe');
const aws = awsClients();
const buckets = { stay: uniqueBucket('tp-stay'), added: uniqueBucket('tp-added'), gone: uniqueBucket('tp-gone'), broken: uniqueBucket('tp-broken') };
const STAY = { name: 'stay-trail', accountId: ACCOUNT, homeRegion: REGION, bucket: buckets.stay, roll: { intervalSeconds: 2 }, digests: { enabled: true, periodMinutes: 1 } };
const PERIOD_SECONDS = 5;
const STOP_DRAIN_MS = 3000;

const services: ServiceProcess[] = [];
let sent: Sent[] = [];
const times = { start: 0, change: 0, gone: 0, stop: 0 };
const statuses: Record<'started' | 'stopped' | 'broken', GetTrailStatusCommandOutput | undefined> = { started: undefined, stopped: undefined, broken: undefined };
let api: TrailApi;
let cloudtrail: CloudTrailClient;

const eventIDsIn = (bucket: string) => idsIn(aws.s3, bucket);
const digestCount = async (bucket: string) => (await digestsIn(aws.s3, bucket)).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const status = (name: string) => cloudtrail.send(new GetTrailStatusCommand({ Name: name }));

beforeAll(async () => {
  await archiverTopics(testKafka(), prefix);
  await createTrailBucket(aws.s3, buckets.stay);
  for (const bucket of [buckets.added, buckets.gone, buckets.broken]) await createTrailBucket(aws.s3, bucket);
  services.push(await startService('archiver', archiverEnv(prefix, [STAY], { OPENTRAIL_ARCHIVER_GROUP_ID: `${prefix}archiver` })));
  services.push(
    await startService(
      'digester',
      liveDigesterEnv(prefix, [STAY], { periodSeconds: PERIOD_SECONDS, stopDrainMs: STOP_DRAIN_MS }),
    ),
  );
  // Trails created through the API roll every 2 s (CloudTrail's API has no member for it).
  api = await startTrailApi({ OPENTRAIL_API_NEW_TRAIL_ROLL_INTERVAL_SECONDS: '2', OPENTRAIL_API_NEW_TRAIL_DIGEST_PERIOD_MINUTES: '1' }, prefix);
  // The SDK's own retries answer the API's 1-per-second quota on changes, as they do CloudTrail's.
  cloudtrail = new CloudTrailClient({ endpoint: api.url, region: REGION, credentials: { accessKeyId: KEY.id, secretAccessKey: KEY.secret }, maxAttempts: 8 });

  const producer = await EnrichedProducer.create(testKafka(), prefix);
  const traffic = new LiveTraffic(producer, { seed: prefix, account: ACCOUNT, region: REGION });
  sent = traffic.sent;
  traffic.start();

  try {
    await sleep(3000);
    for (const [name, bucket] of [['sdk-added', buckets.added], ['sdk-gone', buckets.gone], ['sdk-broken', buckets.broken]] as const) {
      await cloudtrail.send(new CreateTrailCommand({ Name: name, S3BucketName: bucket, EnableLogFileValidation: true }));
    }
    // The broken trail's bucket goes after the checks CreateTrail made: its deliveries must fail.
    await aws.s3.send(new DeleteBucketCommand({ Bucket: buckets.broken }));
    times.start = Date.now();
    for (const name of ['sdk-added', 'sdk-gone', 'sdk-broken']) await cloudtrail.send(new StartLoggingCommand({ Name: name }));
    await waitFor(async () => (await eventIDsIn(buckets.added)).length > 0 && (await eventIDsIn(buckets.gone)).length > 0, 'log files of the trails created through the API', 60_000, 1000);
    statuses.started = await status('sdk-added');

    times.change = Date.now();
    await cloudtrail.send(new PutEventSelectorsCommand({ TrailName: 'sdk-added', EventSelectors: [{ ReadWriteType: 'WriteOnly', IncludeManagementEvents: true }] }));
    await sleep(6000);
    times.gone = Date.now();
    await cloudtrail.send(new DeleteTrailCommand({ Name: 'sdk-gone' }));
    await sleep(4000);
    times.stop = Date.now();
    await cloudtrail.send(new StopLoggingCommand({ Name: 'sdk-added' }));
    await sleep(6000);
  } finally {
    await traffic.stop();
    await producer.close();
  }
  await waitFor(async () => ((await eventIDsIn(buckets.stay)).length >= sent.length ? true : undefined), 'the configured trail to deliver every event', 90_000, 1000);
  statuses.stopped = await status('sdk-added');
  statuses.broken = await waitFor(async () => {
    const s = await status('sdk-broken');
    return s.LatestDeliveryError ? s : undefined;
  }, 'the broken trail\'s delivery error', 30_000, 1000);
}, 360_000);

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await api?.stop();
  cloudtrail?.destroy();
  aws.destroy();
});

describe('trails created and changed through the SDK, followed live while traffic flows', () => {
  it('the configured trail that stays has every event exactly once', async () => {
    const ids = await eventIDsIn(buckets.stay);
    expect(ids.length).toBe(sent.length);
    expect(new Set(ids)).toEqual(new Set(sent.map((s) => s.eventID)));
  });

  it('CreateTrail + StartLogging: log files from the start; PutEventSelectors: writes only; StopLogging: nothing after', async () => {
    const ids = await eventIDsIn(buckets.added);
    // StopLogging's answer comes after the change is written: allow the call's own second.
    expectStartChangeStop(ids, sent, times, { start: 1000, stop: 1000 });
  });

  it('DeleteTrail: nothing sent after the deletion', async () => {
    const ids = await eventIDsIn(buckets.gone);
    expect(ids.length).toBeGreaterThan(0);
    const byId = new Map(sent.map((s) => [s.eventID, s]));
    for (const id of ids) expect(byId.get(id)!.before).toBeLessThan(times.gone + 5000);
  });

  it('digests for the created trail, none once it stopped', async () => {
    const finalEnd = Math.ceil((times.stop + STOP_DRAIN_MS) / (PERIOD_SECONDS * 1000)) * PERIOD_SECONDS * 1000;
    await waitFor(() => (Date.now() > finalEnd + 4000 ? true : undefined), 'the final digest period to end', 60_000, 500);
    const digests = await waitFor(async () => {
      const n = await digestCount(buckets.added);
      return n > 0 ? n : undefined;
    }, 'digests of the created trail', 30_000, 1000);
    await sleep(2 * PERIOD_SECONDS * 1000);
    expect(await digestCount(buckets.added), 'no digests while stopped').toBe(digests);
  });

  it('GetTrailStatus tells what happened: logging switch and times, deliveries, digests, the broken bucket', () => {
    const started = statuses.started!;
    expect(started.IsLogging).toBe(true);
    expect(started.StartLoggingTime!.getTime()).toBeGreaterThanOrEqual(times.start - 1000);
    expect(started.LatestDeliveryTime!.getTime()).toBeGreaterThan(times.start - 1000);
    expect(started.LatestDeliveryError).toBeUndefined();

    const stopped = statuses.stopped!;
    expect(stopped.IsLogging).toBe(false);
    expect(stopped.StopLoggingTime!.getTime()).toBeGreaterThanOrEqual(times.stop - 1000);
    expect(stopped.StopLoggingTime!.getTime()).toBeLessThanOrEqual(times.stop + 5000);
    expect(stopped.LatestDigestDeliveryTime!.getTime()).toBeGreaterThan(times.start);
    expect(stopped.TimeLoggingStopped).toBeDefined();

    const broken = statuses.broken!;
    expect(broken.IsLogging).toBe(true);
    expect(broken.LatestDeliveryError).toBe('NoSuchBucket');
    expect(broken.LatestDeliveryTime).toBeUndefined();
  });
});
