import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type Admin, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { z } from 'zod';
import type { kafkaSchema } from '@opentrail/config';
import type { Logger } from '@opentrail/observability';

export type KafkaClientConfig = z.infer<typeof kafkaSchema>;

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** A kafkajs client from validated configuration: TLS, SASL, and kafkajs's own logs as JSON lines. */
export function createKafka(config: KafkaClientConfig, clientId: string, logger: Logger): Kafka {
  const options: KafkaConfig = {
    clientId: config.clientId ?? clientId,
    brokers: config.brokers,
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    ssl:
      typeof config.ssl === 'boolean'
        ? config.ssl
        : {
            rejectUnauthorized: config.ssl.rejectUnauthorized,
            ca: config.ssl.caFile ? [readFileSync(config.ssl.caFile, 'utf8')] : undefined,
            cert: config.ssl.certFile ? readFileSync(config.ssl.certFile, 'utf8') : undefined,
            key: config.ssl.keyFile ? readFileSync(config.ssl.keyFile, 'utf8') : undefined,
          },
    sasl: config.sasl ? ({ mechanism: config.sasl.mechanism, username: config.sasl.username, password: config.sasl.password } as SASLOptions) : undefined,
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      const level = LEVELS[entry.level] ?? 'info';
      logger[level]({ kafkajs: entry.namespace, ...rest }, message);
    },
    retry: { initialRetryTime: 300, retries: 8 },
  };
  return new Kafka(options);
}

export interface TopicSpec {
  topic: string;
  /** @default the configured topics.partitions */
  partitions?: number;
  /** Log compaction (a table such as the identities topic). */
  compacted?: boolean;
  config?: Record<string, string>;
}

/** Creates the topics that do not exist yet; existing ones are left as they are. */
export async function ensureTopics(kafka: Kafka, specs: TopicSpec[], defaults: { partitions: number; replicationFactor: number }): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return;
    try {
      await admin.createTopics({
        // Waited for below: kafkajs's own wait retries only LEADER_NOT_AVAILABLE.
        waitForLeaders: false,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: s.partitions ?? defaults.partitions,
          replicationFactor: defaults.replicationFactor,
          configEntries: Object.entries({ ...(s.compacted ? { 'cleanup.policy': 'compact' } : {}), ...s.config }).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (err) {
      // Two services starting together may race to create the same topic.
      if ((err as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw err;
    }
    await waitForLeaders(admin, missing.map((s) => s.topic));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Until every partition of the topics has a leader. A broker under load can answer a metadata
 * request for a topic it has just created with UNKNOWN_TOPIC_OR_PARTITION ("This server does not
 * host this topic-partition") for a while; that is retried here like LEADER_NOT_AVAILABLE.
 */
async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics });
      if (found.length === topics.length && found.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (err) {
      const type = (err as { type?: string }).type;
      if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') throw err;
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for the leaders of ${topics.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** How many partitions a topic has (0 if it does not exist): state topics are sized to match their input. */
export async function partitionCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0]?.partitions.length ?? 0;
  } finally {
    await admin.disconnect();
  }
}
