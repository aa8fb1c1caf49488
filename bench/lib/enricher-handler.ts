/** The enricher's handler as services/enricher/src/main.ts builds it, over fresh output topics, for the benches that run it. */
import { randomUUID } from 'node:crypto';
import { ServiceMetrics } from '@opentrail/observability';
import type { KafkaClient } from '@opentrail/runtime';
import { serdeFor, valueSubject, type ApiCallEvent, type AvroSerde, type SchemaRegistry } from '@opentrail/serde';
import { BUNDLED_GEO_DATABASES } from '../../services/enricher/src/config.js';
import { EnrichedEventCodec } from '../../services/enricher/src/enrichedEventCodec.js';
import { Enricher } from '../../services/enricher/src/enricher.js';
import { GeoDatabase } from '../../services/enricher/src/geoDatabase.js';
import { GeoLocator } from '../../services/enricher/src/geoLocator.js';
import { IdentityResolver } from '../../services/enricher/src/identityResolution.js';
import { IdentityTable } from '../../services/enricher/src/identityTable.js';
import { enricherMetrics } from '../../services/enricher/src/metrics.js';
import { ServiceClassifier } from '../../services/enricher/src/serviceClassification.js';
import { createTopic } from './events.js';

/** The bundled geo databases, opened once per bench as a running enricher holds them. */
export function openBundledGeoDatabases(): GeoDatabase[] {
  return BUNDLED_GEO_DATABASES.map((p) => GeoDatabase.open(p));
}

export interface EnricherUnderTest {
  handler: Enricher;
  /** Where the handler writes: a topic of its own per call. */
  enrichedTopic: string;
  /** The input's serde (ApiCallEvent). */
  eventSerde: AvroSerde<ApiCallEvent>;
}

/** An Enricher with an empty identity table over fresh enriched and identities topics named after `run`. */
export async function enricherUnderTest(kafka: KafkaClient, registry: SchemaRegistry, run: string, geoDatabases: GeoDatabase[]): Promise<EnricherUnderTest> {
  const suffix = randomUUID().slice(0, 8);
  const enrichedTopic = `bench-${run}.events.enriched-${suffix}`;
  const identitiesTopic = `bench-${run}.identities-${suffix}`;
  await createTopic(kafka, enrichedTopic, 6);
  await createTopic(kafka, identitiesTopic, 6, { 'cleanup.policy': 'compact' });
  const enrichedSerde = serdeFor(registry, 'EnrichedEvent');
  await enrichedSerde.register(valueSubject(enrichedTopic));
  const identitySerde = serdeFor(registry, 'Identity');
  await identitySerde.register(valueSubject(identitiesTopic));
  const eventSerde = serdeFor(registry, 'ApiCallEvent');
  const table = new IdentityTable();
  const services = new ServiceClassifier();
  await services.prepare([]);
  const handler = new Enricher({
    table,
    resolver: new IdentityResolver(table, 8),
    geo: new GeoLocator(geoDatabases, 50_000),
    services,
    enriched: new EnrichedEventCodec(enrichedSerde, eventSerde),
    identitySerde,
    enrichedTopic,
    identitiesTopic,
    deadLetterTopic: `${enrichedTopic}.dlq`,
    metrics: enricherMetrics(new ServiceMetrics('enricher'), { tableEntries: () => table.size, geoDatabases: () => [] }),
  });
  return { handler, enrichedTopic, eventSerde };
}
