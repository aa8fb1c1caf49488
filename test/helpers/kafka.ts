import { ensureTopics, type ConsumedMessage, type KafkaClient } from '@opentrail/runtime';
import { waitFor } from './wait.js';

export interface Collected {
  messages: (ConsumedMessage & { partition: number })[];
  stop(): Promise<void>;
}

/** Reads a topic from the beginning into memory until stopped. */
export async function collect(kafka: KafkaClient, topic: string, options: { readCommitted?: boolean } = {}): Promise<Collected> {
  const consumer = kafka.consumer({ groupId: `collector-${topic}-${Math.random().toString(36).slice(2)}`, readUncommitted: !options.readCommitted, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const messages: Collected['messages'] = [];
  await consumer.run({ eachMessage: async ({ message, partition }) => void messages.push({ ...message, partition }) });
  return { messages, stop: () => consumer.disconnect() };
}

/** Reads a topic from the beginning until `count` messages arrived. */
export async function readTopic(kafka: KafkaClient, topic: string, count: number, timeoutMs = 60_000, options: { readCommitted?: boolean } = {}) {
  const collected = await collect(kafka, topic, options);
  try {
    await waitFor(() => collected.messages.length >= count, `${count} messages on ${topic} (have ${collected.messages.length})`, timeoutMs);
    return collected.messages;
  } finally {
    await collected.stop();
  }
}

export async function createTopics(kafka: KafkaClient, topics: string[], partitions = 3) {
  await ensureTopics(kafka, topics.map((topic) => ({ topic })), { partitions, replicationFactor: 1 });
}

/** Waits until the consumer group has committed everything written to the topic so far. */
export async function waitForCommitted(kafka: KafkaClient, groupId: string, topic: string, timeoutMs = 60_000): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    await waitFor(
      async () => {
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return ends.every((end) => {
          const c = committed?.partitions.find((p) => p.partition === end.partition);
          return end.high === end.low || (c !== undefined && BigInt(c.offset) >= BigInt(end.high));
        });
      },
      `${groupId} to commit ${topic} to its end`,
      timeoutMs,
    );
  } finally {
    await admin.disconnect();
  }
}
