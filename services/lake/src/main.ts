import { AwsClients, ensureBucket } from '@opentrail/aws';
import { acceptedRegions, validateApiCallEvent } from '@opentrail/cloudtrail';
import { compileEventDataStores, openEventDataStoreCatalog, type EventDataStoreMatcher } from '@opentrail/lake';
import { main, startupStep } from '@opentrail/runtime';
import { bindings, configSchema } from './config.js';
import { LakeIngest } from './lakeIngest.js';
import { lakeMetrics } from './metrics.js';
import { startLakeRetention } from './retention.js';
import { SegmentStore } from './segmentStore.js';

main({
  name: 'lake',
  configSchema,
  bindings,
  // The final flush stores every open segment.
  stopTimeoutMs: 45_000,
  topics: {
    enriched: { reads: 'enriched', value: 'EnrichedEvent', register: true },
    dlq: { writes: 'dlq' },
    // The lake package creates it, with its own settings.
    eventDataStores: { reads: 'eventDataStores', ensure: false },
  },
  async start(ctx) {
    const { config, logger, kafka, registry, topics, serdes } = ctx;
    const c = config.lake;
    const m = lakeMetrics(ctx.metrics);
    const aws = new AwsClients(config.aws);
    ctx.onStop('aws', () => aws.destroy());
    await startupStep(`the lake bucket ${c.bucket}`, () => ensureBucket(aws.s3, c.bucket, config.aws.region));

    // The event data stores: made through the API, followed live. A change takes effect at the
    // next batch (a batch is routed by one version of the stores).
    const catalog = ctx.own('eventDataStores', await openEventDataStoreCatalog({ kafka, registry, logger, metrics: ctx.metrics, topic: topics.eventDataStores, groupIdPrefix: c.groupId, replicationFactor: config.topics.replicationFactor }));
    let matcher: EventDataStoreMatcher = compileEventDataStores(catalog.all());
    ctx.onStop('store changes', catalog.onChange(() => {
      matcher = compileEventDataStores(catalog.all());
      logger.info({ ingesting: matcher.stores.map((s) => s.id) }, 'event data stores changed');
    }));

    const segments = new SegmentStore({ s3: aws.s3, bucket: c.bucket, prefix: c.prefix, topic: topics.enriched });
    ctx.own('retention', startLakeRetention({ catalog, segments, intervalMs: c.retentionIntervalSeconds * 1000, metrics: m, logger }));

    // A segment that cannot be stored for anything but a stop (S3 failures are retried) leaves its
    // offsets held; the service reports itself not live, stops and is restarted, and re-reads.
    let writeFailure: string | undefined;
    ctx.live('writes', () => writeFailure ?? true);

    const ingest = new LakeIngest({
      segments,
      stores: () => matcher,
      prefix: c.prefix,
      deadLetterTopic: topics.dlq,
      rollIntervalMs: c.roll.intervalSeconds * 1000,
      maxRows: c.roll.maxRows,
      uploadConcurrency: c.uploadConcurrency,
      onWriteFailed: (err) => {
        writeFailure ??= `a segment could not be stored in S3: ${(err as Error).message}`;
      },
      metrics: m,
      logger,
    });
    ctx.metrics.gauge('buffered_rows', 'Selected events held in open segments, not yet in S3', [], function collect() {
      this.set(ingest.bufferedRows);
    });
    const regions = acceptedRegions({ additionalRegions: config.records.additionalRegions });
    await ctx.processor({
      groupId: c.groupId,
      topic: topics.enriched,
      serde: serdes.enriched,
      // Checked as the archiver checks them: a record written straight to the enriched topic cannot
      // put into the lake what the log files would refuse.
      validate: (value, bytes) => validateApiCallEvent(value.event, bytes, regions),
      deadLetterTopic: topics.dlq,
      handler: ingest,
      partitionsConsumedConcurrently: c.partitionsConsumedConcurrently,
      // Segments close by age even when no batch comes.
      flushIntervalMs: 1000,
      consumer: { ...(c.sessionTimeoutMs ? { sessionTimeout: c.sessionTimeoutMs } : {}), heartbeatInterval: c.heartbeatIntervalMs },
    });
    logger.info({ bucket: c.bucket, prefix: c.prefix, stores: catalog.all().length }, 'lake ingesting');
  },
});
