import type { Kafka, KafkaMessage } from 'kafkajs';
import { waitFor } from './wait.js';

export interface Collected {
  messages: (KafkaMessage & { partition: number })[];
  stop(): Promise<void>;
}

/** Reads a topic from the beginning into memory until stopped. */
export async function collect(kafka: Kafka, topic: string, options: { readCommitted?: boolean } = {}): Promise<Collected> {
  const consumer = kafka.consumer({ groupId: `collector-${topic}-${Math.random().toString(36).slice(2)}`, readUncommitted: !options.readCommitted, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const messages: Collected['messages'] = [];
  await consumer.run({ eachMessage: async ({ message, partition }) => void messages.push({ ...message, partition }) });
  return { messages, stop: () => consumer.disconnect() };
}

/** Reads a topic from the beginning until `count` messages arrived. */
export async function readTopic(kafka: Kafka, topic: string, count: number, timeoutMs = 60_000, options: { readCommitted?: boolean } = {}) {
  const collected = await collect(kafka, topic, options);
  try {
    await waitFor(() => collected.messages.length >= count, `${count} messages on ${topic} (have ${collected.messages.length})`, timeoutMs);
    return collected.messages;
  } finally {
    await collected.stop();
  }
}

export async function createTopics(kafka: Kafka, topics: string[], partitions = 3) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: partitions })) });
  } finally {
    await admin.disconnect();
  }
}
