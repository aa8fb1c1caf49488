import { describe, expect, it } from 'vitest';
import { ServiceMetrics } from '@opentrail/observability';
import type { InputRecord } from '@opentrail/runtime';
import { AvroSerde, loadSchemas, type ApiCallEvent, type EnrichedEvent, type Identity, type SchemaRegistry } from '@opentrail/serde';
import { EnrichedEventCodec } from '../src/enrichedEventCodec.js';
import { Enricher } from '../src/enricher.js';
import { GeoDatabase } from '../src/geoDatabase.js';
import { GeoLocator, type GeoObserver } from '../src/geoLocator.js';
import { IdentityResolver } from '../src/identityResolution.js';
import { IdentityTable } from '../src/identityTable.js';
import { enricherMetrics } from '../src/metrics.js';
import { ServiceClassifier } from '../src/serviceClassification.js';
import { BUNDLED_GEO_DATABASES } from '../src/config.js';
import { readDeadLetter } from '@opentrail/runtime';
import { asEvent, assumedRole, assumeRoleRecord, callRecord, iamUser } from './records.js';

/** The serdes need a schema id to frame values; no registry is involved in this unit test. */
// The requests AvroSerde.register makes (serde registration.ts): the subject is already BACKWARD, the schema gets `id`.
const fakeRegistry = (id: number) =>
  ({ api: { Subject: { config: async () => ({ data: () => ({ compatibilityLevel: 'BACKWARD' }) }), register: async () => ({ data: () => ({ id }) }) } } }) as unknown as SchemaRegistry;

async function setUp(now = () => 1_700_000_000_000, geo?: GeoLocator) {
  const schemas = loadSchemas();
  const enrichedSerde = new AvroSerde<EnrichedEvent>(fakeRegistry(42), schemas.EnrichedEvent);
  const identitySerde = new AvroSerde<Identity>(fakeRegistry(43), schemas.Identity);
  const eventSerde = new AvroSerde<ApiCallEvent>(fakeRegistry(44), schemas.ApiCallEvent);
  await enrichedSerde.register('enriched-value');
  await identitySerde.register('identities-value');
  await eventSerde.register('raw-value');
  const table = new IdentityTable();
  const serviceMetrics = new ServiceMetrics('enricher');
  const metrics = enricherMetrics(serviceMetrics, { tableEntries: () => table.size, geoDatabases: () => [] });
  const enricher = new Enricher({
    table,
    resolver: new IdentityResolver(table, 8),
    geo: geo ?? new GeoLocator([GeoDatabase.open(BUNDLED_GEO_DATABASES[0]!)], 100),
    services: new ServiceClassifier(),
    enriched: new EnrichedEventCodec(enrichedSerde, eventSerde),
    identitySerde,
    enrichedTopic: 'enriched',
    identitiesTopic: 'identities',
    deadLetterTopic: 'dlq',
    metrics,
    now,
  });
  return { enricher, enrichedSerde, identitySerde, eventSerde, table, serviceMetrics };
}

function input(value: ApiCallEvent, offset: number, raw?: Buffer): InputRecord<ApiCallEvent> {
  return { topic: 'raw', partition: 0, offset: String(offset), key: Buffer.from(`${value.recipientAccountId}/${value.awsRegion}`), value, headers: { trace: 'x' }, timestamp: '1700000000000', bytes: 100, raw };
}

