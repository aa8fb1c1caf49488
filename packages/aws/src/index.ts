import { KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { AwsConfig } from '@opentrail/config';

/**
 * The AWS SDK clients a service uses, built from the `aws` configuration section: the endpoint
 * override for moto/MinIO/LocalStack (with path-style S3 addressing, since `bucket.127.0.0.1`
 * does not resolve), the region, and the SDK's default credential chain.
 */
export class AwsClients {
  private s3Client?: S3Client;
  private kmsClient?: KMSClient;
  private snsClient?: SNSClient;
  private sqsClient?: SQSClient;

  constructor(readonly config: AwsConfig) {}

  private get common() {
    return {
      region: this.config.region,
      ...(this.config.endpoint ? { endpoint: this.config.endpoint } : {}),
      // The SDK retries throttling and 5xx itself; services add their own patient retry on top.
      maxAttempts: 3,
    };
  }

  get s3(): S3Client {
    return (this.s3Client ??= new S3Client({
      ...this.common,
      forcePathStyle: this.config.forcePathStyle ?? this.config.endpoint !== undefined,
      // Checksums only where S3 requires them: stream bodies then stay plain (not aws-chunked),
      // which every S3-compatible server handles (local-stack.md §3.5).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }));
  }

  get kms(): KMSClient {
    return (this.kmsClient ??= new KMSClient(this.common));
  }

  get sns(): SNSClient {
    return (this.snsClient ??= new SNSClient(this.common));
  }

  get sqs(): SQSClient {
    return (this.sqsClient ??= new SQSClient(this.common));
  }

  destroy(): void {
    for (const client of [this.s3Client, this.kmsClient, this.snsClient, this.sqsClient]) client?.destroy();
  }
}

/** Creates a bucket unless it exists (createBuckets: local stacks and demos). */
export async function ensureBucket(s3: S3Client, bucket: string, region: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 404 && (err as Error).name !== 'NotFound') throw err;
  }
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket, ...(region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: region as never } } : {}) }));
  } catch (err) {
    // Another instance may create it first.
    if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes((err as Error).name)) throw err;
  }
}
