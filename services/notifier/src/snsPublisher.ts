import { PublishCommand, type MessageAttributeValue, type SNSClient } from '@aws-sdk/client-sns';
import { backoffDelay, sleep } from '@opentrail/runtime';
import { CircuitBreaker, type BreakerState } from '@opentrail/webhooks';
import type { SendResult } from './sendResult.js';

export interface SnsPublisherOptions {
  client: SNSClient;
  topicArn: string;
  retries: number;
  initialDelayMs: number;
  maxDelayMs: number;
  breakerFailures: number;
  breakerResetMs: number;
  signal: AbortSignal;
  /** After every failed attempt: its result (HTTP status or error name) and number. */
  onFailedAttempt?: (result: string, attempt: number) => void;
}

/** SNS message attribute with the notification's idempotency key (SNS envelope, not part of CloudTrail's Message). */
export const NOTIFICATION_ID_ATTRIBUTE = 'opentrail.notificationId';

interface SdkError {
  name?: string;
  /** The query protocol's error code (NotFound, AuthorizationError), which GetTrailStatus shows. */
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Throttling, 5xx and errors without an HTTP answer (connection refused, reset, timeout) can heal; other 4xx (no such topic, refused message) cannot. */
function canRetry(error: SdkError): boolean {
  const status = error.$metadata?.httpStatusCode;
  if (status === undefined) return true;
  return status >= 500 || status === 429 || /Throttl/i.test(error.name ?? '');
}

/**
 * Publishes CloudTrail messages to one SNS topic with the same discipline as the webhooks: retries
 * with exponential backoff and jitter for failures that can heal, and a circuit breaker so a topic
 * that is unreachable costs one fast failure per message instead of a full retry schedule.
 */
export class SnsPublisher {
  private readonly breaker: CircuitBreaker;
  private readonly fifo: boolean;

  constructor(private readonly options: SnsPublisherOptions) {
    this.breaker = new CircuitBreaker({ failureThreshold: options.breakerFailures, resetAfterMs: options.breakerResetMs });
    this.fifo = options.topicArn.endsWith('.fifo');
  }

  get breakerState(): BreakerState {
    return this.breaker.state;
  }

  async publish(message: string, id: string, trailName: string): Promise<SendResult> {
    const { options } = this;
    const attributes: Record<string, MessageAttributeValue> = { [NOTIFICATION_ID_ATTRIBUTE]: { DataType: 'String', StringValue: id } };
    const command = new PublishCommand({
      TopicArn: options.topicArn,
      Message: message,
      MessageAttributes: attributes,
      // FIFO topics need a group (a trail's notifications stay in order) and de-duplicate by the key themselves.
      ...(this.fifo ? { MessageGroupId: trailName, MessageDeduplicationId: id } : {}),
    });
    let attempt = 0;
    for (;;) {
      if (options.signal.aborted) return { ok: false, aborted: true, attempts: attempt, code: 'ABORTED', detail: 'stopping' };
      if (!this.breaker.tryAcquire()) {
        return { ok: false, aborted: false, attempts: attempt, code: 'CIRCUIT_OPEN', detail: `circuit open for ${options.topicArn} after repeated failures; next probe in ${this.breaker.retryInMs()} ms` };
      }
      attempt++;
      try {
        await options.client.send(command, { abortSignal: options.signal });
        this.breaker.onSuccess();
        return { ok: true, attempts: attempt };
      } catch (err) {
        const error = err as SdkError;
        if (options.signal.aborted) return { ok: false, aborted: true, attempts: attempt, code: 'ABORTED', detail: 'stopping' };
        this.breaker.onFailure();
        const status = error.$metadata?.httpStatusCode;
        options.onFailedAttempt?.(status ? String(status) : (error.name ?? 'Error'), attempt);
        const detail = `SNS ${options.topicArn}: ${error.name ?? 'Error'}: ${error.message ?? ''}`.trim();
        if (!canRetry(error) || attempt > options.retries) return { ok: false, aborted: false, attempts: attempt, code: error.name ?? 'SNS_ERROR', detail, targetCode: error.Code ?? error.name ?? 'SNS_ERROR' };
        await sleep(backoffDelay(attempt, options.initialDelayMs, options.maxDelayMs), options.signal);
      }
    }
  }
}
