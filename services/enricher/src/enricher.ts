import type { InputRecord, OutputMessage, PartitionHandler, Work } from '@opentrail/runtime';
import type { ApiCallEvent, AvroSerde, Identity } from '@opentrail/serde';
import type { EnrichedEventCodec } from './enrichedEventCodec.js';
import type { GeoLocator } from './geoLocator.js';
import type { IdentityResolver, ResolutionObserver } from './identityResolution.js';
import type { IdentityTable } from './identityTable.js';
import { LabelCounts, type EnricherMetrics } from './metrics.js';
import type { ServiceClassifier } from './serviceClassification.js';
import { learnSession } from './stsSessions.js';

export interface EnricherOptions {
  table: IdentityTable;
  resolver: IdentityResolver;
  geo: GeoLocator;
  services: ServiceClassifier;
  enriched: EnrichedEventCodec;
  identitySerde: AvroSerde<Identity>;
  enrichedTopic: string;
  identitiesTopic: string;
  metrics: EnricherMetrics;
  now?: () => number;
}

/**
 * The enricher's partition handler: each raw event becomes an EnrichedEvent (the event untouched,
 * plus identity, geo and service), keyed as it came (`<accountId>/<region>`). STS calls that hand
 * out credentials also yield an Identity for the identities topic; it is part of the batch's outputs
 * (so it is produced, in the same transaction, before the input offset is committed) and is applied
 * to the local table at once, so that later events of the same batch already resolve through it.
 */
export class Enricher implements PartitionHandler<ApiCallEvent> {
  private readonly now: () => number;

  constructor(private readonly options: EnricherOptions) {
    this.now = options.now ?? Date.now;
  }

  async processBatch(records: InputRecord<ApiCallEvent>[]): Promise<Work> {
    const { table, resolver, geo, services, enriched, identitySerde, enrichedTopic, identitiesTopic, metrics: m } = this.options;
    await services.prepare(records.map((r) => r.value));
    const counts = {
      resolutions: new LabelCounts(m.resolutions, 'source'),
      lookups: new LabelCounts(m.tableLookups, 'result'),
      anomalies: new LabelCounts(m.identityAnomalies, 'kind'),
      geoLookups: new LabelCounts(m.geoLookups, 'result'),
      classifications: new LabelCounts(m.geoClassifications, 'classification'),
      services: new LabelCounts(m.serviceClassifications, 'result'),
      learned: new LabelCounts(m.learned, 'api'),
    };
    const identityObserver: ResolutionObserver = {
      tableLookup: (result) => counts.lookups.add(result),
      anomaly: (kind) => counts.anomalies.add(kind),
    };
    const geoObserver = {
      lookup: (result: string) => counts.geoLookups.add(result),
      classified: (classification: string) => counts.classifications.add(classification),
    };

    const enrichedAt = this.now();
    const outputs: OutputMessage[] = [];
    for (const record of records) {
      const event = record.value;
      const identity = resolver.resolve(event.userIdentity, Date.parse(event.eventTime), identityObserver);
      counts.resolutions.add(identity.source);
      const location = geo.locate(event.sourceIPAddress, geoObserver);
      if (location === null) counts.classifications.add('absent');
      const service = services.classify(event);
      counts.services.add(service?.accessLevel ? 'known' : 'unknown');
      outputs.push({
        topic: enrichedTopic,
        key: record.key,
        value: enriched.encode(event, record.raw, { enrichedAt, identity, geo: location, service }),
        headers: record.headers,
        timestamp: record.timestamp,
      });

      const learned = learnSession(event);
      if (learned === undefined) continue;
      if ('problem' in learned) {
        counts.anomalies.add('unreadable_sts_response');
        continue;
      }
      // A key that expired long ago (events replayed late) is of use to no one: every reader would
      // skip it, and as nobody holds it nobody would ever publish its tombstone.
      if (!table.apply(learned.identity.accessKeyId, learned.identity, this.now())) continue;
      outputs.push({ topic: identitiesTopic, key: learned.identity.accessKeyId, value: identitySerde.encode(learned.identity) });
      counts.learned.add(learned.identity.session!.issuedBy);
    }
    m.enriched.inc(records.length);
    for (const c of Object.values(counts)) c.flush();
    return { outputs };
  }
}
