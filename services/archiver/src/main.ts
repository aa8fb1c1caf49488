import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { AwsClients } from '@opentrail/aws';
import { acceptedRegions, validateApiCallEvent } from '@opentrail/cloudtrail';
import { topicName } from '@opentrail/config';
import { ensureTopics, main, partitionCount, StreamProcessor } from '@opentrail/runtime';
import { serdeFor, valueSubject, type EnrichedEvent } from '@opentrail/serde';
import { openTrailActivityWriter, openTrailCatalog } from '@opentrail/trails';
import { Archiver } from './archiver.js';
import { BucketSetup } from './bucketSetup.js';
import { bindings, configSchema } from './config.js';
import { HighWaterMarks } from './highWaterMarks.js';
import { LiveTrails } from './liveTrails.js';
import { LogFileStore } from '@opentrail/logfiles';
import { archiverMetrics } from './metrics.js';

main({
  name: 'archiver',
  configSchema,
  bindings,
  // The final flush may spend shutdownUploadBudgetMs storing files.
  stopTimeoutMs: 45_000,
  async start({ config, logger, metrics, kafka, registry }) {
    const c = config.archiver;
    const topics = {
      source: topicName(config, 'enriched'),
      deliveries: topicName(config, 'deliveries'),
      dlq: topicName(config, 'dlq'),
      state: c.stateTopic ?? topicName(config, 'archiver.state'),
      activity: topicName(config, 'trailActivity'),
    };
    await ensureTopics(kafka, [{ topic: topics.source }, { topic: topics.deliveries }, { topic: topics.dlq }], config.topics);
    // One state partition per input partition: each input partition's marks have a partition that
    // only its transactional producer writes (fewer also work: p mod N).
    await ensureTopics(kafka, [{ topic: topics.state, partitions: await partitionCount(kafka, topics.source), compacted: true }], config.topics);

    const enrichedSerde = serdeFor(registry, 'EnrichedEvent');
    const deliverySerde = serdeFor(registry, 'Delivery');
    await deliverySerde.register(valueSubject(topics.deliveries));
    const stateSerde = serdeFor(registry, 'ArchiverState');
    await stateSerde.register(valueSubject(topics.state));

    const aws = new AwsClients(config.aws);
    const instance = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`.replace(/[^A-Za-z0-9._-]/g, '_');

    // Trails as data: the trails topic, seeded from the configuration file, followed live.
    const catalog = await openTrailCatalog({ kafka, registry, logger, metrics, topic: topicName(config, 'trails'), seed: config.trails, groupIdPrefix: c.groupId, replicationFactor: config.topics.replicationFactor });
    const trails = new LiveTrails({ catalog, logger });

    // Buckets and lifecycle rules: in the background, patiently, so an S3 outage at start delays
    // nothing else (uploads wait for S3 on their own); again for the buckets of trails that come or change.
    const buckets = new BucketSetup({ s3: aws.s3, region: config.aws.region, createBuckets: c.createBuckets, applyLifecycle: c.applyLifecycle, logger });
    buckets.setUp(catalog.all().map((r) => r.definition));
    const stopFollowingBuckets = catalog.onChange((change) => {
      if (change.after && JSON.stringify(change.after.definition) !== JSON.stringify(change.before?.definition)) buckets.setUp(catalog.all().map((r) => r.definition));
    });

    const activity = await openTrailActivityWriter({ kafka, registry, topic: topics.activity, service: 'archiver', logger, replicationFactor: config.topics.replicationFactor });

    const m = archiverMetrics(metrics, { openGroups: () => archiver.openGroups, bufferedBytes: () => archiver.bufferedBytes, openFiles: () => archiver.openFiles });
    const marks = new HighWaterMarks({ kafka, topic: topics.state, serde: stateSerde, consumerGroup: c.groupId, sourceTopic: topics.source, logger });
    await marks.start();
    const archiver = new Archiver({
      sourceTopic: topics.source,
      deliveriesTopic: topics.deliveries,
      consumerGroup: c.groupId,
      trails,
      activity: activity.recorder,
      store: new LogFileStore(aws.s3, { conditionalWrites: c.conditionalWrites, attemptTimeoutMs: c.uploadTimeoutMs }, m, logger),
      kms: aws.kms,
      marks,
      deliverySerde,
      metrics: m,
      logger,
      instance,
      memoryBudgetBytes: c.memoryBudgetBytes,
      compressChunkBytes: c.compressChunkBytes,
      compressionLevel: c.compressionLevel,
      uploadConcurrency: c.uploadConcurrency,
      tickUploadBudgetMs: c.tickUploadBudgetMs,
      shutdownUploadBudgetMs: c.shutdownUploadBudgetMs,
    });

    const regions = acceptedRegions({ additionalRegions: config.records.additionalRegions });
    const processor = new StreamProcessor<EnrichedEvent>({
      service: 'archiver',
      kafka,
      groupId: c.groupId,
      topic: topics.source,
      serde: enrichedSerde,
      // The enricher validated these already; a producer writing to the enriched topic directly is
      // checked the same way, so a bad record becomes a dead letter instead of a broken log file.
      // The same check, with the same size rule, as the enricher's: an event it let through is never refused here.
      validate: (value, bytes) => validateApiCallEvent(value.event, bytes, regions),
      deadLetterTopic: topics.dlq,
      handler: archiver,
      logger,
      metrics,
      transactional: { idPrefix: c.transactionalIdPrefix ?? c.groupId },
      flushIntervalMs: c.flushIntervalMs,
      partitionsConsumedConcurrently: c.partitionsConsumedConcurrently,
      consumer: { maxBytesPerPartition: c.fetchMaxBytesPerPartition, sessionTimeout: c.sessionTimeoutMs, heartbeatInterval: c.heartbeatIntervalMs },
    });
    await processor.start();
    logger.info({ trails: catalog.active().map((t) => t.name), source: topics.source, deliveries: topics.deliveries, state: topics.state, instance }, 'archiving');

    return {
      stop: async () => {
        buckets.stop();
        stopFollowingBuckets();
        trails.stop();
        await processor.stop();
        await marks.stop();
        await activity.stop();
        await catalog.stop();
        aws.destroy();
      },
      readiness: { consumer: () => processor.ready, trails: () => catalog.ready },
      liveness: { consumer: () => processor.healthy, state: () => marks.healthy, trails: () => catalog.healthy },
    };
  },
});
