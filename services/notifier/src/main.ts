import { AwsClients } from '@opentrail/aws';
import { main, StreamProcessor } from '@opentrail/runtime';
import type { Delivery } from '@opentrail/serde';
import { openTrailActivityWriter, openTrailCatalog } from '@opentrail/trails';
import { WebhookSender } from '@opentrail/webhooks';
import { bindings, configSchema } from './config.js';
import { notifierMetrics } from './metrics.js';
import { SnsPublisher } from './snsPublisher.js';
import { TargetNotifier, type TargetChannel } from './targetNotifier.js';
import { LiveTargets } from './liveTargets.js';
import { createSnsTopic, initialiseGroup } from './targetSetup.js';
import type { TargetSpec } from './targets.js';

/** Bytes kept free in an SNS message for its attributes (the idempotency key): SNS counts them toward 256 KiB. */
const SNS_ATTRIBUTE_RESERVE_BYTES = 512;

main({
  name: 'notifier',
  configSchema,
  bindings,
  topics: (config) => ({
    // Read only, but its subject is registered here too: whichever of the archiver and the notifier starts first.
    deliveries: { reads: 'deliveries', value: 'Delivery', register: true },
    notifications: { writes: 'notifications', value: 'Notification' },
    dlq: { writes: 'notificationDeadLetters', configured: config.notifier.deadLetterTopic },
    // The trails package creates these, with its own settings.
    trails: { reads: 'trails', ensure: false },
    activity: { writes: 'trailActivity', ensure: false },
  }),
  async start(ctx) {
    const { config, logger, metrics, kafka, registry, topics, serdes } = ctx;
    const c = config.notifier;
    // Created on the first SNS target, destroyed after everything that may use it has stopped.
    let aws: AwsClients | undefined;
    ctx.onStop('aws', () => aws?.destroy());
    // Trails as data: the trails topic, seeded from the configuration file, followed live.
    const catalog = ctx.own('trails', await openTrailCatalog({ kafka, registry, logger, metrics, topic: topics.trails, seed: config.trails, groupIdPrefix: c.groupId, replicationFactor: config.topics.replicationFactor }));
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
      return { kind: 'kafka', topic: topics.notifications, encode: (n) => serdes.notifications.encode(n) };
    };

    const activity = ctx.own('trail activity', await openTrailActivityWriter({ kafka, registry, topic: topics.activity, service: 'notifier', logger, replicationFactor: config.topics.replicationFactor }));

    // Each target reads the deliveries in a consumer group of its own; targets follow the trails live.
    // Their processors belong to the targets (they come and go with the trails), not to the service.
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
          serde: serdes.deliveries,
          deadLetterTopic: topics.dlq,
          handler,
          logger: logger.child({ target: target.label }),
          metrics,
          flushIntervalMs: c.commitIntervalMs,
          consumer: { sessionTimeout: c.sessionTimeoutMs, heartbeatInterval: c.heartbeatIntervalMs },
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
    await ctx.start('targets', live);
    if (live.targets.length === 0) logger.warn('no trail names a notification target (notifications.snsTopicArn, webhooks, kafka) yet: nothing to announce until one does');
    logger.info({ deliveries: topics.deliveries, notifications: topics.notifications, deadLetters: topics.dlq, targets: live.targets.map((t) => ({ target: t.label, trails: [...t.trails] })) }, 'notifying');
  },
});
