import type { KafkaClient } from '@opentrail/runtime';
import { describe, expect, it } from 'vitest';
import { readDeadLetter } from '@opentrail/runtime';
import { serdeFor, valueSubject, type Alert } from '@opentrail/serde';
import { testRegistry } from '../helpers/env.js';
import { collect, waitForCommitted } from '../helpers/kafka.js';
import { startService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { webhookReceiver } from '../helpers/webhookReceiver.js';
import { ACCOUNT, alerterEnv, alerterStage, at } from './helpers.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach();

/** Waits until the group's committed offset of each partition is past the last of `messages` in it. */
async function waitForCommittedPast(kafka: KafkaClient, groupId: string, topic: string, messages: readonly { partition: number; offset: string }[]) {
  const last = new Map<number, bigint>();
  for (const m of messages) if (BigInt(m.offset) >= (last.get(m.partition) ?? -1n)) last.set(m.partition, BigInt(m.offset));
  const admin = kafka.admin();
  await admin.connect();
  try {
    await waitFor(
      async () => {
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return [...last].every(([partition, offset]) => BigInt(committed?.partitions.find((p) => p.partition === partition)?.offset ?? '-1') > offset);
      },
      `${groupId} to commit past the last message of each partition of ${topic}`,
      60_000,
    );
  } finally {
    await admin.disconnect();
  }
}

const SECRET = 'whsec_c2VjcmV0LWZvci1vcGVudHJhaWwtdGVzdHM=';
const root = (eventID: string, seconds: number, extra: Record<string, unknown> = {}) => ({
  eventID,
  eventTime: at(seconds),
  eventSource: 'iam.amazonaws.com',
  eventName: 'CreateAccessKey',
  eventType: 'AwsApiCall',
  userIdentity: { type: 'Root', principalId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT },
  ...extra,
});

describe('alerter: poison events (issue 19, class 2)', () => {
  it('evaluates events named like members of Object.prototype, dead-letters an alert it cannot format, delivers the others, and commits both inputs to their end', async () => {
    const { prefix, kafka, topics, writer, alerts } = await alerterStage(cleanups, 'alerter-poison');
    const siem = await webhookReceiver(() => 200);
    cleanups.push(() => siem.close());
    const dlq = await collect(kafka, topics.dlq);
    cleanups.push(() => dlq.stop());
    const alerter = await startService(
      'alerter',
      alerterEnv(prefix, {
        OPENTRAIL_ALERTER_BUILTIN_PACKS: 'cis',
        OPENTRAIL_ALERTER_INSIGHTS_ENABLED: 'true',
        OPENTRAIL_ALERTER_SUPPRESSION_SECONDS: '0',
        OPENTRAIL_ALERTER_WEBHOOKS: JSON.stringify([{ name: 'siem', url: siem.url, secret: SECRET }]),
      }),
    );
    cleanups.push(() => alerter.stop().then(() => undefined));

    // Rule evaluation and Insights over odd names (user agents and error codes are Insights' table keys).
    const odd = ['constructor', '__proto__', 'toString', 'hasOwnProperty'].flatMap((name, i) => [
      { eventID: `odd-${i}-a`, eventTime: at(10 + i), eventSource: 'ec2.amazonaws.com', eventName: name, eventType: 'AwsApiCall', userAgent: name, errorCode: name, readOnly: false, userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/${name}`, accountId: ACCOUNT, userName: name } },
      { eventID: `odd-${i}-b`, eventTime: at(10 + i), eventSource: `${name}.amazonaws.com`, eventName: 'RunInstances', eventType: 'AwsApiCall', userAgent: name, readOnly: false, userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/${name}`, accountId: ACCOUNT } },
    ]);
    await writer.write([root('root-1', 0), ...odd, root('root-2', 20, { userAgent: 'constructor' })]);
    await waitFor(async () => (await alerts.values()).length >= 2, 'the two root alerts', 60_000);
    const fired = await alerts.values();
    expect(fired.map((a) => a.eventIds[0]).sort()).toEqual(['root-1', 'root-2']);

    // An alert that no output can write as JSON (times no Date holds), written between good ones.
    const alertSerde = serdeFor(testRegistry(), 'Alert');
    await alertSerde.register(valueSubject(topics.alerts));
    const poison: Alert = { ...fired[0]!, alertId: 'poison-alert', windowStart: 9e15 };
    const producer = kafka.producer({});
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    await producer.send({ topic: topics.alerts, messages: [{ key: poison.alertId, value: alertSerde.encode(poison), partition: 0 }, { key: 'after', value: alertSerde.encode({ ...fired[1]!, alertId: 'after-poison' }), partition: 0 }] });

    await waitFor(() => siem.requests.length >= 3, 'three webhooks (two alerts, and the one after the poison)', 60_000);
    expect(siem.requests.map((r) => (JSON.parse(r.body.toString()) as { alertId: string }).alertId).sort()).toEqual([...fired.map((a) => a.alertId), 'after-poison'].sort());
    const letters = await waitFor(() => (dlq.messages.length >= 1 ? dlq.messages : undefined), 'the dead letter of the poison alert');
    expect(letters).toHaveLength(1);
    expect(letters[0]!.key!.toString()).toBe('poison-alert');
    expect(readDeadLetter(letters[0]!.headers)).toMatchObject({ reason: 'FORMATTING_FAILED', service: 'alerter', sourceTopic: topics.alerts, detail: expect.stringMatching(/^RangeError: /) });

    await waitForCommitted(kafka, `${prefix}alerter`, topics.enriched);
    // The alerts topic is written in transactions: its end is a commit marker no consumer is handed,
    // so the group is checked against the last message of each partition instead.
    await waitFor(() => alerts.messages.length >= 4, 'the four alerts read back');
    await waitForCommittedPast(kafka, `${prefix}alerter-outputs`, topics.alerts, alerts.messages);
    expect(await alerter.metric('opentrail_alerter_events_dead_lettered_total', { reason: 'FORMATTING_FAILED' })).toBe(1);
    expect(await alerter.metric('opentrail_alerter_events_dead_lettered_total', { reason: 'PROCESSING_FAILED' })).toBe(0);
    expect(alerter.child.exitCode).toBeNull();
  });
});
