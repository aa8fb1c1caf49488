import type { KafkaClient } from '@opentrail/runtime';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { AwsClients } from '@opentrail/aws';
import { topicName } from '@opentrail/config';
import type { Logger } from '@opentrail/observability';
import { ensureTopics, main, StreamProcessor } from '@opentrail/runtime';
import { serdeFor, valueSubject, type Delivery } from '@opentrail/serde';
import { openTrailActivityWriter, openTrailCatalog } from '@opentrail/trails';
import { WebhookSender } from '@opentrail/webhooks';
import { bindings, configSchema, type NotifierConfig } from './config.js';
import { notifierMetrics } from './metrics.js';
import { SnsPublisher } from './snsPublisher.js';
import { TargetNotifier, type TargetChannel } from './targetNotifier.js';
import { LiveTargets } from './liveTargets.js';
import type { TargetSpec } from './targets.js';

/** Bytes kept free in an SNS message for its attributes (the idempotency key): SNS counts them toward 256 KiB. */
const SNS_ATTRIBUTE_RESERVE_BYTES = 512;

/**
 * A target's consumer group that has never committed starts at the end of the deliveries topic
 * (newTargetsStartAt: latest): adding a target announces what is delivered from then on, not the
 * topic's whole history. The runtime's consumer otherwise starts from the beginning.
 */
async function initialiseGroup(kafka: KafkaClient, groupId: string, topic: string, startAt: NotifierConfig['newTargetsStartAt'], logger: Logger): Promise<void> {
  if (startAt === 'earliest') return;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    if (committed?.partitions.some((p) => p.offset !== '-1')) return;
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({ groupId, topic, partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })) });
    logger.info({ groupId, offsets: ends.map((e) => e.high) }, 'new target: starting at the end of the deliveries topic');
  } catch (err) {
    // Another instance starting at the same time joined first and owns the group's offsets.
    logger.warn({ err, groupId }, 'could not initialise the offsets of a new target group; it starts where the group is');
  } finally {
    await admin.disconnect();
  }
}

/** Creates a trail's SNS topic if missing (notifier.sns.createTopics: local stacks and demos). */
async function createSnsTopic(aws: AwsClients, topicArn: string, logger: Logger): Promise<void> {
  const name = topicArn.split(':')[5]!;
  const fifo = name.endsWith('.fifo');
  const { TopicArn } = await aws.sns.send(new CreateTopicCommand({ Name: name, ...(fifo ? { Attributes: { FifoTopic: 'true' } } : {}) }));
  if (TopicArn !== topicArn) logger.warn({ configured: topicArn, created: TopicArn }, 'the SNS topic was created under another ARN (account or region differ); notifications go to the configured ARN');
}

