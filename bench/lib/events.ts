/** Writing a benchmark's input: ApiCallEvents, encoded once, produced to a fresh topic before any timing starts. */
import { Partitioners, type Kafka } from 'kafkajs';
import { eventAccountId, routingKey } from '@opentrail/cloudtrail';
import { splitRequests } from '@opentrail/runtime';
import { serdeFor, valueSubject, type ApiCallEvent, type SchemaRegistry } from '@opentrail/serde';

export async function createTopic(kafka: Kafka, topic: string, partitions: number, config: Record<string, string> = {}): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, configEntries: Object.entries(config).map(([name, value]) => ({ name, value })) }] });
  } finally {
    await admin.disconnect();
  }
}

/** Produces the events to `topic` (created with `partitions`), keyed `<accountId>/<region>` as the producer client keys them. */
export async function preProduce(kafka: Kafka, registry: SchemaRegistry, topic: string, events: Iterable<ApiCallEvent>, partitions = 6): Promise<number> {
  await createTopic(kafka, topic, partitions);
  const serde = serdeFor(registry, 'ApiCallEvent');
  await serde.register(valueSubject(topic));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
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
