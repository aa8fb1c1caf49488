import { AwsClients, ensureBucket } from '@opentrail/aws';
import { topicName } from '@opentrail/config';
import { ensureTopics, main, partitionCount, retry, StreamProcessor } from '@opentrail/runtime';
import { serdeFor, valueSubject, type Delivery } from '@opentrail/serde';
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
  async start({ config, logger, metrics, kafka, registry }) {
    const c = config.digester;
    const topics = {
      deliveries: topicName(config, 'deliveries'),
      dlq: topicName(config, 'dlq'),
      state: c.stateTopic ?? `${config.topics.prefix}digester.state`,
      keys: c.keysTopic ?? `${config.topics.prefix}digester.keys`,
      activity: topicName(config, 'trailActivity'),
    };
    await ensureTopics(kafka, [{ topic: topics.deliveries }, { topic: topics.dlq }], config.topics);
    await ensureTopics(
      kafka,
      [
        // One state partition per input partition: each has one transactional writer.
        { topic: topics.state, partitions: await partitionCount(kafka, topics.deliveries), compacted: true },
        { topic: topics.keys, partitions: 1, compacted: true },
      ],
      config.topics,
    );

    const deliverySerde = serdeFor(registry, 'Delivery');
    const stateSerde = serdeFor(registry, 'DigesterState');
    const keySerde = serdeFor(registry, 'DigestPublicKey');
    // Instances starting together race to create a new subject's compatibility rule (the loser
    // gets "rule already exists"); a second attempt finds the rule and registers.
    const register = (serde: { register(subject: string): Promise<number> }, topic: string) =>
      retry(() => serde.register(valueSubject(topic)), { retries: 5, initialDelayMs: 300, onRetry: (err) => logger.warn({ err, topic }, 'registering the schema failed; retrying') });
    await register(deliverySerde, topics.deliveries);
    await register(stateSerde, topics.state);
    await register(keySerde, topics.keys);

    const aws = new AwsClients(config.aws);
    // Trails as data: the trails topic, seeded from the configuration file, followed live.
    const catalog = await openTrailCatalog({ kafka, registry, logger, metrics, topic: topicName(config, 'trails'), seed: config.trails, groupIdPrefix: c.groupId, replicationFactor: config.topics.replicationFactor });
    const trails = catalogDigestTrails(catalog);
    const digesting = () => catalog.active().filter((t) => t.digests.enabled);
    if (c.createBuckets) {
      for (const bucket of new Set(digesting().map((t) => t.bucket))) await retry(() => ensureBucket(aws.s3, bucket, config.aws.region), { retries: 10, initialDelayMs: 500 });
    }
    // Buckets of trails that come later (local stacks and demos): the archiver creates them too; a digest waits for S3 on its own.
    const stopCreatingBuckets = catalog.onChange((change) => {
      if (!c.createBuckets || !change.after || change.after.definition.bucket === change.before?.definition.bucket) return;
      const bucket = change.after.definition.bucket;
      void retry(() => ensureBucket(aws.s3, bucket, config.aws.region), { retries: 10, initialDelayMs: 500 }).catch((err: unknown) => logger.warn({ err, bucket }, 'creating a bucket failed'));
    });
    const activity = await openTrailActivityWriter({ kafka, registry, topic: topics.activity, service: 'digester', logger, replicationFactor: config.topics.replicationFactor });

    const keys = new KeyRing({ signing: c.signing, kms: aws.kms, kafka, topic: topics.keys, serde: keySerde, logger });
    await keys.start();
    const m = digesterMetrics(metrics, { groups: () => digester.groupCount, pendingLogFiles: () => digester.pendingLogFiles });
    const state = new ChainState({ kafka, topic: topics.state, serde: stateSerde, consumerGroup: c.groupId, sourceTopic: topics.deliveries, logger, metrics });
    await state.start();
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
      deliverySerde,
      metrics: m,
      logger,
    });

    const processor = new StreamProcessor<Delivery>({
      service: 'digester',
      kafka,
      groupId: c.groupId,
      topic: topics.deliveries,
      serde: deliverySerde,
      deadLetterTopic: topics.dlq,
      handler: digester,
      logger,
      metrics,
      transactional: { idPrefix: c.transactionalIdPrefix ?? c.groupId },
      flushIntervalMs: c.flushIntervalMs,
      consumer: { sessionTimeout: c.sessionTimeoutMs, heartbeatInterval: c.heartbeatIntervalMs },
    });
    await processor.start();
    logger.info(
      { trails: digesting().map((t) => ({ name: t.name, periodSeconds: c.testPeriodSeconds ?? t.digests.periodMinutes * 60 })), fingerprint: keys.current().fingerprint, deliveries: topics.deliveries, state: topics.state, keys: topics.keys },
      'digesting',
    );

    return {
      stop: async () => {
        digester.stop();
        stopCreatingBuckets();
        trails.stop();
        await processor.stop();
        await state.stop();
        await activity.stop();
        await catalog.stop();
        await keys.stop();
        aws.destroy();
      },
      readiness: { consumer: () => processor.ready, trails: () => catalog.ready },
      liveness: { consumer: () => processor.healthy, state: () => state.healthy, trails: () => catalog.healthy },
    };
  },
});