main({
  name: 'notifier',
  configSchema,
  bindings,
  async start({ config, logger, metrics, kafka, registry }) {
    const c = config.notifier;
    const topics = {
      deliveries: topicName(config, 'deliveries'),
      notifications: topicName(config, 'notifications'),
      dlq: c.deadLetterTopic ?? topicName(config, 'notifications.dlq'),
      activity: topicName(config, 'trailActivity'),
    };
    await ensureTopics(kafka, [{ topic: topics.deliveries }, { topic: topics.notifications }, { topic: topics.dlq }], config.topics);
    const deliverySerde = serdeFor(registry, 'Delivery');
    await deliverySerde.register(valueSubject(topics.deliveries));
    const notificationSerde = serdeFor(registry, 'Notification');
    await notificationSerde.register(valueSubject(topics.notifications));

    // Trails as data: the trails topic, seeded from the configuration file, followed live.
    const catalog = await openTrailCatalog({ kafka, registry, logger, metrics, topic: topicName(config, 'trails'), seed: config.trails, groupIdPrefix: c.groupId, replicationFactor: config.topics.replicationFactor });
    let aws: AwsClients | undefined;
    const awsClients = () => (aws ??= new AwsClients(config.aws));

    const breakers = new Map<string, () => [string, 'closed' | 'half-open' | 'open']>();
    const m = notifierMetrics(metrics, () => [...breakers.values()].map((b) => b()));
    const webhookKinds = new Set(c.kinds);
    const d = c.delivery;

    const channelFor = (target: TargetSpec, abort: AbortController): TargetChannel => {
      if (target.kind === 'sns') {
        const publisher = new SnsPublisher({
          client: awsClients().sns,
          topicArn: target.topicArn,
          policy: d,
          signal: abort.signal,
          observer: m.outbound,
          onFailedAttempt: (result) => m.failed.inc({ target: target.label, result }),
        });
        breakers.set(target.id, () => [target.label, publisher.breakerState]);
        return { kind: 'sns', publisher, batchWindowMs: c.sns.batchWindowMs, maxMessageBytes: c.sns.maxMessageBytes - SNS_ATTRIBUTE_RESERVE_BYTES };
      }
      if (target.kind === 'webhook') {
        const sender = new WebhookSender({
          ...d,
          signal: abort.signal,
          observer: m.outbound,
          onAttempt: (a) => {
            if (a.error && a.error.code !== 'ABORTED') m.failed.inc({ target: target.label, result: a.status ? String(a.status) : a.error.code });
          },
        });
        breakers.set(target.id, () => [target.label, sender.breakerState(target.webhook)]);
        return { kind: 'webhook', sender, webhook: target.webhook };
      }
      return { kind: 'kafka', topic: topics.notifications, encode: (n) => notificationSerde.encode(n) };
    };

    const activity = await openTrailActivityWriter({ kafka, registry, topic: topics.activity, service: 'notifier', logger, replicationFactor: config.topics.replicationFactor });

    // Each target reads the deliveries in a consumer group of its own; targets follow the trails live.
    const live: LiveTargets = new LiveTargets({
      catalog,
      logger,
      start: async (target) => {
        if (target.kind === 'sns' && c.sns.createTopics) await createSnsTopic(awsClients(), target.topicArn, logger);
        const groupId = `${c.groupId}.${target.id}`;
        await initialiseGroup(kafka, groupId, topics.deliveries, c.newTargetsStartAt, logger);
        const abort = new AbortController();
        const handler = new TargetNotifier({
          target,
          channel: channelFor(target, abort),
          knownTrails: live.knownTrails,
          kinds: webhookKinds,
          concurrency: d.concurrency,
          maxInFlight: d.maxInFlight,
          shutdownGraceMs: c.shutdownGraceMs,
          deadLetterTopic: topics.dlq,
          abort,
          metrics: m,
          logger: logger.child({ target: target.label }),
          activity: activity.recorder,
        });
        const processor = new StreamProcessor<Delivery>({
          service: 'notifier',
          kafka,
          groupId,
          topic: topics.deliveries,
          serde: deliverySerde,
          deadLetterTopic: topics.dlq,
          handler,
          logger: logger.child({ target: target.label }),
          metrics,
          flushIntervalMs: c.commitIntervalMs,
          consumer: { sessionTimeout: c.sessionTimeoutMs },
        });
        await processor.start();
        return {
          async stop() {
            await processor.stop();
            abort.abort();
            breakers.delete(target.id);
          },
          ready: () => processor.ready,
          healthy: () => processor.healthy,
        };
      },
    });
    await live.start();
    if (live.targets.length === 0) logger.warn('no trail names a notification target (notifications.snsTopicArn, webhooks, kafka) yet: nothing to announce until one does');
    logger.info({ deliveries: topics.deliveries, notifications: topics.notifications, deadLetters: topics.dlq, targets: live.targets.map((t) => ({ target: t.label, trails: [...t.trails] })) }, 'notifying');

    return {
      async stop() {
        await live.stop();
        await activity.stop();
        await catalog.stop();
        aws?.destroy();
      },
      readiness: { targets: () => live.ready(), trails: () => catalog.ready },
      liveness: { targets: () => live.healthy(), trails: () => catalog.healthy },
    };
  },
});
