import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Logger } from '@opentrail/observability';
import { deadLetterMessage, failureDetail, InfrastructureError, retry, type BatchContext, type InputRecord, type OutputMessage, type PartitionHandler, type RecordDeadLetter, type TopicPartition } from '@opentrail/runtime';
import type { Alert } from '@opentrail/serde';
import { WebhookSender, targetName, type WebhookTarget } from '@opentrail/webhooks';
import { alertJson, atLeast } from './alert.js';
import type { AlerterMetrics } from './metrics.js';

export interface AlertOutputsOptions {
  webhooks: (WebhookTarget & { minSeverity: string })[];
  sns?: { client: SNSClient; topicArn: string; minSeverity: string };
  delivery: { retries: number; initialDelayMs: number; maxDelayMs: number; timeoutMs: number; breakerFailures: number; breakerResetMs: number };
  deadLetterTopic: string;
  /** The alert's bytes as on the alerts topic, for its dead letter. */
  encode: (alert: Alert) => Buffer;
  logger: Logger;
  metrics: AlerterMetrics;
  signal?: AbortSignal;
}

/**
 * Sends each committed alert to the webhooks and the SNS topic. It reads the alerts topic (only
 * committed alerts, in its own consumer group) so that a notification never announces an alert a
 * crash took back. Delivery is at least once, and every message carries the alert id
 * (`webhook-id`, SNS attribute `alertId`) for receivers to drop repeats. An alert an output gives up
 * on is dead-lettered with the reason, and the next alert goes on.
 */
export class AlertOutputs implements PartitionHandler<Alert> {
  private readonly sender: WebhookSender;

  constructor(private readonly options: AlertOutputsOptions) {
    const { delivery, metrics } = options;
    this.sender = new WebhookSender({
      retries: delivery.retries,
      initialDelayMs: delivery.initialDelayMs,
      maxDelayMs: delivery.maxDelayMs,
      timeoutMs: delivery.timeoutMs,
      breaker: { failureThreshold: delivery.breakerFailures, resetAfterMs: delivery.breakerResetMs },
      ...(options.signal ? { signal: options.signal } : {}),
      onAttempt: (a) => metrics.webhookAttempts.inc({ target: a.target, result: a.error ? (a.status ? String(a.status) : a.error.code) : String(a.status) }),
    });
  }

  async processBatch(records: InputRecord<Alert>[], context: BatchContext) {
    const outputs: OutputMessage[] = [];
    const deadLetters: RecordDeadLetter[] = [];
    // kafkajs heartbeats only when asked: retries to a slow receiver (timeouts, backoff) can outlast
    // the session timeout, and losing the group membership would only redeliver the same alerts.
    const keepAlive = setInterval(() => void context.heartbeat().catch(() => undefined), 3_000);
    try {
      await this.deliverAll(records, context, outputs, deadLetters);
    } finally {
      clearInterval(keepAlive);
    }
    return deadLetters.length > 0 ? { outputs, deadLetters } : { outputs };
  }

  private async deliverAll(records: InputRecord<Alert>[], context: BatchContext, outputs: OutputMessage[], deadLetters: RecordDeadLetter[]): Promise<void> {
    for (const record of records) {
      const alert = record.value;
      let body: string;
      try {
        body = alertJson(alert);
      } catch (err) {
        // An alert that cannot be written as JSON (issue 19, class 2) is set aside; the others go out.
        deadLetters.push({ record, reason: 'FORMATTING_FAILED', detail: failureDetail(err) });
        this.options.logger.warn({ err, alertId: alert.alertId, partition: record.partition, offset: record.offset }, 'an alert cannot be formatted for its outputs: dead-lettered');
        continue;
      }
      const deliveries: Promise<void>[] = [];
      for (const target of this.options.webhooks) {
        if (!atLeast(alert.severity, target.minSeverity)) continue;
        deliveries.push(this.webhook(target, alert, body, record, context, outputs));
      }
      const sns = this.options.sns;
      if (sns && atLeast(alert.severity, sns.minSeverity)) deliveries.push(this.publish(sns, alert, body, record, context, outputs));
      await Promise.all(deliveries);
    }
  }

  private async webhook(target: WebhookTarget, alert: Alert, body: string, record: InputRecord<Alert>, context: TopicPartition, outputs: OutputMessage[]): Promise<void> {
    const outcome = await this.sender.send(target, { id: alert.alertId, body });
    const name = targetName(target);
    this.options.metrics.webhookDeliveries.inc({ target: name, outcome: outcome.ok ? 'sent' : 'failed' });
    if (outcome.ok) return;
    if (outcome.error?.code === 'ABORTED') throw new InfrastructureError('stopping: the delivery is retried by the next owner');
    this.deadLetter('webhook', `webhook ${name}: ${outcome.error?.message ?? 'failed'} after ${outcome.attempts} attempt(s)`, alert, record, context, outputs);
  }

  private async publish(sns: NonNullable<AlertOutputsOptions['sns']>, alert: Alert, body: string, record: InputRecord<Alert>, context: TopicPartition, outputs: OutputMessage[]): Promise<void> {
    const { delivery, metrics } = this.options;
    try {
      await retry(
        () =>
          sns.client.send(
            new PublishCommand({
              TopicArn: sns.topicArn,
              // SNS subjects are at most 100 characters.
              Subject: `[${alert.severity}] ${alert.title}`.replace(/[\r\n]/g, ' ').slice(0, 100),
              Message: body,
              MessageAttributes: {
                alertId: { DataType: 'String', StringValue: alert.alertId },
                ruleId: { DataType: 'String', StringValue: alert.ruleId },
                severity: { DataType: 'String', StringValue: alert.severity },
              },
            }),
          ),
        {
          retries: delivery.retries,
          initialDelayMs: delivery.initialDelayMs,
          maxDelayMs: delivery.maxDelayMs,
          ...(this.options.signal ? { signal: this.options.signal } : {}),
          // 4xx from SNS (a missing topic, a refused message) will not heal with time.
          shouldRetry: (e) => ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 500) >= 500 || (e as { name?: string }).name === 'ThrottlingException',
        },
      );
      metrics.snsPublished.inc({ outcome: 'sent' });
    } catch (err) {
      metrics.snsPublished.inc({ outcome: 'failed' });
      if (this.options.signal?.aborted) throw new InfrastructureError('stopping: the delivery is retried by the next owner');
      this.deadLetter('sns', `SNS ${sns.topicArn}: ${(err as Error).message}`, alert, record, context, outputs);
    }
  }

  private deadLetter(output: 'webhook' | 'sns', detail: string, alert: Alert, record: InputRecord<Alert>, context: TopicPartition, outputs: OutputMessage[]): void {
    this.options.metrics.deadLettered.inc({ output });
    this.options.logger.error({ alertId: alert.alertId, ruleId: alert.ruleId, output, detail }, 'alert delivery failed; dead-lettered');
    outputs.push({
      topic: this.options.deadLetterTopic,
      ...deadLetterMessage({ key: record.key, value: this.options.encode(alert), headers: record.headers, offset: record.offset, timestamp: record.timestamp }, { topic: context.topic, partition: context.partition, service: 'alerter' }, { reason: 'DELIVERY_FAILED', detail }),
    });
  }
}
