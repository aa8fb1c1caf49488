import { describe, expect, it } from 'vitest';
import { toApiCallEvent } from '@opentrail/cloudtrail';
import { readDeadLetter } from '@opentrail/runtime';
import { serdeFor, valueSubject } from '@opentrail/serde';
import { assumeRoleRecord, callRecord, iamUser } from '../../services/enricher/test/records.js';
import { testRegistry } from '../helpers/env.js';
import { readTopic } from '../helpers/kafka.js';
import { enricherStage, topics } from './enricher.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach();

describe('enricher: bad input', () => {
  it('enriches odd events without crashing and counts them; dead-letters what cannot be read or is refused, with the reason', async () => {
    const { prefix, kafka, enricher, recorder, enriched } = await enricherStage(cleanups, 'enr-bad');

    const odd = {
      emptyIp: callRecord({ sourceIPAddress: '' }),
      garbageIp: callRecord({ sourceIPAddress: '255.090.254.5' }),
      hostname: callRecord({ sourceIPAddress: 'proxy.corp.example.com' }),
      ipv6: callRecord({ sourceIPAddress: '2001:4860:4860::8888' }),
      linkLocal: callRecord({ sourceIPAddress: 'fe80::1%eth0' }),
      awsService: callRecord({ sourceIPAddress: 'lambda.amazonaws.com' }),
      noIp: callRecord({ sourceIPAddress: null }),
      noIdentity: callRecord({ userIdentity: null }),
      unknownType: callRecord({ userIdentity: { type: 'QuantumEntangledUser', principalId: 'Q1', accountId: '123456789012' } }),
      noOne: callRecord({ userIdentity: { accountId: '123456789012', accessKeyId: '' } }),
    };
    // An AssumeRole as any producer may write it: a fractional duration asked for, no expiration in
    // the response. Read as is, the session's expiry is no whole millisecond and cannot be encoded;
    // the batch would fail for ever and stall its partition.
    const oddSts = assumeRoleRecord({ caller: iamUser('carol', 'AKIACAROLEXAMPLE0001'), roleName: 'Ops', sessionName: 'carol-ops', newAccessKeyId: 'ASIACAROLSESSION0001' });
    (oddSts.requestParameters as Record<string, unknown>).durationSeconds = 3600.0005;
    delete (oddSts.responseElements as { credentials: Record<string, unknown> }).credentials.expiration;
    await recorder.record(oddSts);
    for (const r of Object.values(odd)) await recorder.record(r);
    await recorder.flush();

    // Messages the recorder would refuse, written straight to the raw topic as any producer could.
    const apiCallSerde = serdeFor(testRegistry(), 'ApiCallEvent');
    await apiCallSerde.register(valueSubject(topics(prefix).raw));
    const invalid = toApiCallEvent({ ...callRecord({}), recipientAccountId: 'not-an-account' });
    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const unknownSchema = Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 1, 2, 3]);
    await producer.send({
      topic: topics(prefix).raw,
      messages: [
        { key: 'bad/1', value: Buffer.from('{"eventVersion":"1.08"} is JSON, not Avro') },
        { key: 'bad/2', value: Buffer.alloc(0) },
        { key: 'bad/3', value: unknownSchema },
        { key: '123456789012/us-east-1', value: apiCallSerde.encode(invalid) },
      ],
    });

    const byId = await enriched.waitForEvents([...Object.values(odd), oddSts].map((r) => r.eventID!));
    const enrichment = (r: { eventID?: string }) => byId.get(r.eventID!)!.value.enrichment;
    expect(enrichment(odd.emptyIp).geo).toMatchObject({ classification: 'invalid', country: null });
    expect(enrichment(odd.garbageIp).geo).toMatchObject({ classification: 'invalid' });
    expect(enrichment(odd.hostname).geo).toMatchObject({ classification: 'hostname' });
    expect(enrichment(odd.ipv6).geo).toMatchObject({ classification: 'public', country: expect.stringMatching(/^[A-Z]{2}$/) });
    expect(enrichment(odd.linkLocal).geo).toMatchObject({ classification: 'link-local' });
    expect(enrichment(odd.awsService).geo).toMatchObject({ classification: 'aws-service' });
    expect(enrichment(odd.noIp).geo).toBeNull();
    expect(enrichment(odd.noIdentity).identity).toMatchObject({ source: 'unresolved', actor: null });
    expect(enrichment(odd.unknownType).identity).toMatchObject({ source: 'event', principalType: 'QuantumEntangledUser', principalId: 'Q1' });
    expect(enrichment(odd.noOne).identity).toMatchObject({ source: 'unresolved', accountId: '123456789012' });
    // Every odd event still got its service classification.
    for (const r of Object.values(odd)) expect(enrichment(r).service).toMatchObject({ name: 's3', accessLevel: 'List', readOnly: true });
    // The odd AssumeRole flowed, and its session was learned with the STS default lifetime.
    expect(enrichment(oddSts).identity).toMatchObject({ source: 'event', userName: 'carol' });
    const [session] = await readTopic(kafka, topics(prefix).identities, 1, 30_000, { readCommitted: true });
    expect(session!.key!.toString()).toBe('ASIACAROLSESSION0001');
    expect(await serdeFor(testRegistry(), 'Identity').decodeOne(session!.value)).toMatchObject({ expiresAt: Date.parse(oddSts.eventTime!) + 3_600_000, session: { callerUserName: 'carol' } });

    const dead = await readTopic(kafka, topics(prefix).dlq, 4);
    const reasons = new Map(dead.map((m) => [m.key!.toString(), readDeadLetter(m.headers)]));
    expect(reasons.get('bad/1')).toMatchObject({ reason: 'MAGIC_BYTE', service: 'enricher', sourceTopic: topics(prefix).raw });
    expect(reasons.get('bad/2')).toMatchObject({ reason: 'EMPTY' });
    expect(reasons.get('bad/3')).toMatchObject({ reason: 'UNKNOWN_SCHEMA_ID' });
    expect(reasons.get('123456789012/us-east-1')).toMatchObject({ reason: 'VALIDATION', detail: expect.stringContaining('12-digit') });
    // The original bytes, for replay after a fix.
    expect(dead.find((m) => m.key!.toString() === 'bad/3')!.value).toEqual(unknownSchema);

    const metric = (name: string, labels: Record<string, string>) => enricher.metric(`opentrail_enricher_${name}`, labels);
    expect(await metric('geo_classifications_total', { classification: 'invalid' })).toBe(2);
    expect(await metric('geo_classifications_total', { classification: 'absent' })).toBe(1);
    expect(await metric('identity_anomalies_total', { kind: 'missing_user_identity' })).toBe(1);
    expect(await metric('identity_anomalies_total', { kind: 'unknown_identity_type' })).toBe(1);
    expect(await metric('identity_resolutions_total', { source: 'unresolved' })).toBe(2);
    expect(await metric('events_dead_lettered_total', { reason: 'VALIDATION' })).toBe(1);
    expect(await metric('events_enriched_total', {})).toBe(Object.keys(odd).length + 1);
    expect(await metric('identities_learned_total', { api: 'AssumeRole' })).toBe(1);
    expect((await fetch(`${enricher.url}/healthz`)).ok).toBe(true);
    expect(enricher.child.exitCode).toBeNull();
  });
});
