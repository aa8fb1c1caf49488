import { PublishCommand, type MessageAttributeValue, type SNSClient } from '@aws-sdk/client-sns';
import { classifySnsError, OutboundChannel, type BreakerState, type OutboundAttemptInfo, type OutboundObserver, type OutboundPolicy, type OutboundResult } from '@opentrail/webhooks';

export interface SnsPublisherOptions {
  client: SNSClient;
  topicArn: string;
  /** The notifier's delivery policy (config `notifier.delivery`). */
  policy: Partial<OutboundPolicy>;
  signal: AbortSignal;
  observer?: OutboundObserver;
  /** After every failed attempt: its result (HTTP status or error code) and number. */
  onFailedAttempt?: (result: string, attempt: number) => void;
}

/** SNS message attribute with the notification's idempotency key (SNS envelope, not part of CloudTrail's Message). */
export const NOTIFICATION_ID_ATTRIBUTE = 'opentrail.notificationId';

/**
 * Publishes CloudTrail messages to one SNS topic through an OutboundChannel (retries, breaker,
 * budget and deadline as for the webhooks). What is SNS's own here: the message attributes and,
 * for a FIFO topic, the message group and de-duplication id.
 */
export class SnsPublisher {
  private readonly channel: OutboundChannel<PublishCommand>;
  private readonly fifo: boolean;

  constructor(private readonly options: SnsPublisherOptions) {
    this.fifo = options.topicArn.endsWith('.fifo');
    const { client, topicArn, onFailedAttempt } = options;
    this.channel = new OutboundChannel<PublishCommand>({
      destination: `sns:${topicArn}`,
      send: async (command, signal) => {
        await client.send(command, { abortSignal: signal });
      },
      classify: (err) => classifySnsError(topicArn, err),
      policy: options.policy,
      signal: options.signal,
      ...(options.observer ? { observer: options.observer } : {}),
      ...(onFailedAttempt ? { onAttempt: (a: OutboundAttemptInfo<PublishCommand>) => a.error && onFailedAttempt(a.status !== undefined ? String(a.status) : a.error.code, a.attempt) } : {}),
    });
  }

  get breakerState(): BreakerState {
    return this.channel.breakerState;
  }

  publish(message: string, id: string, trailName: string): Promise<OutboundResult> {
    const attributes: Record<string, MessageAttributeValue> = { [NOTIFICATION_ID_ATTRIBUTE]: { DataType: 'String', StringValue: id } };
    return this.channel.deliver(
      new PublishCommand({
        TopicArn: this.options.topicArn,
        Message: message,
        MessageAttributes: attributes,
        // FIFO topics need a group (a trail's notifications stay in order) and de-duplicate by the key themselves.
        ...(this.fifo ? { MessageGroupId: trailName, MessageDeduplicationId: id } : {}),
      }),
    );
  }
}
