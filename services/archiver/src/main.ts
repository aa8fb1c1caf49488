import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { AwsClients } from '@opentrail/aws';
import { acceptedRegions, validateApiCallEvent } from '@opentrail/cloudtrail';
import { main } from '@opentrail/runtime';
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
  topics: (config) => ({
    source: { reads: 'enriched', value: 'EnrichedEvent' },
    deliveries: { writes: 'deliveries', value: 'Delivery' },
    dlq: { writes: 'dlq' },
    // One state partition per input partition: each input partition's marks have a partition that
    // only its transactional producer writes (fewer also work: p mod N).
    state: { table: 'archiverState', configured: config.archiver.stateTopic, partitions: { like: 'source' }, value: 'ArchiverState' },
    // The trails package creates these, with its own settings.
    trails: { reads: 'trails', ensure: false },
    activity: { writes: 'trailActivity', ensure: false },
  }),
  async start(ctx) {
    const { config, logger, metrics, kafka, registry, topics, serdes } = ctx;
    const c = config.archiver;
    const aws = new AwsClients(config.aws);
    ctx.onStop('aws', () => aws.destroy());
    const instance = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`.replace(/[^A-Za-z0-9._-]/g, '_');

    // Trails as data: the trails topic, seeded from the configuration file, followed live.
    const catalog = ctx.own('trails', await openTrailCatalog({ kafka, registry, logger, metrics, topic: topics.trails, seed: config.trails, groupIdPrefix: c.groupId, replicationFactor: config.topics.replicationFactor }));
    const trails = ctx.own('live trails', new LiveTrails({ catalog, logger }));

    // Buckets and lifecycle rules: in the background, patiently, so an S3 outage at start delays
    // nothing else (uploads wait for S3 on their own); again for the buckets of trails that come or change.
    const buckets = ctx.own('bucket setup', new BucketSetup({ s3: aws.s3, region: config.aws.region, createBuckets: c.createBuckets, applyLifecycle: c.applyLifecycle, logger }));
    buckets.setUp(catalog.all().map((r) => r.definition));
    ctx.onStop('bucket changes', catalog.onChange((change) => {
      if (change.after && JSON.stringify(change.after.definition) !== JSON.stringify(change.before?.definition)) buckets.setUp(catalog.all().map((r) => r.definition));
    }));

    const activity = ctx.own('trail activity', await openTrailActivityWriter({ kafka, registry, topic: topics.activity, service: 'archiver', logger, replicationFactor: config.topics.replicationFactor }));

    const m = archiverMetrics(metrics, { openGroups: () => archiver.openGroups, bufferedBytes: () => archiver.bufferedBytes, openFiles: () => archiver.openFiles });
    const marks = await ctx.start('state', new HighWaterMarks({ kafka, topic: topics.state, serde: serdes.state, consumerGroup: c.groupId, sourceTopic: topics.source, logger, metrics }));
    const archiver = new Archiver({
      sourceTopic: topics.source,
      deliveriesTopic: topics.deliveries,
      consumerGroup: c.groupId,
      trails,
      activity: activity.recorder,
      store: new LogFileStore(aws.s3, { conditionalWrites: c.conditionalWrites, attemptTimeoutMs: c.uploadTimeoutMs }, m, logger),
      kms: aws.kms,
      marks,
      deliverySerde: serdes.deliveries,
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
    await ctx.processor({
      groupId: c.groupId,
      topic: topics.source,
      serde: serdes.source,
      // The enricher validated these already; a producer writing to the enriched topic directly is
      // checked the same way, so a bad record becomes a dead letter instead of a broken log file.
      // The same check, with the same size rule, as the enricher's: an event it let through is never refused here.
      validate: (value, bytes) => validateApiCallEvent(value.event, bytes, regions),
      deadLetterTopic: topics.dlq,
      handler: archiver,
      transactional: { idPrefix: c.transactionalIdPrefix ?? c.groupId },
      flushIntervalMs: c.flushIntervalMs,
      partitionsConsumedConcurrently: c.partitionsConsumedConcurrently,
      consumer: { maxBytesPerPartition: c.fetchMaxBytesPerPartition, sessionTimeout: c.sessionTimeoutMs, heartbeatInterval: c.heartbeatIntervalMs },
    });
    logger.info({ trails: catalog.active().map((t) => t.name), source: topics.source, deliveries: topics.deliveries, state: topics.state, instance }, 'archiving');
  },
});
