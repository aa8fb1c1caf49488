/** What a new notification target needs before its processor starts: its group's first offsets, its SNS topic. */
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import type { AwsClients } from '@opentrail/aws';
import type { Logger } from '@opentrail/observability';
import type { KafkaClient } from '@opentrail/runtime';
import type { NotifierConfig } from './config.js';

/**
 * A target's consumer group that has never committed starts at the end of the deliveries topic
 * (newTargetsStartAt: latest): adding a target announces what is delivered from then on, not the
 * topic's whole history. The runtime's consumer otherwise starts from the beginning.
 */
export async function initialiseGroup(kafka: KafkaClient, groupId: string, topic: string, startAt: NotifierConfig['newTargetsStartAt'], logger: Logger): Promise<void> {
  if (startAt === 'earliest') return;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    if (committed?.partitions.some((p) => p.offset !== '-1')) return;
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({ groupId, topic, partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })) });
    logger.info({ groupId, offsets: ends.map((e) => e.high) }, 'new target: starting at the end of the deliveries topic');
  } catch (err) {
    // Another instance starting at the same time joined first and owns the group's offsets.
    logger.warn({ err, groupId }, 'could not initialise the offsets of a new target group; it starts where the group is');
  } finally {
    await admin.disconnect();
  }
}

/** Creates a trail's SNS topic if missing (notifier.sns.createTopics: local stacks and demos). */
export async function createSnsTopic(aws: AwsClients, topicArn: string, logger: Logger): Promise<void> {
  const name = topicArn.split(':')[5]!;
  const fifo = name.endsWith('.fifo');
  const { TopicArn } = await aws.sns.send(new CreateTopicCommand({ Name: name, ...(fifo ? { Attributes: { FifoTopic: 'true' } } : {}) }));
  if (TopicArn !== topicArn) logger.warn({ configured: topicArn, created: TopicArn }, 'the SNS topic was created under another ARN (account or region differ); notifications go to the configured ARN');
}
