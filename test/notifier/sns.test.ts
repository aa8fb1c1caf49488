import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { stackEndpoints, testKafka, uniquePrefix } from '../helpers/env.js';
import { startService } from '../helpers/service.js';
import { snsTopicWithQueue, testAws } from '../helpers/snsQueue.js';
import { waitFor } from '../helpers/wait.js';
import { collect, delivery, DeliveryWriter, notificationsOf, notifierEnv, notifierTopics, trail } from './helpers.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

/** The log-file pattern of cloudtrail-spec.md §2.1 (CPL SourceIdentifier), verbatim. */
const CLOUDTRAIL_LOG_FILE = /.+_CloudTrail_[\w-]+_\d{8}T\d{4}Z_[\w]+\.json\.gz/;

const cleanups = cleanupAfterEach();

interface SnsEnvelope {
  Type: string;
  TopicArn: string;
  Message: string;
  MessageAttributes?: Record<string, { Type: string; Value: string }>;
}

describe('notifier: SNS and the notifications topic (a real process, moto SNS → SQS)', () => {
  it('announces log files in CloudTrail\'s SNS message, several keys per message, and every announced delivery on the notifications topic', async () => {
    const prefix = uniquePrefix('notifier-sns');
    const kafka = testKafka();
    const topics = await notifierTopics(prefix, kafka);
    const aws = testAws(cleanups);
    const name = prefix.replace(/\W/g, '');
    const { TopicArn, QueueUrl } = await snsTopicWithQueue(aws, `${name}cloudtrail`);

    // A topic nobody created: SNS refuses it (404), which no retry can heal.
    const missingTopic = TopicArn.replace(/[^:]+$/, `${name}missing`);
    // A shared configuration file with only the shared sections: the notifier's own section is optional.
    const dir = mkdtempSync(join(tmpdir(), 'notifier-config-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'opentrail.json');
    const endpoints = stackEndpoints();
    writeFileSync(
      file,
      JSON.stringify({
        kafka: { brokers: endpoints.kafkaBrokers.split(',') },
        schemaRegistry: { url: endpoints.schemaRegistryUrl },
        topics: { prefix, partitions: 3 },
        aws: { endpoint: endpoints.awsEndpoint, region: 'us-east-1' },
        trails: [trail('audit', { snsTopicArn: TopicArn, kafka: true }), trail('quiet', {}), trail('lost', { snsTopicArn: missingTopic })],
      }),
    );

    const notifications = await collect(kafka, topics.notifications);
    cleanups.push(() => notifications.stop());
    const dlq = await collect(kafka, topics.dlq);
    cleanups.push(() => dlq.stop());
    const writer = await DeliveryWriter.create(kafka, topics.deliveries);
    cleanups.push(() => writer.close());
    // Delivered before the notifier ever ran: a new target starts at the end (newTargetsStartAt
    // defaults to latest), as adding a topic to a CloudTrail trail announces only later files.
    const history = delivery('audit', 'LOG');
    await writer.write([history]);
    const notifier = await startService('notifier', {
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      OPENTRAIL_CONFIG_FILE: file,
      OPENTRAIL_HTTP_PORT: '0',
      // Isolation from other tests on the shared stack (the default group would be shared).
      OPENTRAIL_NOTIFIER_GROUP_ID: `${prefix}notifier`,
    });
    cleanups.push(() => notifier.stop());
    const logs = Array.from({ length: 5 }, () => delivery('audit', 'LOG'));
    const insight = delivery('audit', 'INSIGHT');
    const digest = delivery('audit', 'DIGEST');
    // Written together (one partition: the same trail/account/region key), so they fall in one batch window.
    const lost = delivery('lost', 'LOG');
    await writer.write([...logs, insight, digest, delivery('quiet', 'LOG'), lost]);

    const received: SnsEnvelope[] = [];
    await waitFor(async () => {
      const { Messages } = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      for (const m of Messages ?? []) received.push(JSON.parse(m.Body!) as SnsEnvelope);
      return received.flatMap((r) => (JSON.parse(r.Message) as { s3ObjectKey: string[] }).s3ObjectKey).length >= logs.length;
    }, 'the five log-file keys in the subscribed queue', 60_000);

    // The five keys of one trail, delivered together, arrive in one message.
    expect(received).toHaveLength(1);
    const envelope = received[0]!;
    expect(envelope.Type).toBe('Notification');
    expect(envelope.TopicArn).toBe(TopicArn);
    // Parsed the way CPL parses it: Message is JSON text holding exactly s3Bucket and s3ObjectKey.
    const message = JSON.parse(envelope.Message) as Record<string, unknown>;
    expect(Object.keys(message)).toEqual(['s3Bucket', 's3ObjectKey']);
    expect(message.s3Bucket).toBe('audit-bucket');
    expect(message.s3ObjectKey).toEqual(logs.map((d) => d.key));
    for (const key of message.s3ObjectKey as string[]) expect(key).toMatch(CLOUDTRAIL_LOG_FILE);
    expect(message.s3ObjectKey).not.toContain(history.key);
    expect(envelope.Message).toBe(JSON.stringify({ s3Bucket: 'audit-bucket', s3ObjectKey: logs.map((d) => d.key) }));
    // The idempotency key travels in the envelope, not in CloudTrail's Message.
    expect(envelope.MessageAttributes?.['opentrail.notificationId']?.Value).toMatch(/^[0-9a-f]{32}$/);

    // The notifications topic: the log files and the Insights file (not the digest, not the other trail's).
    await waitFor(() => notifications.messages.length >= 6, 'six records on the notifications topic');
    const records = await notificationsOf(notifications);
    expect(records.map((r) => r.deliveryId).sort()).toEqual([...logs, insight].map((d) => d.deliveryId).sort());
    for (const r of records) {
      expect(r.notificationId).toBe(r.deliveryId);
      expect(JSON.parse(r.message)).toEqual({ s3Bucket: 'audit-bucket', s3ObjectKey: [r.s3ObjectKey] });
    }
    expect(notifications.messages.map((m) => m.headers?.['opentrail-notification-id']?.toString())).toEqual(records.map((r) => r.notificationId));
    expect(notifications.messages.map((m) => m.key?.toString())).toEqual(records.map(() => `audit/111122223333/us-east-2`));

    // The missing topic: dead-lettered after one attempt (a 4xx is not retried), the rest unaffected.
    await waitFor(() => dlq.messages.length >= 1, 'the dead letter of the notification to the missing topic');
    expect(dlq.messages).toHaveLength(1);
    expect(dlq.messages[0]!.headers?.['opentrail-notifier-target']?.toString()).toBe(`sns:${missingTopic}`);
    expect(dlq.messages[0]!.headers?.['opentrail-notifier-attempts']?.toString()).toBe('1');
    expect(dlq.messages[0]!.headers?.['opentrail-notification-id']?.toString()).toBe(lost.deliveryId);
    expect(dlq.messages[0]!.headers?.['opentrail-dlq-detail']?.toString()).toMatch(/NotFound/);

    const snsTarget = `sns:${TopicArn}`;
    await waitFor(async () => (await notifier.metric('opentrail_notifier_deliveries_notified_total', { target: 'kafka' })) === 6, 'the kafka target to count six');
    expect(await notifier.metric('opentrail_notifier_notifications_sent_total', { target: snsTarget })).toBe(1);
    expect(await notifier.metric('opentrail_notifier_deliveries_notified_total', { target: snsTarget })).toBe(5);
    expect(await notifier.metric('opentrail_notifier_deliveries_skipped_total', { target: snsTarget, reason: 'kind' })).toBe(2);
    expect(await notifier.metric('opentrail_notifier_deliveries_skipped_total', { target: 'kafka', reason: 'kind' })).toBe(1);
    expect(await notifier.metric('opentrail_notifier_notification_latency_seconds_count', { target: snsTarget })).toBe(5);

    // More keys than fit in one message (long S3KeyPrefixes, 1200 files at once): several messages,
    // none over the limit, every key once, and each queue body within SQS's 256 KiB.
    const many = Array.from({ length: 1200 }, () => delivery('audit', 'LOG', new Date(), { prefix: `org-wide/${'p'.repeat(180)}` }));
    await writer.write(many);
    const large: SnsEnvelope[] = [];
    const bodies: number[] = [];
    const keysOf = (envelopes: SnsEnvelope[]) => envelopes.flatMap((r) => (JSON.parse(r.Message) as { s3ObjectKey: string[] }).s3ObjectKey);
    await waitFor(async () => {
      const { Messages } = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      for (const m of Messages ?? []) {
        bodies.push(Buffer.byteLength(m.Body!));
        large.push(JSON.parse(m.Body!) as SnsEnvelope);
      }
      return keysOf(large).length >= many.length;
    }, 'the 1200 keys in the subscribed queue', 60_000);
    expect(large.length).toBeGreaterThan(1);
    for (const envelope of large) expect(Buffer.byteLength(envelope.Message)).toBeLessThanOrEqual(229_376 - 512);
    for (const size of bodies) expect(size).toBeLessThanOrEqual(262_144);
    // Messages may be published concurrently, so only the set is compared across messages.
    expect(keysOf(large).sort()).toEqual(many.map((d) => d.key).sort());
  });

  it('creates a trail\'s missing SNS topic at start when asked (local stacks, the demo) and publishes to it', async () => {
    const prefix = uniquePrefix('notifier-sns-create');
    const kafka = testKafka();
    const topics = await notifierTopics(prefix, kafka);
    const aws = testAws(cleanups);
    const name = `${prefix.replace(/\W/g, '')}created`;
    // moto's account and region: where CreateTopic puts it.
    const topicArn = `arn:aws:sns:us-east-1:123456789012:${name}`;
    const notifier = await startService('notifier', notifierEnv(prefix, [trail('demo', { snsTopicArn: topicArn })], { OPENTRAIL_NOTIFIER_SNS_CREATE_TOPICS: 'true', OPENTRAIL_AWS_REGION: 'us-east-1' }));
    cleanups.push(() => notifier.stop());
    const { QueueUrl } = await aws.sqs.send(new CreateQueueCommand({ QueueName: name }));
    const { Attributes } = await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    // Subscribing succeeds only if the notifier created the topic.
    await aws.sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: Attributes!.QueueArn!, Attributes: { RawMessageDelivery: 'true' } }));
    const writer = await DeliveryWriter.create(kafka, topics.deliveries);
    cleanups.push(() => writer.close());
    const d = delivery('demo', 'LOG');
    await writer.write([d]);
    let body: string | undefined;
    await waitFor(async () => {
      const { Messages } = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      body = Messages?.[0]?.Body;
      return body;
    }, 'the notification in the raw-delivery queue');
    // With raw message delivery the queue holds CloudTrail's message text itself.
    expect(body).toBe(JSON.stringify({ s3Bucket: 'demo-bucket', s3ObjectKey: [d.key] }));
  });
});
