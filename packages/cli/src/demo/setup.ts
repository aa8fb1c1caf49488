import { join } from 'node:path';
import { CreateBucketCommand, PutBucketPolicyCommand } from '@aws-sdk/client-s3';
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

/** The account that owns the demo trails (their ARNs); the traffic comes from several others too. */
export const DEMO_ACCOUNT = '123456789012';
export const DEMO_REGION = 'us-east-1';
export const DEMO_BUCKET = 'opentrail-demo-logs';
/** The main trail: everything, rolled every 20 s, digests every minute, every notification. */
export const DEMO_TRAIL = 'opentrail-demo';
/** The second trail: only writes (advanced selectors), under its own prefix of the same bucket. */
export const DEMO_WRITES_TRAIL = 'opentrail-demo-writes';
export const DEMO_WRITES_PREFIX = 'write-audit';

/** Lets CloudTrail (opentrail's archiver and digester) read the bucket's ACL and write under any prefix for the demo account. */
export function demoBucketPolicy(bucket: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'AWSCloudTrailAclCheck', Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 's3:GetBucketAcl', Resource: `arn:aws:s3:::${bucket}` },
      { Sid: 'AWSCloudTrailWrite', Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 's3:PutObject', Resource: `arn:aws:s3:::${bucket}/*`, Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } } },
    ],
  });
}

export async function prepareDemoResources(endpoints: StackEndpoints): Promise<DemoResources> {
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  const aws = new AwsClients({ endpoint: endpoints.awsEndpoint, region: DEMO_REGION });
  try {
    const bucket = DEMO_BUCKET;
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((err: Error) => {
      if (!/BucketAlready/.test(err.name)) throw err;
    });
    // CloudTrail's bucket policy, as a user puts it on a bucket before `aws cloudtrail create-trail`:
    // the API checks it (InsufficientS3BucketPolicyException without it).
    await aws.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: demoBucketPolicy(bucket) }));
    // CreateTopic and CreateQueue return the existing ARN/URL for a name that exists: reruns are safe.
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

/** The demo's trails (packages/trails schema): short intervals so that everything shows within minutes. */
export function demoTrails(resources: DemoResources): Record<string, unknown>[] {
  return [
    {
      name: DEMO_TRAIL,
      accountId: DEMO_ACCOUNT,
      homeRegion: DEMO_REGION,
      bucket: resources.bucket,
      accounts: 'all',
      regions: 'all',
      // Management events plus S3 object and Lambda invocation data events.
      eventSelectors: [
        {
          readWriteType: 'All',
          includeManagementEvents: true,
          dataResources: [
            { type: 'AWS::S3::Object', values: ['arn:aws:s3'] },
            { type: 'AWS::Lambda::Function', values: ['arn:aws:lambda'] },
          ],
        },
      ],
      insightSelectors: [{ insightType: 'ApiCallRateInsight' }, { insightType: 'ApiErrorRateInsight' }],
      roll: { intervalSeconds: 20 },
      digests: { enabled: true, periodMinutes: 1 },
      notifications: { snsTopicArn: resources.deliveryTopicArn, kafka: true },
    },
    {
      name: DEMO_WRITES_TRAIL,
      accountId: DEMO_ACCOUNT,
      homeRegion: DEMO_REGION,
      bucket: resources.bucket,
      prefix: DEMO_WRITES_PREFIX,
      advancedEventSelectors: [
        {
          name: 'Write-only management events',
          fieldSelectors: [
            { field: 'eventCategory', equals: ['Management'] },
            { field: 'readOnly', equals: ['false'] },
          ],
        },
        {
          name: 'S3 object writes',
          fieldSelectors: [
            { field: 'eventCategory', equals: ['Data'] },
            { field: 'resources.type', equals: ['AWS::S3::Object'] },
            { field: 'readOnly', equals: ['false'] },
          ],
        },
      ],
      roll: { intervalSeconds: 30 },
      digests: { enabled: true, periodMinutes: 1 },
      encryption: { mode: 'SSE_S3' },
    },
  ];
}

/** What the demo decided before writing the configuration: the AWS resources and the ports. */
export interface DemoContext {
  resources: DemoResources;
  /** The demo's working directory (.demo): state that must not land in the repository goes here. */
  dir: string;
  /** The CloudTrail-compatible API's port (services/api), near 8090. */
  apiPort: number;
  /** Trino's coordinator, when the demo runs one: the API sends CloudTrail Lake queries there. */
  trinoUrl?: string;
}

/** The demo's CloudTrail Lake event data store (created through the API once it is up). */
export const DEMO_EVENT_DATA_STORE = 'demo-store';

