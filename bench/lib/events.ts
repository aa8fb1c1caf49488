/** Writing a benchmark's input: ApiCallEvents, encoded once, produced to a fresh topic before any timing starts. */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { eventAccountId, routingKey, toApiCallEvent, validateApiCallEvent, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { ensureTopics, splitRequests, type KafkaClient } from '@opentrail/runtime';
import { serdeFor, valueSubject, type ApiCallEvent, type SchemaRegistry } from '@opentrail/serde';

/**
 * The valid real records of test/fixtures, cycled `n` times with fresh eventIDs and dated within
 * the last hour (older ones would be past a history's retention).
 */
export function* recentFixtureEvents(n: number): Generator<ApiCallEvent> {
  const now = Date.now();
  const fixtures = readFileSync(new URL('../../test/fixtures/cloudtrail-records.ndjson', import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as CloudTrailRecord)
    .flatMap((record) => {
      try {
        const event = toApiCallEvent({ ...record, eventID: record.eventID ?? randomUUID() });
        return validateApiCallEvent(event, 0) === undefined ? [event] : [];
      } catch {
        return [];
      }
    });
  for (let i = 0; i < n; i++) {
    const eventTime = new Date(now - (i % 3600) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    yield { ...fixtures[i % fixtures.length]!, eventID: randomUUID(), eventTime };
  }
}

export async function createTopic(kafka: KafkaClient, topic: string, partitions: number, config: Record<string, string> = {}): Promise<void> {
  await ensureTopics(kafka, [{ topic, partitions, config }], { partitions, replicationFactor: 1 });
}

/** Produces the events to `topic` (created with `partitions`), keyed `<accountId>/<region>` as the producer client keys them. */
export async function preProduce(kafka: KafkaClient, registry: SchemaRegistry, topic: string, events: Iterable<ApiCallEvent>, partitions = 6): Promise<number> {
  await createTopic(kafka, topic, partitions);
  const serde = serdeFor(registry, 'ApiCallEvent');
  await serde.register(valueSubject(topic));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1});
  await producer.connect();
  let count = 0;
  let batch: { key: string; value: Buffer }[] = [];
  const flush = async () => {
    // In requests the broker accepts (1 MiB per partition), split as the runtime splits its outputs.
    for (const request of batch.length ? splitRequests([{ topic, messages: batch }]) : []) await producer.sendBatch({ topicMessages: request, acks: -1 });
    batch = [];
  };
  try {
    for (const event of events) {
      batch.push({ key: routingKey(eventAccountId(event), event.awsRegion), value: serde.encode(event) });
      count++;
      if (batch.length >= 2000) await flush();
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
  return count;
}
