import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateKeyCommand, DecryptCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { CreateTopicCommand, PublishCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { AwsClients } from '@opentrail/aws';
import { stackEndpoints } from '../helpers/env.js';

process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

describe('the S3/KMS/SNS server of the stack (moto)', () => {
  const aws = new AwsClients({ endpoint: stackEndpoints().awsEndpoint, region: 'us-east-1' });

  it('stores and returns S3 objects with user metadata', async () => {
    const bucket = `smoke-${Date.now()}`;
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/b.json', Body: Buffer.from('{"x":1}'), Metadata: { signature: 'abc' } }));
    const got = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'a/b.json' }));
    expect(await got.Body!.transformToString()).toBe('{"x":1}');
    expect(got.Metadata).toEqual({ signature: 'abc' });
  });

  it('issues KMS data keys that decrypt back', async () => {
    const key = await aws.kms.send(new CreateKeyCommand({}));
    const dataKey = await aws.kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyMetadata!.KeyId, KeySpec: 'AES_256' }));
    const plain = await aws.kms.send(new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob }));
    expect(Buffer.from(plain.Plaintext!)).toEqual(Buffer.from(dataKey.Plaintext!));
  });

  it('delivers SNS messages to an SQS subscription', async () => {
    const topic = await aws.sns.send(new CreateTopicCommand({ Name: `smoke-${Date.now()}` }));
    const queue = await aws.sqs.send(new CreateQueueCommand({ QueueName: `smoke-${Date.now()}` }));
    const attrs = await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }));
    await aws.sns.send(new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: 'sqs', Endpoint: attrs.Attributes!.QueueArn }));
    await aws.sns.send(new PublishCommand({ TopicArn: topic.TopicArn, Message: '{"s3Bucket":"b"}' }));
    const received = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.QueueUrl, WaitTimeSeconds: 2 }));
    expect(JSON.parse(JSON.parse(received.Messages![0]!.Body!).Message)).toEqual({ s3Bucket: 'b' });
  });
});
