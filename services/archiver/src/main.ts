import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { AwsClients, ensureBucket } from '@opentrail/aws';
import { acceptedRegions, validateApiCallEvent } from '@opentrail/cloudtrail';
import { topicName } from '@opentrail/config';
import { ensureTopics, main, partitionCount, retry, StreamProcessor } from '@opentrail/runtime';
import { serdeFor, valueSubject, type EnrichedEvent } from '@opentrail/serde';
import { Archiver } from './archiver.js';
import { applyLifecycle } from './bucketSetup.js';
import { bindings, configSchema } from './config.js';
import { HighWaterMarks } from './highWaterMarks.js';
import { staticTrails } from './liveTrails.js';
import { LogFileStore } from './logFileStore.js';
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

    // Buckets and lifecycle rules: in the background, patiently, so an S3 outage at start delays
    // nothing else (uploads wait for S3 on their own).
    const setup = new AbortController();
    const buckets = [...new Set(config.trails.map((t) => t.bucket))];
    void retry(
      async () => {
        for (const bucket of buckets) {
          if (c.createBuckets) await ensureBucket(aws.s3, bucket, config.aws.region);
          if (c.applyLifecycle) {
            const rules = await applyLifecycle(aws.s3, bucket, config.trails);
            logger.info({ bucket, rules: rules.map((r) => r.ID) }, 'bucket lifecycle applied');
          }
        }
      },
      { retries: Infinity, initialDelayMs: 1000, maxDelayMs: 30_000, signal: setup.signal, onRetry: (err) => logger.warn({ err }, 'setting up the buckets failed; retrying') },
    ).catch((err: unknown) => {
      if (!setup.signal.aborted) logger.error({ err }, 'setting up the buckets failed');
    });

    const m = archiverMetrics(metrics, { openGroups: () => archiver.openGroups, bufferedBytes: () => archiver.bufferedBytes, openFiles: () => archiver.openFiles });
    const marks = new HighWaterMarks({ kafka, topic: topics.state, serde: stateSerde, consumerGroup: c.groupId, sourceTopic: topics.source, logger });
    await marks.start();
    const archiver = new Archiver({
      sourceTopic: topics.source,
      deliveriesTopic: topics.deliveries,
      consumerGroup: c.groupId,
      trails: staticTrails(config.trails),
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
    logger.info({ trails: config.trails.map((t) => t.name), source: topics.source, deliveries: topics.deliveries, state: topics.state, instance }, 'archiving');

    return {
      stop: async () => {
        setup.abort();
        await processor.stop();
        await marks.stop();
        aws.destroy();
      },
      readiness: { consumer: () => processor.ready },
      liveness: { consumer: () => processor.healthy, state: () => marks.healthy },
    };
  },
});
