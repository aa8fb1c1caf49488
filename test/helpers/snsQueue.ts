import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { AwsClients } from '@opentrail/aws';
import type { Cleanups } from './cleanup.js';
import { stackEndpoints } from './env.js';

/** AWS clients on the stack's moto (us-east-1), destroyed after the test. */
export function testAws(cleanups: Cleanups): AwsClients {
  const aws = new AwsClients({ endpoint: stackEndpoints().awsEndpoint, region: 'us-east-1' });
  cleanups.push(() => aws.destroy());
  return aws;
}

/**
 * An SNS topic named `name` and an SQS queue of the same name subscribed to it: what a service
 * publishes to the topic, the test reads from the queue (moto's SNS delivers nowhere else).
 */
export async function snsTopicWithQueue(aws: AwsClients, name: string): Promise<{ TopicArn: string; QueueUrl: string }> {
  const { TopicArn } = await aws.sns.send(new CreateTopicCommand({ Name: name }));
  const { QueueUrl } = await aws.sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await aws.sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes!.QueueArn! }));
  return { TopicArn: TopicArn!, QueueUrl: QueueUrl! };
}
