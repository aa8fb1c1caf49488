import { deadLetterMessage, type InputRecord, type OutputMessage, type PartitionHandler, type Work } from '@opentrail/runtime';
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
  /** Where an event goes whose enrichment fails (reason ENRICHMENT_FAILED), so that it cannot stall its partition. */
  deadLetterTopic: string;
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
    const { table, resolver, geo, services, enriched, identitySerde, enrichedTopic, identitiesTopic, deadLetterTopic, metrics: m } = this.options;
    await services.prepare(records.map((r) => r.value));
    const counts = {
      resolutions: new LabelCounts(m.resolutions, 'source'),
      lookups: new LabelCounts(m.tableLookups, 'result'),
      anomalies: new LabelCounts(m.identityAnomalies, 'kind'),
      geoLookups: new LabelCounts(m.geoLookups, 'result'),
      classifications: new LabelCounts(m.geoClassifications, 'classification'),
      services: new LabelCounts(m.serviceClassifications, 'result'),
      learned: new LabelCounts(m.learned, 'api'),
      deadLettered: new LabelCounts(m.deadLettered, 'reason'),
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
    let enrichedCount = 0;
    // Events of a batch mostly share their second: parse each eventTime text once.
    let timeText = '';
    let timeMs = Number.NaN;
    for (const record of records) {
      const event = record.value;
      if (event.eventTime !== timeText) {
        timeText = event.eventTime;
        timeMs = Date.parse(timeText);
      }
      let value: Buffer;
      let learnedOutput: { identity: Identity; value: Buffer } | undefined;
      try {
        const identity = resolver.resolve(event.userIdentity, timeMs, identityObserver);
        counts.resolutions.add(identity.source);
        const location = geo.locate(event.sourceIPAddress, geoObserver);
        if (location === null) counts.classifications.add('absent');
        const service = services.classify(event);
        counts.services.add(service?.accessLevel ? 'known' : 'unknown');
        value = enriched.encode(event, record.raw, { enrichedAt, identity, geo: location, service });

        const learned = learnSession(event);
        if (learned !== undefined && 'problem' in learned) counts.anomalies.add('unreadable_sts_response');
        // Encoded before the table takes it: a session the table holds is one the topic will hold.
        else if (learned !== undefined) learnedOutput = { identity: learned.identity, value: identitySerde.encode(learned.identity) };
      } catch (err) {
        // Validation let the event in, yet something in it defeats enrichment. Retrying the batch
        // would fail the same way for ever and stall the partition: set the event aside instead,
        // with its original bytes, for a fix and a replay.
        outputs.push({
          topic: deadLetterTopic,
          ...deadLetterMessage({ key: record.key, value: record.raw ?? null, headers: record.headers, offset: record.offset, timestamp: record.timestamp }, { topic: record.topic, partition: record.partition, service: 'enricher' }, { reason: 'ENRICHMENT_FAILED', detail: (err as Error).message ?? String(err) }),
        });
        counts.deadLettered.add('ENRICHMENT_FAILED');
        continue;
      }
      outputs.push({ topic: enrichedTopic, key: record.key, value, headers: record.headers, timestamp: record.timestamp });
      enrichedCount++;
      // A key that expired long ago (events replayed late) is of use to no one: every reader would
      // skip it, and as nobody holds it nobody would ever publish its tombstone.
      if (learnedOutput === undefined || !table.apply(learnedOutput.identity.accessKeyId, learnedOutput.identity, this.now())) continue;
      outputs.push({ topic: identitiesTopic, key: learnedOutput.identity.accessKeyId, value: learnedOutput.value });
      counts.learned.add(learnedOutput.identity.session!.issuedBy);
    }
    if (enrichedCount) m.enriched.inc(enrichedCount);
    for (const c of Object.values(counts)) c.flush();
    return { outputs };
  }
}