describe('Enricher', () => {
  it('learns the session of an AssumeRole and resolves the calls after it in the same batch, leaving the events unchanged', async () => {
    const { enricher, enrichedSerde, identitySerde, table, serviceMetrics } = await setUp();
    const events = [
      asEvent(assumeRoleRecord({ caller: iamUser('alice', 'AKIAALICEEXAMPLE0001'), roleName: 'Admin', sessionName: 'alice-admin', newAccessKeyId: 'ASIASESSION000000001' })),
      asEvent(callRecord({ userIdentity: assumedRole('Admin', 'alice-admin', 'ASIASESSION000000001'), eventSource: 's3.amazonaws.com', eventName: 'GetObject', sourceIPAddress: '8.8.8.8' })),
      asEvent(callRecord({ userIdentity: null, sourceIPAddress: 'AWS Internal' })),
    ];
    const work = await enricher.processBatch(events.map((e, i) => input(e, i)));
    const outputs = work.outputs!;
    expect(outputs.map((o) => o.topic)).toEqual(['enriched', 'identities', 'enriched', 'enriched']);

    const learned = identitySerde.decode(outputs[1]!.value as Buffer);
    expect(outputs[1]!.key).toBe('ASIASESSION000000001');
    expect(learned).toMatchObject({ accessKeyId: 'ASIASESSION000000001', source: 'sts:AssumeRole', session: { callerUserName: 'alice' } });
    expect(table.size).toBe(1);

    const enriched = [outputs[0]!, outputs[2]!, outputs[3]!].map((o) => enrichedSerde.decode(o.value as Buffer));
    // The event inside is the recorded one, field for field and byte for byte.
    const eventType = loadSchemas().ApiCallEvent.type;
    enriched.forEach((e, i) => {
      expect(e.event).toEqual(events[i]);
      expect(eventType.toBuffer(e.event).equals(eventType.toBuffer(events[i]))).toBe(true);
    });
    expect(outputs[2]!.key?.toString()).toBe('123456789012/us-east-1');
    expect(outputs[2]!.headers).toEqual({ trace: 'x' });
    expect(enriched[1]!.enrichment).toMatchObject({
      enrichedAt: 1_700_000_000_000,
      identity: { source: 'sts', session: { sessionName: 'alice-admin' }, actor: { userName: 'alice' } },
      geo: { classification: 'public', country: 'US' },
      service: { name: 's3', accessLevel: 'Read', readOnly: true },
    });
    expect(enriched[2]!.enrichment).toMatchObject({ identity: { source: 'unresolved' }, geo: { classification: 'aws-internal' } });

    const text = await serviceMetrics.registry.metrics();
    expect(text).toContain('opentrail_enricher_events_enriched_total 3');
    expect(text).toContain('opentrail_enricher_identity_resolutions_total{source="sts"} 1');
    expect(text).toContain('opentrail_enricher_identity_resolutions_total{source="event"} 1');
    expect(text).toContain('opentrail_enricher_identity_resolutions_total{source="unresolved"} 1');
    expect(text).toContain('opentrail_enricher_identity_anomalies_total{kind="missing_user_identity"} 1');
    expect(text).toContain('opentrail_enricher_identities_learned_total{api="AssumeRole"} 1');
    expect(text).toContain('opentrail_enricher_geo_lookups_total{result="hit"} 2');
    expect(text).toContain('opentrail_enricher_geo_classifications_total{classification="aws-internal"} 1');
    expect(text).toContain('opentrail_enricher_identities_table_entries 1');
  });

  it('copies the Avro body of an event written with its own schema instead of encoding it again; the bytes are those of a full encoding', async () => {
    const { enricher, enrichedSerde, eventSerde } = await setUp();
    const event = asEvent(callRecord({ sourceIPAddress: '1.1.1.1' }));
    const raw = eventSerde.encode(event);
    // Written with a schema id the serde has not seen as its own: needs resolving, so it is encoded.
    const foreign = Buffer.from(raw);
    foreign.writeInt32BE(999, 1);
    const out = async (r: Buffer | undefined) => (await enricher.processBatch([input(event, 0, r)])).outputs![0]!.value as Buffer;
    const [spliced, encoded, other] = [await out(raw), await out(undefined), await out(foreign)];
    expect(eventSerde.bodyIfReaderSchema(raw)).toBeDefined();
    expect(eventSerde.bodyIfReaderSchema(foreign)).toBeUndefined();
    expect(spliced.equals(encoded)).toBe(true);
    expect(other.equals(encoded)).toBe(true);
    expect(enrichedSerde.decode(spliced).event).toEqual(event);
  });

  it('does not publish sessions that expired beyond the grace period (events replayed late)', async () => {
    const { enricher, table } = await setUp(Date.now);
    const old = asEvent(assumeRoleRecord({ caller: iamUser('alice', 'AKIAALICEEXAMPLE0001'), roleName: 'Admin', sessionName: 'old', newAccessKeyId: 'ASIAOLD', expiration: 'Jul 30, 2024, 9:46:15 PM', time: new Date('2024-07-30T20:46:15Z') }));
    const work = await enricher.processBatch([input(old, 0)]);
    expect(work.outputs!.map((o) => o.topic)).toEqual(['enriched']);
    expect(table.size).toBe(0);
  });

  it('sets aside an event whose enrichment fails (dead letter, original bytes, reason) and enriches the rest of the batch', async () => {
    // A stand-in for a defect: a locator that fails on one address. What matters is what the
    // handler does with the failure: a batch that throws would be retried for ever and stall its partition.
    class FailingLocator extends GeoLocator {
      override locate(address: string | null, observe: GeoObserver) {
        if (address === '192.0.2.66') throw new Error('the locator broke on this one');
        return super.locate(address, observe);
      }
    }
    const { enricher, enrichedSerde, eventSerde, serviceMetrics, table } = await setUp(undefined, new FailingLocator([], 0));
    const events = [
      asEvent(callRecord({ sourceIPAddress: '10.1.2.3' })),
      asEvent(assumeRoleRecord({ caller: iamUser('alice', 'AKIAALICEEXAMPLE0001'), roleName: 'Admin', sessionName: 'doomed', newAccessKeyId: 'ASIADOOMED' })),
      asEvent(callRecord({ sourceIPAddress: '10.1.2.4' })),
    ];
    events[1]!.sourceIPAddress = '192.0.2.66';
    const raws = events.map((e) => eventSerde.encode(e));
    const work = await enricher.processBatch(events.map((e, i) => input(e, i, raws[i])));
    const outputs = work.outputs!;
    expect(outputs.map((o) => o.topic)).toEqual(['enriched', 'dlq', 'enriched']);
    expect(outputs[1]!.value).toEqual(raws[1]);
    expect(outputs[1]!.key?.toString()).toBe('123456789012/us-east-1');
    expect(readDeadLetter(outputs[1]!.headers)).toMatchObject({ reason: 'ENRICHMENT_FAILED', detail: 'the locator broke on this one', service: 'enricher', sourceTopic: 'raw', sourcePartition: '0', sourceOffset: '1' });
    expect(outputs[1]!.headers).toMatchObject({ trace: 'x' });
    // The failed event taught nothing: no session in the table that the topic would not have.
    expect(table.size).toBe(0);
    expect(enrichedSerde.decode(outputs[2]!.value as Buffer).event).toEqual(events[2]);
    const text = await serviceMetrics.registry.metrics();
    expect(text).toContain('opentrail_enricher_events_dead_lettered_total{reason="ENRICHMENT_FAILED"} 1');
    expect(text).toContain('opentrail_enricher_events_enriched_total 2');
  });
});
