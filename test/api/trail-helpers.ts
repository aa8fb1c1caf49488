import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, PutBucketPolicyCommand, type S3Client } from '@aws-sdk/client-s3';
import { AwsClients } from '@opentrail/aws';
import { serviceEnv, stackEndpoints, uniquePrefix } from '../helpers/env.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The trail operations' tests: an API process of the test's own (own topic prefix, no configured
 * trails, one access key acting for ACCOUNT), and buckets on moto with CloudTrail's bucket policy.
 */
// moto takes any credentials; the SDK wants some.
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
export const KEY = { id: 'AKIATRAILOPSTEST01', secret: 'trail-ops-test-secret' };
export const ORGANIZATION = 'o-trailopstest1';

export interface TrailApi {
  /** The topic prefix: another API started with it shares the trails topic. */
  prefix: string;
  service: ServiceProcess;
  url: string;
  stop(): Promise<void>;
}

export async function startTrailApi(extra: Record<string, string> = {}, prefix = uniquePrefix('trailops')): Promise<TrailApi> {
  const service = await startService(
    'api',
    serviceEnv(prefix, {
      OPENTRAIL_TRAILS: '[]',
      OPENTRAIL_API_PORT: '0',
      OPENTRAIL_API_ACCESS_KEYS: `${KEY.id}:${KEY.secret}:${ACCOUNT}`,
      OPENTRAIL_API_ORGANIZATION_ID: ORGANIZATION,
      OPENTRAIL_AWS_ENDPOINT: stackEndpoints().awsEndpoint,
      OPENTRAIL_AWS_REGION: REGION,
      ...extra,
    }),
  );
  const url = await waitFor(() => service.logs().find((l) => typeof l.api === 'string')?.api as string | undefined, 'the API to log its URL');
  return {
    prefix,
    service,
    url,
    stop: async () => {
      await service.stop();
    },
  };
}

export function awsClients(): AwsClients {
  return new AwsClients({ endpoint: stackEndpoints().awsEndpoint, region: REGION });
}

export const uniqueBucket = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

/** CloudTrail's documented bucket policy: GetBucketAcl on the bucket, PutObject on `<prefix>/AWSLogs/<account>/*`. */
export function cloudTrailBucketPolicy(bucket: string, prefix?: string, account = ACCOUNT): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'AWSCloudTrailAclCheck', Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 's3:GetBucketAcl', Resource: `arn:aws:s3:::${bucket}` },
      {
        Sid: 'AWSCloudTrailWrite',
        Effect: 'Allow',
        Principal: { Service: 'cloudtrail.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: `arn:aws:s3:::${bucket}/${prefix ? `${prefix}/` : ''}AWSLogs/${account}/*`,
        Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } },
      },
    ],
  });
}

/** A KMS key policy that lets CloudTrail encrypt log files (what CloudTrail checks). */
export function cloudTrailKeyPolicy(): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'kms:*', Resource: '*' },
      { Sid: 'Allow CloudTrail to encrypt logs', Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 'kms:GenerateDataKey*', Resource: '*' },
    ],
  });
}

export async function createTrailBucket(s3: S3Client, bucket: string, options: { prefix?: string; policy?: string | null } = {}): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const policy = options.policy === undefined ? cloudTrailBucketPolicy(bucket, options.prefix) : options.policy;
  if (policy !== null) await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy }));
}
