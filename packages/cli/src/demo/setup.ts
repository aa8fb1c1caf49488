import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { AwsClients } from '@opentrail/aws';
import type { StackEndpoints } from '@opentrail/stack';

/** The AWS resources the demo trail uses, created in the stack's S3/SNS/SQS server. */
export interface DemoResources {
  bucket: string;
  deliveryTopicArn: string;
  deliveryQueueUrl: string;
  alertTopicArn: string;
}

export const DEMO_ACCOUNT = '123456789012';

export async function prepareDemoResources(endpoints: StackEndpoints): Promise<DemoResources> {
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  const aws = new AwsClients({ endpoint: endpoints.awsEndpoint, region: 'us-east-1' });
  try {
    const bucket = 'opentrail-demo-logs';
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((err: Error) => {
      if (!/BucketAlready/.test(err.name)) throw err;
    });
    const deliveryTopic = await aws.sns.send(new CreateTopicCommand({ Name: 'opentrail-demo-deliveries' }));
    const alertTopic = await aws.sns.send(new CreateTopicCommand({ Name: 'opentrail-demo-alerts' }));
    // An SQS queue subscribed to the delivery topic shows the CloudTrail SNS messages arriving.
    const queue = await aws.sqs.send(new CreateQueueCommand({ QueueName: 'opentrail-demo-deliveries' }));
    const attributes = await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }));
    await aws.sns.send(new SubscribeCommand({ TopicArn: deliveryTopic.TopicArn, Protocol: 'sqs', Endpoint: attributes.Attributes!.QueueArn }));
    return { bucket, deliveryTopicArn: deliveryTopic.TopicArn!, deliveryQueueUrl: queue.QueueUrl!, alertTopicArn: alertTopic.TopicArn! };
  } finally {
    aws.destroy();
  }
}

/**
 * The one configuration file every service of the demo reads: shared connection settings, the
 * demo trail, and each service's section. Short intervals so that everything shows within minutes.
 */
export function demoConfig(endpoints: StackEndpoints, resources: DemoResources): Record<string, unknown> {
  return {
    kafka: { brokers: endpoints.kafkaBrokers.split(',') },
    schemaRegistry: { url: endpoints.schemaRegistryUrl },
    topics: { prefix: 'opentrail.', partitions: 3 },
    aws: { endpoint: endpoints.awsEndpoint, region: 'us-east-1' },
  };
}
