import { CreateTopicCommand } from '@aws-sdk/client-sns';
import type { Kafka } from 'kafkajs';
import { AwsClients } from '@opentrail/aws';
import { topicName } from '@opentrail/config';
import type { Logger } from '@opentrail/observability';
import { ensureTopics, main, StreamProcessor } from '@opentrail/runtime';
import { serdeFor, valueSubject, type Delivery } from '@opentrail/serde';
import { WebhookSender } from '@opentrail/webhooks';
import { bindings, configSchema, type NotifierConfig } from './config.js';
import { notifierMetrics } from './metrics.js';
import { SnsPublisher } from './snsPublisher.js';
import { TargetNotifier, type TargetChannel } from './targetNotifier.js';
import { resolveTargets, type TargetSpec } from './targets.js';

/** Bytes kept free in an SNS message for its attributes (the idempotency key): SNS counts them toward 256 KiB. */
const SNS_ATTRIBUTE_RESERVE_BYTES = 512;

/**
 * A target's consumer group that has never committed starts at the end of the deliveries topic
 * (newTargetsStartAt: latest): adding a target announces what is delivered from then on, not the
 * topic's whole history. The runtime's consumer otherwise starts from the beginning.
 */
async function initialiseGroup(kafka: Kafka, groupId: string, topic: string, startAt: NotifierConfig['newTargetsStartAt'], logger: Logger): Promise<void> {
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
    };
    await ensureTopics(kafka, [{ topic: topics.deliveries }, { topic: topics.notifications }, { topic: topics.dlq }], config.topics);
    const deliverySerde = serdeFor(registry, 'Delivery');
    await deliverySerde.register(valueSubject(topics.deliveries));
    const notificationSerde = serdeFor(registry, 'Notification');
    await notificationSerde.register(valueSubject(topics.notifications));

    const targets = resolveTargets(config.trails);
    const aws = targets.some((t) => t.kind === 'sns') ? new AwsClients(config.aws) : undefined;
    if (aws && c.sns.createTopics) {
      for (const target of targets) {
        if (target.kind !== 'sns') continue;
        const name = target.topicArn.split(':')[5]!;
        const fifo = name.endsWith('.fifo');
        const { TopicArn } = await aws.sns.send(new CreateTopicCommand({ Name: name, ...(fifo ? { Attributes: { FifoTopic: 'true' } } : {}) }));
        if (TopicArn !== target.topicArn) logger.warn({ configured: target.topicArn, created: TopicArn }, 'the SNS topic was created under another ARN (account or region differ); notifications go to the configured ARN');
      }
    }

    const breakers: (() => [string, 'closed' | 'half-open' | 'open'])[] = [];
    const m = notifierMetrics(metrics, () => breakers.map((b) => b()));
    const knownTrails = new Set(config.trails.map((t) => t.name));
    const webhookKinds = new Set(c.kinds);
    const d = c.delivery;

    const channelFor = (target: TargetSpec, abort: AbortController): TargetChannel => {
      if (target.kind === 'sns') {
        const publisher = new SnsPublisher({
          client: aws!.sns,
          topicArn: target.topicArn,
          retries: d.retries,
          initialDelayMs: d.initialDelayMs,
          maxDelayMs: d.maxDelayMs,
          breakerFailures: d.breakerFailures,
          breakerResetMs: d.breakerResetMs,
          signal: abort.signal,
          onFailedAttempt: (result) => m.failed.inc({ target: target.label, result }),
        });
        breakers.push(() => [target.label, publisher.breakerState]);
        return { kind: 'sns', publisher, batchWindowMs: c.sns.batchWindowMs, maxMessageBytes: c.sns.maxMessageBytes - SNS_ATTRIBUTE_RESERVE_BYTES };
      }
      if (target.kind === 'webhook') {
        const sender = new WebhookSender({
          retries: d.retries,
          initialDelayMs: d.initialDelayMs,
          maxDelayMs: d.maxDelayMs,
          timeoutMs: d.timeoutMs,
          breaker: { failureThreshold: d.breakerFailures, resetAfterMs: d.breakerResetMs },
          signal: abort.signal,
          onAttempt: (a) => {
            if (a.error && a.error.code !== 'ABORTED') m.failed.inc({ target: target.label, result: a.status ? String(a.status) : a.error.code });
          },
        });
        breakers.push(() => [target.label, sender.breakerState(target.webhook)]);
        return { kind: 'webhook', sender, webhook: target.webhook };
      }
      return { kind: 'kafka', topic: topics.notifications, encode: (n) => notificationSerde.encode(n) };
    };

    const processors = await Promise.all(
      targets.map(async (target) => {
        const groupId = `${c.groupId}.${target.id}`;
        await initialiseGroup(kafka, groupId, topics.deliveries, c.newTargetsStartAt, logger);
        const abort = new AbortController();
        const handler = new TargetNotifier({
          target,
          channel: channelFor(target, abort),
          knownTrails,
          kinds: webhookKinds,
          concurrency: d.concurrency,
          maxInFlight: d.maxInFlight,
          shutdownGraceMs: c.shutdownGraceMs,
          deadLetterTopic: topics.dlq,
          abort,
          metrics: m,
          logger: logger.child({ target: target.label }),
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
        return { target, processor, abort };
      }),
    );
    await Promise.all(processors.map((p) => p.processor.start()));
    if (targets.length === 0) logger.warn('no trail names a notification target (notifications.snsTopicArn, webhooks, kafka): nothing to announce');
    logger.info({ deliveries: topics.deliveries, notifications: topics.notifications, deadLetters: topics.dlq, targets: targets.map((t) => ({ target: t.label, trails: [...t.trails] })) }, 'notifying');

    return {
      async stop() {
        await Promise.all(processors.map((p) => p.processor.stop()));
        for (const p of processors) p.abort.abort();
        aws?.destroy();
      },
      readiness: Object.fromEntries(processors.map((p) => [`target ${p.target.label}`, () => p.processor.ready])),
      liveness: Object.fromEntries(processors.map((p) => [`target ${p.target.label}`, () => p.processor.healthy])),
    };
  },
});
