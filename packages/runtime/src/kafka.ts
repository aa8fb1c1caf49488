import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { z } from 'zod';
import type { kafkaSchema } from '@opentrail/config';
import { ConfluentClient, loadConfluent } from './clients/confluent.js';
import { KafkajsClient } from './clients/kafkajs.js';
import type { KafkaAdmin, KafkaClient } from './kafkaClient.js';
import { transientCounter, type Logger, type ServiceMetrics } from '@opentrail/observability';
import { startupStep } from './startup.js';
import { transientConditionOfMessage } from './transient.js';

export type KafkaClientConfig = z.infer<typeof kafkaSchema>;

// kafkajs 2's default partitioner is the Java-compatible one the project relies on (keys land
// where Java, librdkafka and Kafka Streams put them); it only warns that the default changed in 2.0.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs's own log lines as JSON lines. kafkajs logs at error level every response error and every
 * consumer restart, including the ones it (or the runtime) retries: CONCURRENT_TRANSACTIONS while a
 * transaction of the previous owner completes, NOT_LEADER_OR_FOLLOWER during a leader election, a
 * refused connection while the broker starts. Those go out at info level and are counted
 * (opentrail_<service>_transient_conditions_total{source="kafka"}); error level stays for what
 * needs a person.
 */
export function kafkaLogCreator(logger: Logger, metrics?: ServiceMetrics) {
  const counter = metrics ? transientCounter(metrics) : undefined;
  return () => (entry: LogEntry) => {
    const { message, ...rest } = entry.log;
    let level = LEVELS[entry.level] ?? 'info';
    if (level === 'error' || level === 'warn') {
      const error = (rest as { error?: unknown }).error;
      const condition = handledByKafkajs(message, error) ?? transientConditionOfMessage(typeof error === 'string' ? `${message} ${error}` : message);
      if (condition !== undefined) {
        level = 'info';
        counter?.inc({ source: 'kafka', condition });
        logger[level]({ kafkajs: entry.namespace, transient: condition, ...rest }, message);
        return;
      }
    }
    // kafkajs logs every error response, and every failed send, before it rejects the request with
    // that error: whoever made the request gets it and decides (the processor drops a transaction
    // fenced by a partition's new owner; a start fails naming a refused authorization). Logging it
    // here too at error level would page an operator for what the runtime handles.
    if (level === 'error' && handedToCaller(entry.namespace, message, rest)) level = 'info';
    logger[level]({ kafkajs: entry.namespace, ...rest }, message);
  };
}

/** A failed response (Connection: "Response Produce(…)") or send (Producer, with its retryCount): the error also goes to the caller. */
function handedToCaller(namespace: string, message: string, fields: object): boolean {
  return (namespace === 'Connection' && message.startsWith('Response ')) || (namespace === 'Producer' && 'retryCount' in fields);
}

/**
 * Lines kafkajs logs as errors about what it handles itself. Services starting together create the
 * same topics: the loser's CreateTopics answer is logged before kafkajs (all TOPIC_ALREADY_EXISTS)
 * or ensureTopics accepts it; any other creation error is thrown to ensureTopics, which fails the
 * start naming it. A consumer restart follows a retriable crash only (kafkajs decides).
 */
function handledByKafkajs(message: string, error: unknown): string | undefined {
  if (message.startsWith('Response CreateTopics') && error === 'Topic creation errors') return 'TOPIC_ALREADY_EXISTS';
  if (message.startsWith('Restarting the consumer')) return 'CONSUMER_RESTART';
  return undefined;
}

/**
 * A kafkajs consumer's CRASH event: kafkajs restarts the consumer after a retriable error (a
 * coordinator loading or moving, a leader election), which is logged at warn; a crash it does not
 * restart from needs a person and is logged at error.
 */
export function logConsumerCrash(logger: Logger, payload: { error: Error; restart: boolean }, what: string): void {
  if (payload.restart) logger.warn({ err: { message: payload.error.message }, restart: true }, `${what} crashed; kafkajs restarts it`);
  else logger.error({ err: payload.error, restart: false }, `${what} crashed`);
}

/** The client library behind the port: kafka.client in the configuration. */
export type KafkaClientKind = KafkaClientConfig['client'];

/**
 * A client from validated configuration: TLS, SASL, and the library's own logs as JSON lines.
 * kafka.client "confluent" where the library is not built fails here, with the way to build it.
 */
