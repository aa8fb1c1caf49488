import { existsSync } from 'node:fs';
import { z } from 'zod';
import type { EnvBinding } from './load.js';

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port');
const readableFile = z.string().refine((p) => existsSync(p), { message: 'file does not exist' });

/** Connection to the Kafka cluster, including what a production cluster needs (TLS, SASL). */
export const kafkaSchema = z.strictObject({
  /** Bootstrap servers. */
  brokers: z.array(hostPort).min(1, 'must list at least one host:port'),
  /** @default opentrail-<service> */
  clientId: z.string().min(1).optional(),
  /** TLS: true for the system trust store, or files for a private CA and mutual TLS. @default false */
  ssl: z
    .union([
      z.boolean(),
      z.strictObject({
        caFile: readableFile.optional(),
        certFile: readableFile.optional(),
        keyFile: readableFile.optional(),
        rejectUnauthorized: z.boolean().default(true),
      }),
    ])
    .default(false),
  sasl: z
    .strictObject({
      mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
      username: z.string().min(1),
      password: z.string().min(1),
    })
    .optional(),
  /** @default 5000 */
  connectionTimeoutMs: z.number().int().positive().default(5000),
  /** @default 30000 */
  requestTimeoutMs: z.number().int().positive().default(30000),
  /**
   * The client library behind the runtime (docs/kafka-clients.md): confluent (librdkafka, built once
   * per machine by npm start / npm test), or kafkajs. @default confluent
   */
  client: z.enum(['kafkajs', 'confluent']).default('confluent'),
  /**
   * A stable name of this instance (a StatefulSet pod's name), unique among a service's instances:
   * static group membership (KIP-345) on the confluent client. An instance restarted under the same
   * name within the session timeout gets its partitions back without a rebalance, but a clean stop
   * no longer hands them over at once (they wait for the session timeout). @default dynamic membership
   */
  instanceId: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'may hold only letters, digits, ".", "_" and "-" (at most 200)').optional(),
});

export const schemaRegistrySchema = z.strictObject({
  /** Base URL of a Confluent-compatible registry, e.g. http://registry:8081 or Apicurio's …/apis/ccompat/v7 */
  url: z.url({ message: 'must be an http(s) URL' }),
  username: z.string().optional(),
  password: z.string().optional(),
});

export const topicsSchema = z.strictObject({
  /** Prepended to every topic name (events.raw → opentrail.events.raw). @default "opentrail." */
  prefix: z.string().regex(/^[A-Za-z0-9._-]*$/, 'may hold only letters, digits, ".", "_" and "-"').default('opentrail.'),
  /** Partitions of the topics a service creates when they do not exist. @default 6 */
  partitions: z.number().int().min(1).default(6),
  /** @default 1 */
  replicationFactor: z.number().int().min(1).default(1),
});

export const recordsSchema = z.strictObject({
  /**
   * Region names accepted in awsRegion beyond those AWS had opened when this version was released
   * (KNOWN_AWS_REGIONS of @opentrail/cloudtrail): a region opened since. The producer client takes
   * the same list (RecorderOptions.additionalRegions). @default []
   */
  additionalRegions: z.array(z.string().regex(/^[a-z]{2,}(?:-[a-z0-9]+)*-\d+[a-z]*$/, 'must be a region name such as us-east-1')).default([]),
});

export const httpSchema = z.strictObject({
  /** Port of /metrics, /healthz and /readyz. 0 picks a free port. @default 9464 */
  port: z.number().int().min(0).max(65535).default(9464),
  /** @default 0.0.0.0 */
  host: z.string().default('0.0.0.0'),
});

