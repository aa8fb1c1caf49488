import { describe, expect, it } from 'vitest';
import { readDeadLetter } from '@opentrail/runtime';
import { callRecord, iamUser } from '../../services/enricher/test/records.js';
import { collect, waitForCommitted } from '../helpers/kafka.js';
import { enricherStage, topics } from './enricher.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach();

/** Names of Object.prototype: each one, as eventName or eventSource prefix, once halted the enricher's partition (issue 19, classes 1 and 2). */
const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

describe('enricher: poison events', () => {
  it('enriches events named like members of Object.prototype between good ones, dead-letters nothing, and commits every partition to its end', async () => {
    const { prefix, kafka, enricher, recorder, enriched } = await enricherStage(cleanups, 'enr-poison');
    const dlq = await collect(kafka, topics(prefix).dlq);
    cleanups.push(() => dlq.stop());

    const good = () => callRecord({ eventSource: 's3.amazonaws.com', eventName: 'GetObject', userIdentity: iamUser('alice', 'AKIAALICEEXAMPLE0001') });
    const sent: { record: ReturnType<typeof callRecord>; odd: boolean }[] = [];
    for (const name of PROTOTYPE_NAMES) {
      // The same account and region as the good ones: one routing key, so one partition holds them all in turn.
      sent.push({ record: good(), odd: false });
      sent.push({ record: callRecord({ eventSource: 's3.amazonaws.com', eventName: name }), odd: true });
      sent.push({ record: callRecord({ eventSource: `${name}.amazonaws.com`, eventName: name }), odd: true });
      sent.push({ record: callRecord({ eventSource: 'lambda.amazonaws.com', eventName: name, userIdentity: iamUser(name, 'AKIAODDUSEREXAMPLE01') }), odd: true });
    }
    sent.push({ record: good(), odd: false });
    for (const { record } of sent) await recorder.record(record);
    await recorder.flush();

    const byId = await enriched.waitForEvents(sent.map((s) => s.record.eventID!), 90_000);
    for (const { record, odd } of sent) {
      const out = byId.get(record.eventID!)!.value;
      expect(out.event.eventName).toBe(record.eventName);
      expect(out.event.eventSource).toBe(record.eventSource);
      if (odd) expect(out.enrichment.service).toMatchObject({ accessLevel: null });
      else expect(out.enrichment.service).toMatchObject({ name: 's3', accessLevel: 'Read', readOnly: true });
    }
    // The input is committed to its end: the partitions' lag is back to zero.
    await waitForCommitted(kafka, `${prefix}enricher`, topics(prefix).raw);
    expect(await enricher.metric('opentrail_enricher_consumer_lag')).toBe(0);
    expect(dlq.messages.map((m) => readDeadLetter(m.headers))).toEqual([]);
    expect(await enricher.metric('opentrail_enricher_events_dead_lettered_total')).toBe(0);
    expect(enricher.child.exitCode).toBeNull();
  });

});