/** The access key the demo's API accepts, the same one the AWS CLI gets from .demo/endpoints.env. */
export const DEMO_ACCESS_KEY = { accessKeyId: 'test', secretAccessKey: 'test' };
/** A second key of the demo's API, of a read-only principal: it may look (Describe/Get/List/Lookup) but not change. */
export const DEMO_READ_ONLY_KEY = { accessKeyId: 'readonly', secretAccessKey: 'readonly' };

/**
 * The demo API's callers (services/api authorization.ts): an administrator with every action,
 * whose key is the AWS CLI's, and an auditor that may only read; `CreateTrail` with the auditor's
 * key is refused with AccessDeniedException, and the refusal is in event history.
 */
export const DEMO_PRINCIPALS = [
  { arn: `arn:aws:iam::${DEMO_ACCOUNT}:user/demo-admin`, accessKeys: [DEMO_ACCESS_KEY], allow: ['cloudtrail:*', 'opentrail:*'] },
  { arn: `arn:aws:iam::${DEMO_ACCOUNT}:role/DemoAuditor`, sessionName: 'auditor', accessKeys: [DEMO_READ_ONLY_KEY], allow: ['cloudtrail:Describe*', 'cloudtrail:Get*', 'cloudtrail:List*', 'cloudtrail:LookupEvents', 'opentrail:QueryEvents', 'opentrail:GetResourceHistory', 'opentrail:ListRecentAlerts', 'opentrail:GetActivitySummary'] },
];

/**
 * Each service's section of the demo configuration, by the service's folder name. A service that
 * needs settings of its own for the demo adds an entry here; one without an entry runs on the
 * defaults of its config.ts. Sections of services that are not there are ignored by the others
 * (CONFIG_SECTIONS of @opentrail/config), so an entry may land before its service does.
 */
export const SERVICE_SECTIONS: Record<string, (context: DemoContext) => Record<string, unknown>> = {
  enricher: () => ({}),
  archiver: () => ({
    createBuckets: true,
    flushIntervalMs: 1000,
  }),
  alerter: ({ resources }) => ({
    // One minute, not five: a demo that repeats its scenes every 30 s shows fresh alerts.
    suppressionSeconds: 60,
    sns: { topicArn: resources.alertTopicArn },
    // Insights need an hour of history; a demo has minutes, so a short baseline shows them sooner.
    insights: { minBaselineMinutes: 5, baselineMinutes: 60 },
  }),
  // Segments close every 10 s: a demo's Lake queries see events seconds old.
  lake: () => ({ roll: { intervalSeconds: 10 } }),
  api: ({ apiPort, trinoUrl }) => ({
    port: apiPort,
    host: '127.0.0.1',
    principals: DEMO_PRINCIPALS,
    ...(trinoUrl ? { lake: { trinoUrl } } : {}),
    // Trails created through the API roll and digest as quickly as the demo's own.
    newTrails: { rollIntervalSeconds: 20, digestPeriodMinutes: 1 },
  }),
  digester: ({ dir }) => ({
    // The digest signing key (generated on first start) stays with the demo's files.
    signing: { type: 'local', keyDir: join(dir, 'digest-keys') },
    // With one-minute digests, a restart after a pause would otherwise write up to 168 empty
    // digests per (trail, account, region) to catch up: thousands of objects before the first new one.
    maxCatchUpPeriods: 5,
  }),
  // notifier: its defaults; the demo's SNS topic exists before it starts.
};

/**
 * The one configuration file every service of the demo reads: shared connection settings, the
 * demo trails, and each service's section. `overrides` (from `--config FILE`) is merged over it,
 * key by key, so that anything can be changed without editing this file.
 */
export function demoConfig(endpoints: StackEndpoints, context: DemoContext, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const sections = Object.fromEntries(Object.entries(SERVICE_SECTIONS).map(([name, section]) => [name, section(context)]));
  const base = {
    kafka: { brokers: endpoints.kafkaBrokers.split(',') },
    schemaRegistry: { url: endpoints.schemaRegistryUrl },
    topics: { prefix: 'opentrail.', partitions: 3 },
    aws: { endpoint: endpoints.awsEndpoint, region: DEMO_REGION },
    trails: demoTrails(context.resources),
    ...sections,
    // The stack's PostgreSQL; retention runs every 5 minutes so a long-running demo shows it.
    history: { databaseUrl: endpoints.databaseUrl, retentionIntervalSeconds: 300, ...(sections.history) },
    // The API reads the same database for LookupEvents, QueryEvents and GetResourceHistory.
    api: { ...sections.api, history: { databaseUrl: endpoints.databaseUrl } },
  };
  return mergeConfig(base, overrides);
}

/** Objects merge key by key; anything else (arrays included: a trail list is replaced whole) replaces. */
export function mergeConfig(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? mergeConfig(current, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
