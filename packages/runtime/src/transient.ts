import { createRequire } from 'node:module';

/**
 * Which failures pass by themselves. A service starting on a busy machine, beside a broker that is
 * electing leaders or a registry that is still booting, meets these for a while; the runtime waits
 * them out (startup.ts) and logs them below error level (kafka.ts). Everything else is a fault
 * that needs a person: a configuration mistake, an incompatible schema, a refused authentication.
 *
 * The answer is a condition name from a closed list (a metric label): the Kafka error type, or one
 * of CONNECTION, TIMEOUT, REGISTRY_UNAVAILABLE, AWS_UNAVAILABLE, DATABASE_UNAVAILABLE.
 */
export type TransientCondition = string;

/**
 * Kafka error types a client may retry, named in both Kafka's and kafkajs's spelling. kafkajs marks
 * most of them `retriable`, but not CONCURRENT_TRANSACTIONS (the broker expects a retry all the
 * same) nor the coordinator moves it handles itself.
 */
const KAFKA_TRANSIENT_TYPES = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'REQUEST_TIMED_OUT',
  'REPLICA_NOT_AVAILABLE',
  'NETWORK_EXCEPTION',
  'GROUP_LOAD_IN_PROGRESS',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR_FOR_GROUP',
  'NOT_COORDINATOR',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'NOT_CONTROLLER',
  'CONCURRENT_TRANSACTIONS',
  'REBALANCE_IN_PROGRESS',
  'KAFKA_STORAGE_ERROR',
  'FETCH_SESSION_ID_NOT_FOUND',
  'INVALID_FETCH_SESSION_EPOCH',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'OFFSET_NOT_AVAILABLE',
  'PREFERRED_LEADER_NOT_AVAILABLE',
  'ELIGIBLE_LEADERS_NOT_AVAILABLE',
  'UNSTABLE_OFFSET_COMMIT',
  'THROTTLING_QUOTA_EXCEEDED',
]);

interface KafkaErrorCode {
  type: string;
  message: string;
  retriable: boolean;
}

/**
 * kafkajs's table of Kafka error codes (not part of its typed API, hence the require): its log
 * lines carry only an error's message, and this maps the message back to the type.
 */
const KAFKA_ERROR_CODES = (createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as { errorCodes: KafkaErrorCode[] }).errorCodes;
const TRANSIENT_BY_MESSAGE = new Map(KAFKA_ERROR_CODES.filter((e) => KAFKA_TRANSIENT_TYPES.has(e.type) || e.retriable).map((e) => [e.message, e.type]));

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

interface ErrorLike {
  name?: string;
  message?: string;
  type?: string;
  code?: string | number;
  status?: number;
  retriable?: boolean;
  canRetry?: boolean;
  cause?: unknown;
  errors?: unknown[];
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** The transient condition behind an error (searching its causes), or undefined for a fault. */
export function transientCondition(error: unknown, depth = 0): TransientCondition | undefined {
  if (!error || typeof error !== 'object' || depth > 8) return undefined;
  const e = error as ErrorLike;
  // An explicit verdict wins: SerdeError and the services' own errors say whether to retry.
  if (e.canRetry === false) return undefined;
  if (e.type && KAFKA_TRANSIENT_TYPES.has(e.type)) return e.type;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return 'CONNECTION';
  if (e.name === 'KafkaJSConnectionError' || e.name === 'KafkaJSConnectionClosedError' || e.name === 'KafkaJSBrokerNotFound') return 'CONNECTION';
  if (e.name === 'KafkaJSRequestTimeoutError' || e.name === 'KafkaJSMetadataNotLoaded' || e.name === 'KafkaJSTopicMetadataNotLoaded' || e.name === 'KafkaJSLockTimeout') return 'TIMEOUT';
  if (e.name === 'KafkaJSGroupCoordinatorNotFound') return 'COORDINATOR_NOT_AVAILABLE';
  // A schema registry answering 5xx, or not answering: the registry client's errors carry a status.
  if (e.name === 'ResponseError' || e.name === 'ConfluentSchemaRegistryError') {
    if (e.status === undefined || e.status >= 500 || e.status === 429 || e.status === 408) return 'REGISTRY_UNAVAILABLE';
  }
  if (e.name === 'SerdeError' && e.code === 'REGISTRY_UNAVAILABLE') return 'REGISTRY_UNAVAILABLE';
  // The AWS SDK marks what it would retry itself; a 5xx or throttling from S3, KMS or SNS passes.
  if (e.$metadata !== undefined && (e.$retryable !== undefined || (e.$metadata.httpStatusCode ?? 0) >= 500)) return 'AWS_UNAVAILABLE';
  // PostgreSQL: starting up (57P03), shutting down / cannot connect now (57P01, 08xxx), too many clients (53300).
  if (typeof e.code === 'string' && /^(57P0[1-3]|08\d{3}|53300)$/.test(e.code)) return 'DATABASE_UNAVAILABLE';
  const byMessage = e.message ? transientConditionOfMessage(e.message) : undefined;
  if (byMessage) return byMessage;
  if (e.retriable === true) return e.type ?? 'KAFKA_RETRIABLE';
  for (const inner of [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const found = transientCondition(inner, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * The transient condition a log line or error message names: a retriable Kafka error's message,
 * or a connection failure. kafkajs logs most responses as text only ("Response InitProducerId …"
 * with `error: <message>`).
 */
export function transientConditionOfMessage(message: string): TransientCondition | undefined {
  const exact = TRANSIENT_BY_MESSAGE.get(message);
  if (exact) return exact;
  for (const [text, type] of TRANSIENT_BY_MESSAGE) if (message.includes(text)) return type;
  if (/ECONNREFUSED|ECONNRESET|Connection error|Connection timeout|Closed connection|Failed to connect to broker|socket hang up/i.test(message)) return 'CONNECTION';
  // librdkafka's spelling (the confluent client): its log lines ("Connect to ipv4#127.0.0.1:9092
  // failed: Connection refused", "Receive failed: Disconnected") and errors ("Local: Broker transport
  // failure", "Local: All broker connections are down") while a broker starts or restarts.
  if (/Connection refused|Broker transport failure|All broker connections are down|failed: Disconnected|Disconnected while requesting/i.test(message)) return 'CONNECTION';
  return undefined;
}
