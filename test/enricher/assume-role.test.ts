import { describe, expect, it } from 'vitest';
import { serdeFor, valueSubject } from '@opentrail/serde';
import { asEvent, assumedRole, assumeRoleRecord, callRecord, iamUser, inventoryIdentity } from '../../services/enricher/test/records.js';
import { testRegistry } from '../helpers/env.js';
import { readTopic } from '../helpers/kafka.js';
import { enricherStage, startEnricher, topics } from './enricher.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach();

const ALICE_ARN = 'arn:aws:iam::123456789012:user/alice';
const SESSION_ARN = 'arn:aws:sts::123456789012:assumed-role/Admin/alice-admin';
const SESSION_KEY = 'ASIAALICESESSION0001';

describe('enricher: identities learned from STS', () => {
  it('attributes calls signed by the key an AssumeRole returned to the role session and to alice, also after a restart', async () => {
    const { prefix, kafka, enricher: first, recorder, enriched } = await enricherStage(cleanups, 'enr-sts');

    const assume = assumeRoleRecord({ caller: iamUser('alice', 'AKIAALICEEXAMPLE0001'), roleName: 'Admin', sessionName: 'alice-admin', newAccessKeyId: SESSION_KEY });
    const calls = ['ListBuckets', 'GetObject', 'PutObject'].map((eventName) => callRecord({ userIdentity: assumedRole('Admin', 'alice-admin', SESSION_KEY), eventName }));
    for (const r of [assume, ...calls]) await recorder.record(r);
    await recorder.flush();

    const byId = await enriched.waitForEvents([assume, ...calls].map((r) => r.eventID!));
    for (const call of calls) {
      const { value, key } = byId.get(call.eventID!)!;
      expect(key).toBe('123456789012/us-east-1');
      // What the producer recorded travels unchanged.
      expect(value.event).toEqual(asEvent(call));
      expect(value.enrichment.identity).toMatchObject({
        source: 'sts',
        principalType: 'AssumedRole',
        principalArn: SESSION_ARN,
        session: { roleArn: 'arn:aws:iam::123456789012:role/Admin', sessionName: 'alice-admin', sessionArn: SESSION_ARN, issuedBy: 'AssumeRole' },
        actor: { type: 'IAMUser', arn: ALICE_ARN, userName: 'alice', accessKeyId: 'AKIAALICEEXAMPLE0001' },
        chain: [SESSION_ARN, ALICE_ARN],
      });
    }
    // The AssumeRole call itself was signed by alice's long-term key, which nobody published.
    expect(byId.get(assume.eventID!)!.value.enrichment.identity).toMatchObject({ source: 'event', actor: { arn: ALICE_ARN } });

    // The session went to the identities topic, keyed by the new access key.
    const [published] = await readTopic(kafka, topics(prefix).identities, 1, 30_000, { readCommitted: true });
    expect(published!.key!.toString()).toBe(SESSION_KEY);
    expect(await serdeFor(testRegistry(), 'Identity').decodeOne(published!.value)).toMatchObject({ source: 'sts:AssumeRole', session: { callerUserName: 'alice', callerAccessKeyId: 'AKIAALICEEXAMPLE0001' } });
    expect(await first.metric('opentrail_enricher_identities_learned_total', { api: 'AssumeRole' })).toBe(1);
    expect(await first.stop()).toEqual({ code: 0, signal: null });

    // Meanwhile a team publishes its IAM inventory: alice's long-term key.
    const identitySerde = serdeFor(testRegistry(), 'Identity');
    await identitySerde.register(valueSubject(topics(prefix).identities));
    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    await producer.send({
      topic: topics(prefix).identities,
      messages: [{ key: 'AKIAALICEEXAMPLE0001', value: identitySerde.encode(inventoryIdentity('AKIAALICEEXAMPLE0001', 'alice', { principalId: 'AIDAFROMINVENTORY' })) }],
    });

    // A fresh process never saw the AssumeRole (its offset is committed): it knows the session only
    // from the identities topic, which it reads in full before it reports ready.
    const second = await startEnricher(prefix);
    cleanups.push(() => second.stop());
    expect(await second.metric('opentrail_enricher_identities_table_entries')).toBe(2);
    const later = ['GetObject', 'DeleteObject'].map((eventName) => callRecord({ userIdentity: assumedRole('Admin', 'alice-admin', SESSION_KEY), eventName }));
    for (const r of later) await recorder.record(r);
    await recorder.flush();
    const afterRestart = await enriched.waitForEvents(later.map((r) => r.eventID!));
    for (const call of later) {
      // The chain now ends at alice's inventory entry.
      expect(afterRestart.get(call.eventID!)!.value.enrichment.identity).toMatchObject({
        source: 'sts',
        session: { sessionName: 'alice-admin' },
        actor: { type: 'IAMUser', userName: 'alice', principalId: 'AIDAFROMINVENTORY', accessKeyId: 'AKIAALICEEXAMPLE0001' },
        chain: [SESSION_ARN, ALICE_ARN],
      });
    }
    expect(await second.metric('opentrail_enricher_identities_learned_total')).toBe(0);
    expect(await second.metric('opentrail_enricher_identity_table_lookups_total', { result: 'hit' })).toBe(2);
  });
});