export const logSchema = z.strictObject({
  /** @default info */
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export const startSchema = z.strictObject({
  /**
   * How long a service may take to start: until then, failures that pass by themselves (a broker
   * electing leaders, a registry still booting) are retried and /readyz says what it waits for;
   * after it, the service exits (code 75) naming what it waited for. @default 300
   */
  deadlineSeconds: z.number().min(1).max(86_400).default(300),
});

export const awsSchema = z.strictObject({
  /** S3/KMS/SNS endpoint override (moto, MinIO, LocalStack); unset for AWS itself. */
  endpoint: z.url({ message: 'must be an http(s) URL' }).optional(),
  /** @default us-east-1 */
  region: z.string().default('us-east-1'),
  /** Path-style S3 addressing; on by default when an endpoint is set. */
  forcePathStyle: z.boolean().optional(),
});

/**
 * A service's membership in its consumer group (issue 17). A crashed instance's partitions move to
 * the others once the group has not heard from it for sessionTimeoutMs, and the others learn of the
 * move on their next heartbeat: a crash costs about session + heartbeat + a join. A planned stop
 * leaves the group at once. 6000 is the broker's minimum (group.min.session.timeout.ms).
 */
export const CONSUMER_GROUP_DEFAULTS = { heartbeatIntervalMs: 1000 } as const;

export const consumerGroupShape = {
  /**
   * The group drops a member it has not heard from for this long; its partitions then move.
   * @default the client's: 6000 on confluent (heartbeats from librdkafka's own thread), 30000 on
   * kafkajs (heartbeats from the event loop; 6000 got busy members evicted, bench/recovery.bench.ts)
   */
  sessionTimeoutMs: z.number().int().min(6000).max(300_000).optional(),
  /** How often a member tells the group it is alive, and how soon it learns of a rebalance. @default 1000 */
  heartbeatIntervalMs: z.number().int().min(100).max(60_000).default(CONSUMER_GROUP_DEFAULTS.heartbeatIntervalMs),
};

/** OPENTRAIL_<SERVICE>_SESSION_TIMEOUT_MS and OPENTRAIL_<SERVICE>_HEARTBEAT_INTERVAL_MS for a service's section of consumerGroupShape. */
export function consumerGroupBindings(section: string): EnvBinding[] {
  const env = `OPENTRAIL_${section.toUpperCase()}`;
  return [
    { env: `${env}_SESSION_TIMEOUT_MS`, path: `${section}.sessionTimeoutMs`, as: 'number' },
    { env: `${env}_HEARTBEAT_INTERVAL_MS`, path: `${section}.heartbeatIntervalMs`, as: 'number' },
  ];
}

/** What every service reads: how to reach Kafka and the registry, topic names, its HTTP port, its log level. */
/**
 * How a service retries what it sends to outside targets (webhooks, SNS): attempts with
 * exponential backoff and jitter, a per-attempt timeout, and a per-target circuit breaker. The
 * alerter and the notifier both take it as their `delivery` section (the notifier adds its own keys).
 */
export const deliveryPolicyShape = {
  /** Attempts after the first; then the notification is given up (dead-lettered where the service has a dead-letter topic). @default 5 */
  retries: z.number().int().min(0).max(20).default(5),
  /** First backoff; doubles per attempt, with jitter. @default 500 */
  initialDelayMs: z.number().int().min(1).default(500),
  /** @default 30000 */
  maxDelayMs: z.number().int().min(1).default(30_000),
  /** Per attempt. @default 10000 */
  timeoutMs: z.number().int().min(100).default(10_000),
  /** Consecutive failed attempts that open a target's circuit (it then fails fast). @default 5 */
  breakerFailures: z.number().int().min(1).default(5),
  /** How long an open circuit refuses attempts before one probe. @default 30000 */
  breakerResetMs: z.number().int().min(100).default(30_000),
};

export const commonShape = {
  kafka: kafkaSchema,
  schemaRegistry: schemaRegistrySchema,
  topics: topicsSchema.default({ prefix: 'opentrail.', partitions: 6, replicationFactor: 1 }),
  records: recordsSchema.default({ additionalRegions: [] }),
  http: httpSchema.default({ port: 9464, host: '0.0.0.0' }),
  log: logSchema.default({ level: 'info' }),
  start: startSchema.default({ deadlineSeconds: 300 }),
};

export const commonSchema = z.strictObject(commonShape);
export type CommonConfig = z.infer<typeof commonSchema>;
export type AwsConfig = z.infer<typeof awsSchema>;

export const commonBindings: EnvBinding[] = [
  { env: 'OPENTRAIL_KAFKA_BROKERS', path: 'kafka.brokers', as: 'list' },
  { env: 'OPENTRAIL_KAFKA_CLIENT_ID', path: 'kafka.clientId' },
  { env: 'OPENTRAIL_KAFKA_CLIENT', path: 'kafka.client' },
  { env: 'OPENTRAIL_INSTANCE_ID', path: 'kafka.instanceId' },
  { env: 'OPENTRAIL_KAFKA_SSL', path: 'kafka.ssl', as: 'boolean' },
  { env: 'OPENTRAIL_KAFKA_SASL_MECHANISM', path: 'kafka.sasl.mechanism' },
  { env: 'OPENTRAIL_KAFKA_SASL_USERNAME', path: 'kafka.sasl.username' },
  { env: 'OPENTRAIL_KAFKA_SASL_PASSWORD', path: 'kafka.sasl.password' },
  { env: 'OPENTRAIL_SCHEMA_REGISTRY_URL', path: 'schemaRegistry.url' },
  { env: 'OPENTRAIL_SCHEMA_REGISTRY_USERNAME', path: 'schemaRegistry.username' },
  { env: 'OPENTRAIL_SCHEMA_REGISTRY_PASSWORD', path: 'schemaRegistry.password' },
  { env: 'OPENTRAIL_TOPIC_PREFIX', path: 'topics.prefix' },
  { env: 'OPENTRAIL_TOPIC_PARTITIONS', path: 'topics.partitions', as: 'number' },
  { env: 'OPENTRAIL_TOPIC_REPLICATION_FACTOR', path: 'topics.replicationFactor', as: 'number' },
  { env: 'OPENTRAIL_ADDITIONAL_REGIONS', path: 'records.additionalRegions', as: 'list' },
  { env: 'OPENTRAIL_HTTP_PORT', path: 'http.port', as: 'number' },
  { env: 'OPENTRAIL_HTTP_HOST', path: 'http.host' },
  { env: 'OPENTRAIL_LOG_LEVEL', path: 'log.level' },
  { env: 'OPENTRAIL_START_DEADLINE_SECONDS', path: 'start.deadlineSeconds', as: 'number' },
];

/** For services that talk to S3, KMS or SNS. */
export const awsBindings: EnvBinding[] = [
  { env: 'OPENTRAIL_AWS_ENDPOINT', path: 'aws.endpoint' },
  { env: 'OPENTRAIL_AWS_REGION', path: 'aws.region' },
  { env: 'OPENTRAIL_AWS_FORCE_PATH_STYLE', path: 'aws.forcePathStyle', as: 'boolean' },
];

/** The topics of the pipeline, without the prefix (architecture.md, Data flow). */
export const TOPICS = {
  raw: 'events.raw',
  enriched: 'events.enriched',
  dlq: 'events.dlq',
  identities: 'identities',
  deliveries: 'deliveries',
  notifications: 'notifications',
  alerts: 'alerts',
  /** Trail records (compacted, key = trail name): the control plane's source of truth. */
  trails: 'trails',
  /** CloudTrail Lake event data stores (compacted, key = store ID): made through the API, followed by the lake service and the query API. */
  eventDataStores: 'eventdatastores',
  /** What the services did for each trail (deliveries, digests, notifications, their errors), for GetTrailStatus. */
  trailActivity: 'trails.activity',
  /** The notifier's dead letters (deliveries no target could take), apart from the pipeline's. */
  notificationDeadLetters: 'notifications.dlq',
  /** Each stateful service's state table (compacted, a partition per input partition): `<service>.state`. */
  archiverState: 'archiver.state',
  digesterState: 'digester.state',
  alerterState: 'alerter.state',
  /** The digest public keys (compacted, one partition): written by the digester, read by the API. */
  digestKeys: 'digester.keys',
} as const;

export type TopicName = keyof typeof TOPICS;

/** The full name of a pipeline topic (`enriched` → `opentrail.events.enriched`) or of any other topic. */
export function topicName(config: Pick<CommonConfig, 'topics'>, name: string): string {
  const base = (TOPICS as Record<string, string>)[name] ?? name;
  return `${config.topics.prefix}${base}`;
}
