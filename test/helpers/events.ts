import { withDefaults, type CloudTrailRecord } from '@opentrail/cloudtrail';

const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-southeast-2'];

/** A small valid CloudTrail record, varied by `i` over 20 accounts and 4 regions. */
export function simpleEvent(i: number, overrides: Partial<CloudTrailRecord> = {}): CloudTrailRecord {
  const account = String(100000000000 + (i % 20));
  return withDefaults({
    eventVersion: '1.09',
    userIdentity: { type: 'IAMUser', principalId: `AIDA${i}`, arn: `arn:aws:iam::${account}:user/u${i % 7}`, accountId: account, accessKeyId: `AKIA${String(i % 50).padStart(16, '0')}`, userName: `u${i % 7}` },
    eventTime: new Date(Date.UTC(2026, 10, 1, 0, 0, i % 3600)).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 's3.amazonaws.com',
    eventName: i % 3 === 0 ? 'PutObject' : 'GetObject',
    awsRegion: REGIONS[i % REGIONS.length]!,
    sourceIPAddress: '81.2.69.142',
    userAgent: 'aws-cli/2.13.5',
    requestParameters: { bucketName: `bucket-${i % 5}`, key: `k/${i}` },
    responseElements: null,
    readOnly: i % 3 !== 0,
    eventType: 'AwsApiCall',
    managementEvent: false,
    eventCategory: 'Data',
    recipientAccountId: account,
    ...overrides,
  });
}
