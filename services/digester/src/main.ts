import { AwsClients, ensureBucket } from '@opentrail/aws';
import { main, retry } from '@opentrail/runtime';
import { openTrailActivityWriter, openTrailCatalog } from '@opentrail/trails';
import { ChainState } from './chainState.js';
import { bindings, configSchema } from './config.js';
import { Digester } from './digester.js';
import { catalogDigestTrails } from './digestTrails.js';
import { DigestStore } from './digestStore.js';
import { KeyRing } from './keyRing.js';
import { digesterMetrics } from './metrics.js';

main({
  name: 'digester',
  configSchema,
  bindings,
  topics: (config) => ({
    deliveries: { writes: 'deliveries', value: 'Delivery' },
    dlq: { writes: 'dlq' },
    // One state partition per input partition: each has one transactional writer.
    state: { table: 'digesterState', configured: config.digester.stateTopic, partitions: { like: 'deliveries' }, value: 'DigesterState' },
    keys: { table: 'digestKeys', configured: config.digester.keysTopic, partitions: 1, value: 'DigestPublicKey' },
    // The trails package creates these, with its own settings.
    trails: { reads: 'trails', ensure: false },
    activity: { writes: 'trailActivity', ensure: false },
  }),
  async start(ctx) {
    const { config, logger, metrics, kafka, registry, topics, serdes } = ctx;
    const c = config.digester;
    const aws = new AwsClients(config.aws);
    ctx.onStop('aws', () => aws.destroy());
    // Trails as data: the trails topic, seeded from the configuration file, followed live.
    const catalog = ctx.own('trails', await openTrailCatalog({ kafka, registry, logger, metrics, topic: topics.trails, seed: config.trails, groupIdPrefix: c.groupId, replicationFactor: config.topics.replicationFactor }));
    const trails = ctx.own('digest trails', catalogDigestTrails(catalog));
    const digesting = () => catalog.active().filter((t) => t.digests.enabled);
    if (c.createBuckets) {
      for (const bucket of new Set(digesting().map((t) => t.bucket))) await retry(() => ensureBucket(aws.s3, bucket, config.aws.region), { retries: 10, initialDelayMs: 500 });
    }
    // Buckets of trails that come later (local stacks and demos): the archiver creates them too; a digest waits for S3 on its own.
    ctx.onStop('bucket changes', catalog.onChange((change) => {
      if (!c.createBuckets || !change.after || change.after.definition.bucket === change.before?.definition.bucket) return;
      const bucket = change.after.definition.bucket;
      void retry(() => ensureBucket(aws.s3, bucket, config.aws.region), { retries: 10, initialDelayMs: 500 }).catch((err: unknown) => logger.warn({ err, bucket }, 'creating a bucket failed'));
    }));
    const activity = ctx.own('trail activity', await openTrailActivityWriter({ kafka, registry, topic: topics.activity, service: 'digester', logger, replicationFactor: config.topics.replicationFactor }));

    const keys = await ctx.start('keys', new KeyRing({ signing: c.signing, kms: aws.kms, kafka, topic: topics.keys, serde: serdes.keys, logger }));
    const m = digesterMetrics(metrics, { groups: () => digester.groupCount, pendingLogFiles: () => digester.pendingLogFiles });
    const state = await ctx.start('state', new ChainState({ kafka, topic: topics.state, serde: serdes.state, consumerGroup: c.groupId, sourceTopic: topics.deliveries, logger, metrics }));
    const digester = new Digester({
      sourceTopic: topics.deliveries,
      deliveriesTopic: topics.deliveries,
      consumerGroup: c.groupId,
      trails,
      stopDrainMs: c.stopDrainMs,
      activity: activity.recorder,
      periodMs: (trail) => (c.testPeriodSeconds ?? trail.digests.periodMinutes * 60) * 1000,
      graceMs: c.graceMs,
      maxCatchUpPeriods: c.maxCatchUpPeriods,
      state,
      keys,
      store: new DigestStore(aws.s3, m, logger, c.requestTimeoutMs),
      deliverySerde: serdes.deliveries,
      metrics: m,
      logger,
    });
    // A digest still being drained gives up when the service stops, before the processor's stop waits for it.
    ctx.stopping.addEventListener('abort', () => digester.stop(), { once: true });

    await ctx.processor({
      groupId: c.groupId,
      topic: topics.deliveries,
      serde: serdes.deliveries,
      deadLetterTopic: topics.dlq,
      handler: digester,
      transactional: { idPrefix: c.transactionalIdPrefix ?? c.groupId },
      flushIntervalMs: c.flushIntervalMs,
      consumer: { sessionTimeout: c.sessionTimeoutMs, heartbeatInterval: c.heartbeatIntervalMs },
    });
    logger.info(
      { trails: digesting().map((t) => ({ name: t.name, periodSeconds: c.testPeriodSeconds ?? t.digests.periodMinutes * 60 })), fingerprint: keys.current().fingerprint, deliveries: topics.deliveries, state: topics.state, keys: topics.keys },
      'digesting',
    );

  },
});