export function createKafka(config: KafkaClientConfig, clientId: string, logger: Logger, metrics?: ServiceMetrics): KafkaClient {
  const ssl =
    typeof config.ssl === 'boolean'
      ? config.ssl
      : {
          rejectUnauthorized: config.ssl.rejectUnauthorized,
          ca: config.ssl.caFile ? [readFileSync(config.ssl.caFile, 'utf8')] : undefined,
          cert: config.ssl.certFile ? readFileSync(config.ssl.certFile, 'utf8') : undefined,
          key: config.ssl.keyFile ? readFileSync(config.ssl.keyFile, 'utf8') : undefined,
        };
  const sasl = config.sasl ? { mechanism: config.sasl.mechanism, username: config.sasl.username, password: config.sasl.password } : undefined;
  const options: KafkaConfig = {
    clientId: config.clientId ?? clientId,
    brokers: config.brokers,
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    ssl,
    sasl: sasl as SASLOptions | undefined,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(logger, metrics),
    retry: { initialRetryTime: 300, retries: 8 },
  };
  if (config.client !== 'confluent') return new KafkajsClient(new Kafka(options));
  const counter = metrics ? transientCounter(metrics) : undefined;
  return new ConfluentClient(
    loadConfluent(),
    {
      brokers: config.brokers,
      clientId: options.clientId,
      ssl,
      sasl,
      connectionTimeout: config.connectionTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      logger,
      onTransient: (condition) => counter?.inc({ source: 'kafka', condition }),
    },
    () => new Kafka(options).admin(),
  );
}

export interface TopicSpec {
  topic: string;
  /** @default the configured topics.partitions */
  partitions?: number;
  /** Log compaction (a table such as the identities topic). */
  compacted?: boolean;
  config?: Record<string, string>;
}

/**
 * Creates the topics that do not exist yet; existing ones are left as they are. A step of the start
 * (startup.ts): a broker that is starting or electing leaders is waited for.
 */
export function ensureTopics(kafka: KafkaClient, specs: TopicSpec[], defaults: { partitions: number; replicationFactor: number }): Promise<void> {
  return startupStep(`topics ${specs.map((s) => s.topic).join(', ')}`, () => createMissingTopics(kafka, specs, defaults));
}

async function createMissingTopics(kafka: KafkaClient, specs: TopicSpec[], defaults: { partitions: number; replicationFactor: number }): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return;
    try {
      // Waited for below (the port's createTopics does not wait).
      await admin.createTopics({
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
async function waitForLeaders(admin: KafkaAdmin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics });
      if (found.length === topics.length && found.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (err) {
      if (!leaderPending(err)) throw err;
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw Object.assign(new Error(`timed out after ${timeoutMs} ms waiting for the leaders of ${topics.join(', ')}`), { type: 'LEADER_NOT_AVAILABLE' });
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** UNKNOWN_TOPIC_OR_PARTITION (3) or LEADER_NOT_AVAILABLE (5): kafkajs names the type, librdkafka gives the protocol's code. */
function leaderPending(err: unknown): boolean {
  const { type, code } = err as { type?: string; code?: number };
  return type === 'UNKNOWN_TOPIC_OR_PARTITION' || type === 'LEADER_NOT_AVAILABLE' || code === 3 || code === 5;
}

/** How many partitions a topic has (0 if it does not exist): state topics are sized to match their input. */
export function partitionCount(kafka: KafkaClient, topic: string): Promise<number> {
  return startupStep(`the partitions of ${topic}`, async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      return topics[0]?.partitions.length ?? 0;
    } finally {
      await admin.disconnect();
    }
  });
}

/** A connection for tools, tests and the producer SDK: no service configuration, no metrics. */
export interface KafkaConnectionOptions {
  brokers: string[];
  clientId?: string;
  ssl?: boolean | { rejectUnauthorized?: boolean; ca?: string[]; cert?: string; key?: string };
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  connectionTimeout?: number;
  requestTimeout?: number;
  /** Retries of a failed request. @default the client's own (5) */
  retries?: number;
  /** The client's warnings and errors as JSON lines; without one it says nothing. */
  logger?: Logger;
  /** @default OPENTRAIL_KAFKA_CLIENT, else confluent */
  client?: KafkaClientKind;
}

export function connectKafka(options: KafkaConnectionOptions): KafkaClient {
  const { logger, retries, sasl, client = defaultKafkaClient(), ...rest } = options;
  const kafkajs = () =>
    new Kafka({
      ...rest,
      sasl: sasl as SASLOptions | undefined,
      retry: retries === undefined ? undefined : { retries },
      logLevel: logger ? logLevel.WARN : logLevel.NOTHING,
      logCreator: logger ? kafkaLogCreator(logger) : undefined,
    });
  if (client === 'kafkajs') return new KafkajsClient(kafkajs());
  return new ConfluentClient(loadConfluent(), { ...rest, sasl, retries, logger }, () => kafkajs().admin());
}

/** OPENTRAIL_KAFKA_CLIENT, as for services, so tools and tests follow the same switch. */
function defaultKafkaClient(): KafkaClientKind {
  const chosen = process.env.OPENTRAIL_KAFKA_CLIENT;
  if (chosen === undefined || chosen === '' || chosen === 'confluent') return 'confluent';
  if (chosen === 'kafkajs') return 'kafkajs';
  throw new Error(`OPENTRAIL_KAFKA_CLIENT must be kafkajs or confluent, not ${JSON.stringify(chosen)}`);
}
