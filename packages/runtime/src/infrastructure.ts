import { OpentrailError } from '@opentrail/errors';

/**
 * Which failures are the infrastructure's (retry: the same work succeeds once Kafka, the registry,
 * S3, KMS, SNS or the network are back) and which are tied to the data (retrying fails the same way
 * for ever: the record is dead-lettered instead). issue 19, class 2: only infrastructure failures retry.
 *
 * When in doubt the answer is "infrastructure": a data failure taken for an outage stalls one
 * partition, visibly (lag, errors metric); an outage taken for a data failure would dead-letter
 * every record read while it lasts.
 */

/** Thrown (or wrapped) by a service for a failure of something it depends on: the work is retried, never dead-lettered. */
export class InfrastructureError extends OpentrailError<'INFRASTRUCTURE'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INFRASTRUCTURE', message, { cause: options?.cause, canRetry: true });
  }
}

/** Node's system error codes for a network or resource failure (net, dns, undici). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTCONN',
  'ESOCKETTIMEDOUT',
  'EMFILE',
  'ENFILE',
  'ENOMEM',
  'ENOSPC',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/** AWS error names that a 4xx status carries for a condition of the service, not of the request (throttling, clocks, credentials). */
const AWS_TRANSIENT_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'SlowDown',
  'RequestTimeout',
  'RequestTimeoutException',
  'RequestTimeTooSkewed',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'TimeoutError',
  'KMSInternalException',
  'KeyUnavailableException',
  'DependencyTimeoutException',
  'InternalFailure',
  'ServiceUnavailable',
]);

/** HTTP statuses that say the request itself is wrong: only these make an AWS error one of the data. */
const AWS_REQUEST_STATUSES = new Set([400, 413, 414, 422]);

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  syscall?: unknown;
  canRetry?: unknown;
  retriable?: unknown;
  $retryable?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  cause?: unknown;
  originalError?: unknown;
  lastError?: unknown;
  errors?: unknown;
}

/** Whether `err` (or an error it wraps) is a failure of the infrastructure; see the module comment. */
export function isInfrastructureError(err: unknown): boolean {
  // Breadth-first over what the error wraps, bounded: error chains are data too.
  const queue: unknown[] = [err];
  for (let seen = 0; seen < queue.length && seen < 16; seen++) {
    const e = queue[seen];
    if (e === null || typeof e !== 'object') continue;
    if (e instanceof InfrastructureError || isInfrastructureShape(e)) return true;
    const shape = e as ErrorShape;
    for (const inner of [shape.cause, shape.originalError, shape.lastError]) if (inner !== undefined) queue.push(inner);
    if (Array.isArray(shape.errors)) queue.push(...shape.errors.slice(0, 8));
  }
  return false;
}

function isInfrastructureShape(e: ErrorShape): boolean {
  const name = typeof e.name === 'string' ? e.name : '';
  // The project's own convention (SerdeError and others): canRetry says whether a retry can help.
  if (e.canRetry === true) return true;
  // kafkajs: every error of the client is about Kafka (connections, coordinators, fencing,
  // exhausted retries), none about the record being processed.
  if (name.startsWith('KafkaJS') || e.retriable === true) return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (typeof e.syscall === 'string') return true;
  if (name === 'AbortError' || name === 'TimeoutError') return true;
  // AWS SDK v3 service exceptions.
  if (e.$retryable !== undefined && e.$retryable !== null) return true;
  if (e.$metadata !== undefined) {
    if (AWS_TRANSIENT_NAMES.has(name) || e.$fault === 'server') return true;
    const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
    // No status: the request never got an answer. 403/404 and the like: the bucket, key or topic
    // is missing or forbidden, which is configuration, not this record.
    return status === undefined || !AWS_REQUEST_STATUSES.has(status);
  }
  return false;
}
