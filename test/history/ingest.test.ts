import { afterEach, describe, expect, it } from 'vitest';
import { toApiCallEvent, writeRecordJson, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { eventResources, eventUsername } from '@opentrail/history';
import { readDeadLetter } from '@opentrail/runtime';
import { serviceEnv, testKafka, uniquePrefix } from '../helpers/env.js';
import { collect, createTopics } from '../helpers/kafka.js';
import { startService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { EnrichedProducer } from '../archiver/helpers.js';
import { countRows, freshDatabase, historyEvent, isoSeconds, withClient } from './ingest-helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function setup(label: string) {
  const prefix = uniquePrefix(label);
  const kafka = testKafka();
  await createTopics(kafka, [`${prefix}events.enriched`, `${prefix}events.dlq`]);
  const databaseUrl = await freshDatabase(label);
  const producer = await EnrichedProducer.create(kafka, prefix);
  cleanups.push(() => producer.close());
  const env = serviceEnv(prefix, { OPENTRAIL_DATABASE_URL: databaseUrl });
  return { prefix, kafka, databaseUrl, producer, env };
}

describe('history: ingest', () => {
  it('stores every event once, with its lookup columns, resources, Insights category and the archiver’s exact line', async () => {
    const { databaseUrl, producer, env } = await setup('hist');
    const N = 3000;
    const records = Array.from({ length: N }, (_, i) => historyEvent(i, 'ingest'));
    await producer.send(records);
    const history = await startService('history', env);
    cleanups.push(() => history.kill());
    await waitFor(async () => (await countRows(databaseUrl)) >= N, `${N} rows`, 120_000, 500);
    expect(await history.metric('opentrail_history_rows_inserted_total')).toBe(N);

    const byId = new Map(records.map((r) => [r.eventID!, r]));
    await withClient(databaseUrl, async (c) => {
      const { rows } = await c.query<{ event_id: string; record: string; username: string | null; event_category: string; resources: unknown; region: string; event_name: string; access_key_id: string | null; read_only: boolean | null; event_time: Date }>(
        'SELECT event_id, record, username, event_category, resources, region, event_name, access_key_id, read_only, event_time FROM events',
      );
      expect(rows).toHaveLength(N);
      for (const row of rows) {
        const record = byId.get(row.event_id)!;
        const event = toApiCallEvent(record);
        expect(row.record).toBe(writeRecordJson(event));
        expect(row.username).toBe(eventUsername(event.userIdentity));
        expect(row.resources).toEqual(eventResources(event).shown);
        expect(row.region).toBe(record.awsRegion);
        expect(row.event_name).toBe(record.eventName ?? '');
        expect(row.access_key_id).toBe(event.userIdentity?.accessKeyId ?? null);
        expect(row.read_only).toBe(event.readOnly);
        expect(isoSeconds(row.event_time.getTime())).toBe(record.eventTime);
        expect(row.event_category).toBe(record.eventType === 'AwsCloudTrailInsight' ? 'Insight' : (record.eventCategory ?? 'Management'));
      }
      const insights = await c.query<{ n: string }>("SELECT count(*) AS n FROM events WHERE event_category = 'Insight'");
      expect(Number(insights.rows[0]!.n)).toBe(records.filter((r) => r.eventType === 'AwsCloudTrailInsight').length);

      // Resource rows: exactly the keys of each event (derived ones included: plain name and ARN).
      const expectedKeys = records.reduce((n, r) => n + eventResources(toApiCallEvent(r)).keys.length, 0);
      expect(expectedKeys).toBeGreaterThan(N / 2);
      expect(await countRows(databaseUrl, 'event_resources')).toBe(expectedKeys);
      const role = await c.query<{ n: string }>("SELECT count(DISTINCT event_id) AS n FROM event_resources WHERE region = 'us-east-1' AND resource_name = 'arn:aws:iam::444455556666:role/role1' AND resource_type = 'AWS::IAM::Role'");
      expect(Number(role.rows[0]!.n)).toBeGreaterThan(0);
    });
    const ready = await fetch(`${history.url}/readyz`);
    expect(ready.status).toBe(200);
    expect((await history.stop()).code).toBe(0);
  });

  it('dead-letters what it cannot store (a NUL character PostgreSQL refuses, a far-future date) and stores the rest of the batch', async () => {
    const { prefix, kafka, databaseUrl, producer, env } = await setup('histpoison');
    const good = Array.from({ length: 40 }, (_, i) => historyEvent(i + 1, 'poison'));
    const nul: CloudTrailRecord = { ...historyEvent(1000, 'poison'), eventName: 'Get\u0000Object' };
    const future: CloudTrailRecord = { ...historyEvent(1002, 'poison'), eventTime: isoSeconds(Date.now() + 30 * 86_400_000) };
    // One partition for all: the bad ones sit in the middle of a batch of good ones.
    const messages = [...good.slice(0, 20), nul, future, ...good.slice(20)].map((r) => ({ ...producer.message(r), key: 'one' }));
    await producer.sendRaw(messages);
    const history = await startService('history', env);
    cleanups.push(() => history.kill());
    const dlq = await collect(kafka, `${prefix}events.dlq`);
    cleanups.push(() => dlq.stop());
    await waitFor(() => dlq.messages.length >= 2, '2 dead letters', 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${history.output().slice(-3000)}`);
    });
    await waitFor(async () => (await countRows(databaseUrl)) >= good.length, `${good.length} rows`, 60_000);
    expect(await countRows(databaseUrl)).toBe(good.length);
    const letters = dlq.messages.map((m) => readDeadLetter(m.headers));
    const reasons = new Map(letters.map((l) => [l.reason, l.detail]));
    expect(reasons.get('HISTORY_DATABASE_REFUSED')).toMatch(/SQLSTATE 22/);
    expect(reasons.get('HISTORY_EVENT_TIME_IN_FUTURE')).toMatch(/ahead/);
    // The dead letter is the original message, byte for byte.
    const original = new Set(messages.map((m) => (m.value as Buffer).toString('base64')));
    for (const m of dlq.messages) expect(original.has(m.value!.toString('base64'))).toBe(true);
    expect(dlq.messages).toHaveLength(2);
    expect(await history.metric('opentrail_history_events_refused_total')).toBe(2);
  });
});
