import { acceptedRegions, validateApiCallEvent } from '@opentrail/cloudtrail';
import { topicName } from '@opentrail/config';
import { ensureTopics, main, StreamProcessor } from '@opentrail/runtime';
import { serdeFor, valueSubject, type ApiCallEvent } from '@opentrail/serde';
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
  async start({ config, logger, metrics, kafka, registry }) {
    const c = config.enricher;
    const topics = {
      raw: topicName(config, 'raw'),
      enriched: topicName(config, 'enriched'),
      dlq: topicName(config, 'dlq'),
      identities: topicName(config, 'identities'),
    };
    await ensureTopics(kafka, [{ topic: topics.raw }, { topic: topics.enriched }, { topic: topics.dlq }, { topic: topics.identities, compacted: true }], config.topics);
    const enrichedSerde = serdeFor(registry, 'EnrichedEvent');
    await enrichedSerde.register(valueSubject(topics.enriched));
    const identitySerde = serdeFor(registry, 'Identity');
    await identitySerde.register(valueSubject(topics.identities));

    const table = new IdentityTable({ maxEntries: c.identities.maxEntries, expiryGraceSeconds: c.identities.expiryGraceSeconds });
    // The gauges read the table and the databases only when scraped.
    const m = enricherMetrics(metrics, { tableEntries: () => table.size, geoDatabases: () => geo.databases });
    const geo = GeoLocator.open({ paths: c.geo.databases, reloadCheckIntervalMs: c.geo.reloadCheckIntervalMs, cacheEntries: c.geo.cacheEntries, logger, metrics: m });
    const services = new ServiceClassifier();
    await services.prepare([]);

    // Nothing is enriched before the table holds everything the identities topic held at start.
    const follower = new IdentitiesFollower({ kafka, topic: topics.identities, serde: identitySerde, table, logger, metrics: m, groupIdPrefix: c.groupId });
    await follower.start();
    await follower.caughtUp;

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1});
    await producer.connect();
    const sweeper = startIdentitySweeper({
      table,
      intervalMs: c.identities.sweepIntervalSeconds * 1000,
      tombstones: c.identities.tombstoneExpired ? { producer, topic: topics.identities } : undefined,
      logger,
      metrics: m,
    });

    const eventSerde = serdeFor(registry, 'ApiCallEvent');
    const regions = acceptedRegions({ additionalRegions: config.records.additionalRegions });
    const processor = new StreamProcessor<ApiCallEvent>({
      service: 'enricher',
      kafka,
      groupId: c.groupId,
      topic: topics.raw,
      serde: eventSerde,
      // The raw topic is open to any producer: the enricher is the gate that refuses what the
      // pipeline cannot rely on (dead letter, reason VALIDATION).
      validate: (event, bytes) => validateApiCallEvent(event, bytes, regions),
      deadLetterTopic: topics.dlq,
      handler: new Enricher({
        table,
        resolver: new IdentityResolver(table, c.identities.maxChainDepth),
        geo,
        services,
        enriched: new EnrichedEventCodec(enrichedSerde, eventSerde),
        identitySerde,
        enrichedTopic: topics.enriched,
        identitiesTopic: topics.identities,
        deadLetterTopic: topics.dlq,
        metrics: m,
      }),
      logger,
      metrics,
      transactional: c.transactional ? { idPrefix: c.transactionalIdPrefix ?? c.groupId } : undefined,
      partitionsConsumedConcurrently: c.partitionsConsumedConcurrently,
    });
    await processor.start();

    return {
      async stop() {
        sweeper.stop();
        await processor.stop();
        await follower.stop();
        await producer.disconnect();
        geo.close();
      },
      readiness: { identities: () => follower.ready, consumer: () => processor.ready },
      liveness: { identities: () => follower.healthy, consumer: () => processor.healthy },
    };
  },
});
