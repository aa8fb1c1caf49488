import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@opentrail/observability';
import { openTrailActivityReader, openTrailCatalog, parseTrail, type TrailActivityReader, type TrailCatalogHandle, type TrailInput, type TrailRecord } from '@opentrail/trails';
import { testKafka, testRegistry, uniquePrefix } from '../helpers/env.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { snsTopicWithQueue, testAws } from '../helpers/snsQueue.js';
import { waitFor } from '../helpers/wait.js';
import { delivery, DeliveryWriter, notifierEnv, notifierTopics, trail } from './helpers.js';

/**
 * The notifier follows the trails topic (issue 14): a trail written to the catalog with an SNS
 * topic gets its log files announced, without a restart; a trail whose topic does not exist shows
 * SNS's NotFound as its notification error; a deleted trail's target stops.
 */

process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const record = (input: TrailInput): TrailRecord => {
  const now = Date.now();
  return { definition: parseTrail(input), isLogging: true, startLoggingTime: now, tags: [], createdAt: now, updatedAt: now, origin: 'api' };
};

describe('notifier: targets follow the trail catalog', () => {
  it('announces a new trail\'s log files, reports a missing topic, and stops announcing a deleted trail', async () => {
    const prefix = uniquePrefix('notifier-live');
    const kafka = testKafka();
    const topics = await notifierTopics(prefix, kafka);
    const aws = testAws(cleanups);
    const name = prefix.replace(/\W/g, '');
    const { TopicArn, QueueUrl } = await snsTopicWithQueue(aws, `${name}live`);
    const missingTopic = TopicArn.replace(/[^:]+$/, `${name}missing`);
    const received = async (): Promise<string[]> => {
      const { Messages } = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      return (Messages ?? []).flatMap((m) => (JSON.parse((JSON.parse(m.Body!) as { Message: string }).Message) as { s3ObjectKey: string[] }).s3ObjectKey);
    };

    // No trail at start: nothing to announce.
    const notifier: ServiceProcess = await startService('notifier', notifierEnv(prefix, [], { OPENTRAIL_NOTIFIER_NEW_TARGETS_START_AT: 'latest', OPENTRAIL_AWS_REGION: 'us-east-1' }));
    cleanups.push(() => notifier.stop());
    const logger = createLogger('notifier-live-test', 'silent');
    const catalog: TrailCatalogHandle = await openTrailCatalog({ kafka: testKafka('live-catalog'), registry: testRegistry(), topic: `${prefix}trails`, seed: [], logger, groupIdPrefix: `${prefix}test` });
    cleanups.push(() => catalog.stop());
    const activity: TrailActivityReader = await openTrailActivityReader({ kafka: testKafka('live-activity'), registry: testRegistry(), topic: `${prefix}trails.activity`, logger, groupIdPrefix: `${prefix}test` });
    cleanups.push(() => activity.stop());
    const writer = await DeliveryWriter.create(kafka, topics.deliveries);
    cleanups.push(() => writer.close());

    await catalog.put(record(trail('watched', { snsTopicArn: TopicArn })));
    await catalog.put(record(trail('lost', { snsTopicArn: missingTopic })));
    await waitFor(() => notifier.logs().filter((l) => l.msg === 'notification target started').length >= 2 || undefined, 'the notifier to start both targets', 30_000);
    // The target's consumer group has joined and sits at the end of the topic.
    await waitFor(async () => (await fetch(`${notifier.url}/readyz`)).status === 200 || undefined, 'the notifier to be ready', 30_000);

    const first = [delivery('watched', 'LOG'), delivery('watched', 'LOG')];
    await writer.write([...first, delivery('lost', 'LOG')]);
    const keys: string[] = [];
    await waitFor(async () => {
      keys.push(...(await received()));
      return keys.length >= first.length || undefined;
    }, 'the new trail\'s keys in the subscribed queue', 60_000);
    expect(keys.sort()).toEqual(first.map((d) => d.key).sort());

    const lost = await waitFor(() => (activity.activity('lost').latestNotificationError ? activity.activity('lost') : undefined), 'the missing topic\'s error in the trail activity', 30_000);
    expect(lost.latestNotificationError).toBe('NotFound');
    expect(lost.latestNotificationTime).toBeUndefined();
    await waitFor(() => activity.activity('watched').latestNotificationTime, 'the watched trail\'s notification time', 30_000);

    await catalog.delete('watched');
    await waitFor(() => notifier.logs().some((l) => l.msg === 'notification target no longer named by any trail: stopped') || undefined, 'the deleted trail\'s target to stop', 30_000);
    await writer.write([delivery('watched', 'LOG')]);
    const after: string[] = [];
    for (let i = 0; i < 4; i++) after.push(...(await received()));
    expect(after).toEqual([]);
    expect((await fetch(`${notifier.url}/readyz`)).status).toBe(200);
  });
});
