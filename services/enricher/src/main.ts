import { acceptedRegions, validateApiCallEvent } from '@opentrail/cloudtrail';
import { main } from '@opentrail/runtime';
import { bindings, configSchema } from './config.js';
import { EnrichedEventCodec } from './enrichedEventCodec.js';
import { Enricher } from './enricher.js';
import { GeoLocator } from './geoLocator.js';
import { IdentitiesFollower } from './identitiesFollower.js';
import { IdentityResolver } from './identityResolution.js';
import { IdentityTable } from './identityTable.js';
import { startIdentitySweeper } from './identitySweeper.js';
import { enricherMetrics } from './metrics.js';
import { ServiceClassifier } from './serviceClassification.js';

main({
  name: 'enricher',
  configSchema,
  bindings,
  topics: {
    raw: { reads: 'raw', value: 'ApiCallEvent' },
    enriched: { writes: 'enriched', value: 'EnrichedEvent' },
    dlq: { writes: 'dlq' },
    identities: { table: 'identities', value: 'Identity' },
  },
  async start(ctx) {
    const { config, logger, topics, serdes } = ctx;
    const c = config.enricher;
    const table = new IdentityTable({ maxEntries: c.identities.maxEntries, expiryGraceSeconds: c.identities.expiryGraceSeconds });
    // The gauges read the table and the databases only when scraped.
    const m = enricherMetrics(ctx.metrics, { tableEntries: () => table.size, geoDatabases: () => geo.databases });
    const geo = GeoLocator.open({ paths: c.geo.databases, reloadCheckIntervalMs: c.geo.reloadCheckIntervalMs, cacheEntries: c.geo.cacheEntries, logger, metrics: m });
    ctx.onStop('geo', () => geo.close());
    const services = new ServiceClassifier();
    await services.prepare([]);

    // Nothing is enriched before the table holds everything the identities topic held at start.
    const follower = await ctx.start('identities', new IdentitiesFollower({ kafka: ctx.kafka, topic: topics.identities, serde: serdes.identities, table, logger, metrics: m, groupIdPrefix: c.groupId }));
    await follower.caughtUp;

    const producer = await ctx.producer({ idempotent: true, maxInFlightRequests: 1 });
    ctx.own('sweeper', startIdentitySweeper({
      table,
      intervalMs: c.identities.sweepIntervalSeconds * 1000,
      tombstones: c.identities.tombstoneExpired ? { producer, topic: topics.identities } : undefined,
      logger,
      metrics: m,
    }));

    const regions = acceptedRegions({ additionalRegions: config.records.additionalRegions });
    await ctx.processor({
      groupId: c.groupId,
      topic: topics.raw,
      serde: serdes.raw,
      // The raw topic is open to any producer: the enricher is the gate that refuses what the
      // pipeline cannot rely on (dead letter, reason VALIDATION).
      validate: (event, bytes) => validateApiCallEvent(event, bytes, regions),
      deadLetterTopic: topics.dlq,
      handler: new Enricher({
        table,
        resolver: new IdentityResolver(table, c.identities.maxChainDepth),
        geo,
        services,
        enriched: new EnrichedEventCodec(serdes.enriched, serdes.raw),
        identitySerde: serdes.identities,
        enrichedTopic: topics.enriched,
        identitiesTopic: topics.identities,
        deadLetterTopic: topics.dlq,
        metrics: m,
      }),
      transactional: c.transactional ? { idPrefix: c.transactionalIdPrefix ?? c.groupId } : undefined,
      partitionsConsumedConcurrently: c.partitionsConsumedConcurrently,
      consumer: { sessionTimeout: c.sessionTimeoutMs, heartbeatInterval: c.heartbeatIntervalMs },
    });
  },
});
