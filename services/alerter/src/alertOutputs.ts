import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Logger } from '@opentrail/observability';
import { deadLetterMessage, failureDetail, InfrastructureError, type BatchContext, type InputRecord, type OutputMessage, type PartitionHandler, type RecordDeadLetter, type TopicPartition } from '@opentrail/runtime';
import type { Alert } from '@opentrail/serde';
import { classifySnsError, deadLetterReason, OutboundChannel, WebhookSender, targetName, type OutboundPolicy, type WebhookTarget } from '@opentrail/webhooks';
import { alertJson, atLeast } from './alert.js';
import type { AlerterMetrics } from './metrics.js';

export interface AlertOutputsOptions {
  webhooks: (WebhookTarget & { minSeverity: string })[];
  sns?: { client: SNSClient; topicArn: string; minSeverity: string };
  /** The alerter's delivery policy (config `alerter.delivery`), per output: each webhook and the SNS topic has its own breaker and retry budget. */
  delivery: Partial<OutboundPolicy>;
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
  private readonly sns: OutboundChannel<PublishCommand> | undefined;

  constructor(private readonly options: AlertOutputsOptions) {
    const { delivery, metrics, sns } = options;
    const signal = options.signal ? { signal: options.signal } : {};
    const observer = metrics.outbound;
    this.sender = new WebhookSender({
      ...delivery,
      ...signal,
      observer,
      onAttempt: (a) => metrics.webhookAttempts.inc({ target: a.target, result: a.error ? (a.status ? String(a.status) : a.error.code) : String(a.status) }),
    });
    if (sns) {
      this.sns = new OutboundChannel<PublishCommand>({
        destination: `sns:${sns.topicArn}`,
        send: async (command, attemptSignal) => {
          await sns.client.send(command, { abortSignal: attemptSignal });
        },
        classify: (err) => classifySnsError(sns.topicArn, err),
        policy: delivery,
        ...signal,
        observer,
      });
    }
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
      if (this.sns && sns && atLeast(alert.severity, sns.minSeverity)) deliveries.push(this.publish(this.sns, alert, body, record, context, outputs));
      await Promise.all(deliveries);
    }
  }

  private async webhook(target: WebhookTarget, alert: Alert, body: string, record: InputRecord<Alert>, context: TopicPartition, outputs: OutputMessage[]): Promise<void> {
    const outcome = await this.sender.send(target, { id: alert.alertId, body });
    const name = targetName(target);
    this.options.metrics.webhookDeliveries.inc({ target: name, outcome: outcome.ok ? 'sent' : 'failed' });
    if (outcome.ok || !outcome.error) return;
    if (outcome.error.code === 'ABORTED') throw new InfrastructureError('stopping: the delivery is retried by the next owner');
    this.deadLetter('webhook', deadLetterReason(`webhook ${name}`, { ok: false, aborted: false, attempts: outcome.attempts, error: outcome.error }).detail, alert, record, context, outputs);
  }

  private async publish(channel: OutboundChannel<PublishCommand>, alert: Alert, body: string, record: InputRecord<Alert>, context: TopicPartition, outputs: OutputMessage[]): Promise<void> {
    const result = await channel.deliver(
      new PublishCommand({
        TopicArn: this.options.sns!.topicArn,
        // SNS subjects are at most 100 characters.
        Subject: `[${alert.severity}] ${alert.title}`.replace(/[\r\n]/g, ' ').slice(0, 100),
        Message: body,
        MessageAttributes: {
          alertId: { DataType: 'String', StringValue: alert.alertId },
          ruleId: { DataType: 'String', StringValue: alert.ruleId },
          severity: { DataType: 'String', StringValue: alert.severity },
        },
      }),
    );
    this.options.metrics.snsPublished.inc({ outcome: result.ok ? 'sent' : 'failed' });
    if (result.ok) return;
    if (result.aborted) throw new InfrastructureError('stopping: the delivery is retried by the next owner');
    // The error names the topic already (`SNS <arn>: <SDK error>`).
    this.deadLetter('sns', deadLetterReason('sns', result).detail, alert, record, context, outputs);
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
