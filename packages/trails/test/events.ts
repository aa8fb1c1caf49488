import { toApiCallEvent, type CloudTrailRecord } from '@opentrail/cloudtrail';
import type { ApiCallEvent } from '@opentrail/serde';

/** A CloudTrail record as an ApiCallEvent, for selector tests. */
export function event(overrides: Partial<CloudTrailRecord> = {}): ApiCallEvent {
  return toApiCallEvent({
    eventVersion: '1.09',
    userIdentity: { type: 'IAMUser', accountId: '111122223333', arn: 'arn:aws:iam::111122223333:user/alice' },
    eventTime: '2026-11-01T00:00:00Z',
    eventSource: 'ec2.amazonaws.com',
    eventName: 'RunInstances',
    awsRegion: 'us-east-1',
    sourceIPAddress: '192.0.2.1',
    eventID: '3b8b7c9e-0000-4000-8000-000000000001',
    eventType: 'AwsApiCall',
    readOnly: false,
    managementEvent: true,
    eventCategory: 'Management',
    recipientAccountId: '111122223333',
    ...overrides,
  });
}

/** An S3 object-level data event on `bucket/key`. */
export function s3DataEvent(bucket: string, key: string, overrides: Partial<CloudTrailRecord> = {}): ApiCallEvent {
  return event({
    eventSource: 's3.amazonaws.com',
    eventName: 'GetObject',
    readOnly: true,
    managementEvent: false,
    eventCategory: 'Data',
    resources: [
      { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${bucket}/${key}` },
      { accountId: '111122223333', type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${bucket}` },
    ],
    ...overrides,
  });
}

export function lambdaDataEvent(functionArn: string, overrides: Partial<CloudTrailRecord> = {}): ApiCallEvent {
  return event({
    eventSource: 'lambda.amazonaws.com',
    eventName: 'Invoke',
    readOnly: false,
    managementEvent: false,
    eventCategory: 'Data',
    resources: [{ accountId: '111122223333', type: 'AWS::Lambda::Function', ARN: functionArn }],
    ...overrides,
  });
}

export function insightEvent(insightType: string, overrides: Partial<CloudTrailRecord> = {}): ApiCallEvent {
  return toApiCallEvent({
    eventVersion: '1.08',
    eventTime: '2026-11-01T00:00:00Z',
    awsRegion: 'us-east-1',
    eventID: '3b8b7c9e-0000-4000-8000-000000000009',
    eventType: 'AwsCloudTrailInsight',
    recipientAccountId: '111122223333',
    sharedEventID: '3b8b7c9e-0000-4000-8000-00000000000a',
    insightDetails: { state: 'Start', eventSource: 'ec2.amazonaws.com', eventName: 'RunInstances', insightType, insightContext: { statistics: { baseline: { average: 0.1 }, insight: { average: 5 }, insightDuration: 1 } } },
    eventCategory: 'Insight',
    ...overrides,
  });
}
