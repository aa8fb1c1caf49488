import { createHash } from 'node:crypto';
import type { CloudTrailRecord } from '@opentrail/cloudtrail';

/**
 * The corpus the sample queries run over, and each sample's question answered by hand in TypeScript
 * from CloudTrail records (the test hands it the records read back from the trail's log files).
 *
 * A sample's answer is its result rows as CloudTrail Lake's API gives them: every value text
 * (counts in decimal, booleans 'true'/'false', timestamps 'YYYY-MM-DD HH:MM:SS.fff', a map column as
 * JSON text of its entries, JSON values as their JSON text), NULL as null.
 */

// ---------------------------------------------------------------- corpus

const A1 = '111122223333';
const A2 = '444455556666';
const A3 = '777788889999';
/** The account AWS's samples use as "the one to exclude" and as the role's account. */
const EXT = '555555555555';
const ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const ALICE_ROLE = `arn:aws:iam::${EXT}:role/alice`;

function uuid(seed: string, i: number): string {
  const h = createHash('sha256').update(`${seed}:${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

let serial = 0;
/** A second-precision UTC time, made unique by adding the record's serial number of seconds. */
function at(iso: string, n: number): string {
  return new Date(Date.parse(iso) + n * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

type Identity = NonNullable<CloudTrailRecord['userIdentity']>;

const iamUser = (account: string, name: string, key = `AKIA${name.toUpperCase().padEnd(16, 'X').slice(0, 16)}`): Identity => ({
  type: 'IAMUser',
  principalId: `AIDA${name.toUpperCase()}`,
  arn: `arn:aws:iam::${account}:user/${name}`,
  accountId: account,
  accessKeyId: key,
  userName: name,
});

const assumedRole = (account: string, role: string, session: string, roleAccount = account): Identity => ({
  type: 'AssumedRole',
  principalId: `AROA${role.toUpperCase().replace(/[^A-Z0-9]/g, '')}:${session}`,
  arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
  accountId: account,
  accessKeyId: `ASIA${session.toUpperCase().replace(/[^A-Z0-9]/g, '').padEnd(16, 'Y').slice(0, 16)}`,
  sessionContext: {
    sessionIssuer: { type: 'Role', principalId: `AROA${role.toUpperCase().replace(/[^A-Z0-9]/g, '')}`, arn: `arn:aws:iam::${roleAccount}:role/${role}`, accountId: roleAccount, userName: role },
    attributes: { creationDate: '2023-01-01T00:00:00Z', mfaAuthenticated: 'false' },
  },
});

/** Alice signed in through IAM Identity Center: an AWSReservedSSO role session named by her e-mail. */
const alice = (account: string): Identity => assumedRole(account, 'AWSReservedSSO_Admin_0123456789abcdef', 'alice@example.com');

const GLOBAL = new Set(['iam.amazonaws.com', 'sts.amazonaws.com', 'signin.amazonaws.com', 'cloudfront.amazonaws.com']);

interface Spec {
  time: string;
  source: string;
  name: string;
  who: Identity | null;
  account?: string;
  region?: string;
  ip?: string;
  agent?: string;
  readOnly?: boolean;
  request?: Record<string, unknown> | null;
  response?: Record<string, unknown> | null;
  additional?: Record<string, unknown>;
  service?: Record<string, unknown>;
  resources?: CloudTrailRecord['resources'];
  error?: [string, string];
  data?: boolean;
  eventID?: string;
  eventType?: string;
}

function event(s: Spec): CloudTrailRecord {
  const n = serial++;
  const account = s.account ?? s.who?.accountId ?? A1;
  const record: CloudTrailRecord = {
    eventVersion: '1.09',
    ...(s.who ? { userIdentity: s.who } : {}),
    eventTime: at(s.time, n % 50),
    eventSource: s.source,
    eventName: s.name,
    awsRegion: s.region ?? (GLOBAL.has(s.source) ? 'us-east-1' : 'eu-west-1'),
    sourceIPAddress: s.ip ?? `198.51.100.${n % 250}`,
    userAgent: s.agent ?? 'aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64',
    ...(s.error ? { errorCode: s.error[0], errorMessage: s.error[1] } : {}),
    requestParameters: s.request ?? null,
    responseElements: s.response ?? null,
    ...(s.additional ? { additionalEventData: s.additional } : {}),
    requestID: uuid('samples-req', n),
    eventID: s.eventID ?? uuid('samples', n),
    readOnly: s.readOnly ?? false,
    ...(s.resources ? { resources: s.resources } : {}),
    eventType: s.eventType ?? 'AwsApiCall',
    managementEvent: !s.data,
    recipientAccountId: account,
    ...(s.service ? { serviceEventDetails: s.service } : {}),
    eventCategory: s.data ? 'Data' : 'Management',
    tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: `${s.source.split('.')[0]}.amazonaws.com` },
  };
  return record;
}

const s3Object = (account: string, bucket: string, key: string): CloudTrailRecord['resources'] => [
  { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${bucket}/${key}` },
  { accountId: account, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${bucket}` },
];

/** Days inside the window most samples share ('2023-01-01' < eventTime < '2023-01-07'). */
const W = ['2023-01-02T08:00:00Z', '2023-01-03T13:00:00Z', '2023-01-04T02:00:00Z', '2023-01-05T19:00:00Z', '2023-01-06T23:00:00Z'];
const w = (i: number) => W[i % W.length]!;

export function sampleCorpus(): CloudTrailRecord[] {
  serial = 0;
  const out: CloudTrailRecord[] = [];
  const add = (s: Spec) => out.push(event(s));

  // Alice (IAM Identity Center) in the window, and out of it.
  for (let i = 0; i < 3; i++) add({ time: w(i), source: 'iam.amazonaws.com', name: 'CreateRole', who: alice([A1, A2, A1][i]!), request: { roleName: `app-${i}`, assumeRolePolicyDocument: '{"Version":"2012-10-17"}' }, response: i === 2 ? null : { role: { roleName: `app-${i}`, arn: `arn:aws:iam::${A1}:role/app-${i}`, createDate: 'Jan 2, 2023 8:00:00 AM' } }, ...(i === 2 ? { error: ['AccessDenied', 'User is not authorized to perform: iam:CreateRole'] as [string, string] } : {}) });
  for (let i = 0; i < 2; i++) add({ time: w(i + 1), source: 'iam.amazonaws.com', name: 'CreateAccessKey', who: alice(A2), request: { userName: `svc-${i}` }, response: { accessKey: { userName: `svc-${i}`, accessKeyId: `AKIASVC${i}EXAMPLE0000`, status: 'Active', createDate: 'Jan 3, 2023 1:00:00 PM' } } });
  for (let i = 0; i < 2; i++) add({ time: w(i + 2), source: 'iam.amazonaws.com', name: 'CreateUser', who: alice(A1), request: { userName: `user-${i}` }, response: { user: { path: '/', userName: `user-${i}`, userId: `AIDAUSER${i}`, arn: `arn:aws:iam::${A1}:user/user-${i}`, createDate: 'Jan 4, 2023 2:00:00 AM' } } });
  for (let i = 0; i < 2; i++) add({ time: w(i + 3), source: 'iam.amazonaws.com', name: 'PutRolePolicy', who: alice(A3), request: { roleName: `app-${i}`, policyName: 'inline', policyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b${i}/*"}]}` } });
  for (let i = 0; i < 3; i++) add({ time: w(i), source: 'ec2.amazonaws.com', name: 'DescribeInstances', who: alice(A1), readOnly: true, request: { maxResults: 50 }, ...(i === 1 ? { error: ['Client.UnauthorizedOperation', 'You are not authorized to perform this operation.'] as [string, string] } : {}) });
  add({ time: w(4), source: 'ec2.amazonaws.com', name: 'TerminateInstances', who: alice(A2), error: ['Client.UnauthorizedOperation', 'You are not authorized to perform this operation.'], request: { instancesSet: { items: [{ instanceId: 'i-0123456789abcdef0' }] } } });
  for (let i = 0; i < 2; i++) {
    add({ time: w(i), source: 'sso.amazonaws.com', name: 'Federate', who: { type: 'Unknown', principalId: 'alice@example.com', accountId: A1, userName: 'alice@example.com' }, account: A1, region: 'us-east-1', readOnly: true, service: { account_id: [A2, A3][i], role_name: 'AWSAdministratorAccess' } });
  }
  add({ time: w(3), source: 'sso.amazonaws.com', name: 'Federate', who: { type: 'Unknown', principalId: 'bob@example.com', accountId: A1, userName: 'bob@example.com' }, account: A1, region: 'us-east-1', readOnly: true, service: { account_id: A2, role_name: 'ReadOnly' } });
  add({ time: '2023-01-08T10:00:00Z', source: 'iam.amazonaws.com', name: 'CreateRole', who: alice(A1), request: { roleName: 'late' } });
  add({ time: '2023-01-08T11:00:00Z', source: 'sso.amazonaws.com', name: 'Federate', who: { type: 'Unknown', principalId: 'alice@example.com', accountId: A1, userName: 'alice@example.com' }, account: A1, region: 'us-east-1', readOnly: true, service: { account_id: A2, role_name: 'AWSAdministratorAccess' } });
  add({ time: w(2), source: 'iam.amazonaws.com', name: 'CreateRole', who: assumedRole(A1, 'AWSReservedSSO_Admin_0123456789abcdef', 'bob@example.com'), request: { roleName: 'bobs' } });

  // The IAM user access key AKIAIOSFODNN7EXAMPLE, from 192.0.2.76 part of the time.
  const keyUser = iamUser(A2, 'carol', ACCESS_KEY);
  add({ time: w(0), source: 's3.amazonaws.com', name: 'ListBuckets', who: keyUser, readOnly: true, ip: '192.0.2.76', request: { Host: 's3.amazonaws.com' } });
  add({ time: w(1), source: 's3.amazonaws.com', name: 'ListBuckets', who: keyUser, readOnly: true, ip: '192.0.2.76', request: { Host: 's3.amazonaws.com' } });
  add({ time: w(2), source: 'iam.amazonaws.com', name: 'GetUser', who: keyUser, readOnly: true, error: ['AccessDenied', 'User: carol is not authorized to perform: iam:GetUser'] });
  for (let i = 0; i < 3; i++) add({ time: w(i + 1), source: 'ec2.amazonaws.com', name: 'DescribeRegions', who: keyUser, readOnly: true, region: ['eu-west-1', 'us-west-2', 'us-east-1'][i]!, ip: i === 0 ? '192.0.2.76' : undefined, request: { regionSet: {} } });
  for (let i = 0; i < 2; i++) {
    add({
      time: w(i + 3), source: 'sts.amazonaws.com', name: 'AssumeRole', who: keyUser, readOnly: true,
      request: { roleArn: `arn:aws:iam::${A2}:role/deploy`, roleSessionName: `carol-${i}`, durationSeconds: 3600 },
      response: { credentials: { accessKeyId: `ASIACAROL${i}EXAMPLE000`, sessionToken: 'token', expiration: 'Jan 5, 2023 8:00:00 PM' }, assumedRoleUser: { assumedRoleId: `AROADEPLOY:carol-${i}`, arn: `arn:aws:sts::${A2}:assumed-role/deploy/carol-${i}` } },
      resources: [{ accountId: A2, type: 'AWS::IAM::Role', ARN: `arn:aws:iam::${A2}:role/deploy` }],
    });
  }
  for (const [i, name] of ['GetObject', 'GetObject', 'PutObject', 'PutObject', 'DeleteObject'].entries()) {
    const key = `reports/${i}.csv`;
    add({
      time: w(i), source: 's3.amazonaws.com', name, who: keyUser, data: true, readOnly: name === 'GetObject', region: 'us-west-2',
      request: { bucketName: 'finance-reports', Host: 'finance-reports.s3.us-west-2.amazonaws.com', key, ...(name === 'PutObject' && i === 2 ? { 'x-amz-server-side-encryption': 'aws:kms' } : {}) },
      response: name === 'PutObject' && i === 2 ? { 'x-amz-server-side-encryption': 'aws:kms' } : null,
      additional: { SignatureVersion: 'SigV4', bytesTransferredIn: 0, ...(i === 0 ? { aclRequired: 'Yes' } : {}) },
      resources: s3Object(A2, 'finance-reports', key),
    });
  }
  add({ time: '2023-01-09T00:00:00Z', source: 'ec2.amazonaws.com', name: 'DescribeRegions', who: keyUser, readOnly: true, ip: '192.0.2.76' });
  add({ time: w(2), source: 'ec2.amazonaws.com', name: 'DescribeVpcs', who: iamUser(A3, 'dave'), readOnly: true, ip: '192.0.2.76' });
  add({ time: w(3), source: 'ec2.amazonaws.com', name: 'DescribeVpcs', who: iamUser(EXT, 'erin'), readOnly: true, ip: '192.0.2.76' });
  add({ time: w(4), source: 'ec2.amazonaws.com', name: 'DescribeVpcs', who: iamUser(A3, 'dave'), readOnly: true, ip: '192.0.2.76' });

  // The role arn:aws:iam::555555555555:role/alice, and EC2 launches.
  for (let i = 0; i < 3; i++) add({ time: w(i), source: 'ec2.amazonaws.com', name: 'DescribeInstances', who: assumedRole(EXT, 'alice', `s${i}`), readOnly: true });
  for (let i = 0; i < 2; i++) add({ time: w(i + 2), source: 's3.amazonaws.com', name: 'ListBuckets', who: assumedRole(EXT, 'alice', `s${i}`), readOnly: true });
  add({ time: w(4), source: 'iam.amazonaws.com', name: 'ListRoles', who: assumedRole(EXT, 'alice', 's9'), readOnly: true, error: ['AccessDenied', 'not authorized'] });
  const launch = (time: string, who: Identity, instanceId: string, region = 'eu-west-1') =>
    add({
      time, source: 'ec2.amazonaws.com', name: 'RunInstances', who, region,
      request: { instancesSet: { items: [{ imageId: 'ami-0abcdef1234567890', minCount: 1, maxCount: 1 }] }, instanceType: 't3.micro' },
      response: { requestId: 'r', reservationId: `r-${instanceId}`, ownerId: who.accountId, instancesSet: { items: [{ instanceId, imageId: 'ami-0abcdef1234567890', instanceState: { code: 0, name: 'pending' } }] } },
    });
  launch(w(1), assumedRole(EXT, 'alice', 'launcher'), 'i-b188560f', 'us-west-2');
  launch(w(3), iamUser(A1, 'frank'), 'i-0aaaabbbbccccdddd');
  launch('2023-01-07T00:00:00Z', iamUser(A1, 'frank'), 'i-b188560f');
  launch('2023-02-01T00:00:00Z', iamUser(A3, 'frank'), 'i-0ffff00001111aaaa');

  // RDS.
  const dba = assumedRole(A1, 'dba', 'gina');
  for (const [i, [engine, pi]] of ([['aurora-postgresql', true], ['aurora-postgresql', true], ['aurora-postgresql', false], ['aurora-mysql', false], ['aurora-mysql', true], ['mysql', true]] as const).entries()) {
    add({ time: i === 4 ? '2021-12-31T23:59:00Z' : `2025-03-01T0${i}:00:00Z`, source: 'rds.amazonaws.com', name: 'CreateDBInstance', who: i === 3 ? iamUser(A2, 'hank') : dba, request: { dBInstanceIdentifier: `db-${i}`, dBInstanceClass: ['db.r6g.large', 'db.r6g.xlarge'][i % 2], engine, engineVersion: '15.4', enablePerformanceInsights: pi, dBClusterIdentifier: `cluster-${i}` } });
  }
  for (let i = 0; i < 2; i++) add({ time: `2025-03-01T1${i}:00:00Z`, source: 'rds.amazonaws.com', name: 'FailoverDBCluster', who: i ? iamUser(A2, 'hank') : dba, request: { dBClusterIdentifier: `cluster-${i}` } });
  for (let i = 0; i < 3; i++) add({ time: `2025-03-01T1${i + 2}:00:00Z`, source: 'rds.amazonaws.com', name: 'RebootDBInstance', who: i === 1 ? iamUser(A3, 'ivan') : dba, request: { dBInstanceIdentifier: `db-${i}`, forceFailover: false } });
  for (let i = 0; i < 2; i++) add({ time: `2025-03-01T15:0${i}:00Z`, source: 'rds.amazonaws.com', name: 'RestoreDBClusterToPointInTime', who: dba, request: { sourceDBClusterIdentifier: `cluster-${i}`, dBClusterIdentifier: `cluster-${i}-restored`, restoreToTime: 'Jul 1, 2025 12:00:00 AM' } });
  for (let i = 0; i < 3; i++) add({ time: `2025-03-01T16:0${i}:00Z`, source: 'rds.amazonaws.com', name: 'DeleteDBCluster', who: i === 2 ? iamUser(A1, 'frank') : dba, request: { dBClusterIdentifier: `old-${i}`, skipFinalSnapshot: i !== 1 } });

  // STS: roles assuming themselves, AWS Support.
  for (let i = 0; i < 4; i++) {
    const who = assumedRole(A3, 'worker', `job-${i}`);
    const target = i === 2 ? `arn:aws:iam::${A3}:role/other` : `arn:aws:iam::${A3}:role/worker`;
    add({ time: `2026-06-01T0${i}:10:00Z`, source: 'sts.amazonaws.com', name: 'AssumeRole', who, readOnly: true, request: { roleArn: target, roleSessionName: `job-${i}-again` }, resources: [{ accountId: A3, type: 'AWS::IAM::Role', ARN: target }], ...(i === 3 ? { error: ['AccessDenied', 'not authorized to perform sts:AssumeRole'] as [string, string] } : {}) });
  }
  for (let i = 0; i < 2; i++) {
    add({
      time: `2026-06-01T05:1${i}:00Z`, source: 'sts.amazonaws.com', name: 'AssumeRole', who: { type: 'AWSService', invokedBy: 'support.amazonaws.com' }, account: [A1, A2][i], readOnly: true,
      ip: 'support.amazonaws.com', agent: 'support.amazonaws.com', eventType: 'AwsApiCall',
      request: { roleArn: `arn:aws:iam::${[A1, A2][i]}:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport`, roleSessionName: 'SupportSession' },
      response: { credentials: { accessKeyId: 'ASIASUPPORT', sessionToken: 't', expiration: 'May 10, 2026 10:00:00 AM' } },
      resources: [{ accountId: [A1, A2][i], type: 'AWS::IAM::Role', ARN: `arn:aws:iam::${[A1, A2][i]}:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport` }],
    });
  }

  // S3 requests that needed an ACL (data and management), across accounts and regions.
  for (const [i, [account, region, bucket]] of ([[A1, 'us-east-1', 'legacy-a'], [A1, 'us-east-1', 'legacy-a'], [A1, 'eu-west-1', 'legacy-b'], [A3, 'us-east-1', 'legacy-c']] as const).entries()) {
    add({ time: `2026-06-01T06:0${i}:00Z`, source: 's3.amazonaws.com', name: 'GetObject', who: iamUser(account, 'jack'), data: true, readOnly: true, region, request: { bucketName: bucket, Host: `${bucket}.s3.amazonaws.com`, key: `k${i}` }, additional: { aclRequired: 'Yes', SignatureVersion: 'SigV4' }, resources: s3Object(account, bucket, `k${i}`) });
  }
  add({ time: '2026-06-01T06:10:00Z', source: 's3.amazonaws.com', name: 'GetBucketAcl', who: iamUser(A2, 'jack'), readOnly: true, region: 'us-west-2', request: { bucketName: 'legacy-d', Host: 'legacy-d.s3.amazonaws.com', acl: '' }, additional: { aclRequired: 'Yes', SignatureVersion: 'SigV4' } });
  add({ time: '2026-06-01T06:20:00Z', source: 's3.amazonaws.com', name: 'GetObject', who: iamUser(A2, 'jack'), data: true, readOnly: true, region: 'us-west-2', request: { bucketName: 'modern', Host: 'modern.s3.amazonaws.com', key: 'k' }, additional: { SignatureVersion: 'SigV4' }, resources: s3Object(A2, 'modern', 'k') });
  for (let i = 0; i < 2; i++) add({ time: `2026-06-01T07:0${i}:00Z`, source: 's3.amazonaws.com', name: 'PutObject', who: iamUser(A1, 'kate'), data: true, region: 'eu-west-1', request: { bucketName: 'uploads', Host: 'uploads.s3.amazonaws.com', key: `u${i}`, ...(i ? { 'x-amz-server-side-encryption': 'AES256' } : {}) }, response: { 'x-amz-server-side-encryption': 'AES256' }, resources: s3Object(A1, 'uploads', `u${i}`) });

  // EBS snapshots.
  for (let i = 0; i < 2; i++) add({ time: `2025-03-01T17:0${i}:00Z`, source: 'ec2.amazonaws.com', name: 'CreateSnapshots', who: iamUser(A1, 'liam'), request: { CreateSnapshotsRequest: { InstanceSpecification: { InstanceId: `i-0snap${i}`, ExcludeBootVolume: false }, CopyTagsFromSource: 'volume' } }, response: { CreateSnapshotsResponse: { snapshotSet: { item: [{ snapshotId: `snap-${i}`, volumeId: `vol-${i}` }] } } } });
  for (let i = 0; i < 2; i++) add({ time: `2025-03-01T17:3${i}:00Z`, source: 'ec2.amazonaws.com', name: 'CreateSnapshot', who: iamUser(A1, 'liam'), request: { volumeId: `vol-1${i}` }, response: { snapshotId: `snap-1${i}`, volumeId: `vol-1${i}`, encrypted: i === 1 } });

  // EC2 tags.
  for (const [i, [name, resource, key, value]] of ([['CreateTags', 'i-0aaa', 'env', 'prod'], ['CreateTags', 'i-0aaa', 'team', 'red'], ['DeleteTags', 'i-0aaa', 'env', null], ['CreateTags', 'vol-0bbb', 'env', 'dev'], ['CreateTags', 'i-0aaa', 'env', 'staging']] as const).entries()) {
    add({ time: `2025-03-01T18:0${i}:00Z`, source: 'ec2.amazonaws.com', name, who: iamUser(A2, 'mia'), region: 'us-west-2', request: { resourcesSet: { items: [{ resourceId: resource }] }, tagSet: { items: [value === null ? { key } : { key, value }] } }, response: { _return: true } });
  }

  // The event response-element-by-event-id asks for.
  add({ time: '2026-06-01T08:00:00Z', source: 'ec2.amazonaws.com', name: 'AllocateAddress', who: iamUser(A1, 'nina'), eventID: '3270e016-59a1-4448-8dd1-d27a4796502d', request: { domain: 'vpc' }, response: { publicIp: '203.0.113.7', domain: 'vpc', allocationId: 'eipalloc-0123', networkBorderGroup: 'eu-west-1' } });

  // October 2023: configuration-item-producing writes (EstimateAmountOfConfigurationItems).
  const octSources = ['ec2.amazonaws.com', 'iam.amazonaws.com', 's3.amazonaws.com', 'lambda.amazonaws.com', 'rds.amazonaws.com', 'cloudformation.amazonaws.com', 'kms.amazonaws.com'];
  for (let i = 0; i < 30; i++) {
    const source = octSources[(i * i) % octSources.length]!;
    add({ time: `2023-10-${String(2 + (i % 3) * 10).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}:00:00Z`, source, name: i % 4 === 0 ? 'ListThings' : 'CreateThing', who: iamUser([A1, A2, A3][i % 3]!, 'oscar'), account: [A1, A2, A3][i % 3], readOnly: i % 4 === 0, region: GLOBAL.has(source) ? 'us-east-1' : ['eu-west-1', 'us-west-2'][i % 2] });
  }

  // AWS Config rule evaluations on 2023-11-16.
  for (let i = 0; i < 4; i++) {
    add({
      time: `2023-11-16T0${i + 1}:00:00Z`, source: 'config.amazonaws.com', name: 'PutEvaluations', who: assumedRole(A1, 'AWSServiceRoleForConfig', 'AWSConfig-Rule'), region: 'eu-west-1',
      request: { evaluations: [{ complianceResourceType: 'AWS::S3::Bucket', complianceResourceId: `bucket-${i}`, complianceType: ['COMPLIANT', 'NON_COMPLIANT', 'NOT_APPLICABLE', 'NON_COMPLIANT'][i], orderingTimestamp: 'Nov 16, 2023 1:00:00 AM' }], resultToken: 'tok', testMode: false },
      additional: { configRuleName: `rule-${i % 2}`, configRuleArn: `arn:aws:config:eu-west-1:${A1}:config-rule/config-rule-${i % 2}` },
    });
  }
  add({ time: '2023-11-17T05:00:00Z', source: 'config.amazonaws.com', name: 'PutEvaluations', who: assumedRole(A1, 'AWSServiceRoleForConfig', 'AWSConfig-Rule'), request: { evaluations: [{ complianceResourceType: 'AWS::S3::Bucket', complianceResourceId: 'late', complianceType: 'COMPLIANT' }] }, additional: { configRuleName: 'rule-0' } });

  // 2022: group changes, cross-account calls, regions in use.
  for (const [i, group] of ['admins', 'developers', 'db-admin'].entries()) add({ time: `2022-06-20T0${i}:00:00Z`, source: 'iam.amazonaws.com', name: 'AddUserToGroup', who: iamUser(A1, 'root-ops'), request: { groupName: group, userName: `new-${i}` } });
  add({ time: '2022-12-01T10:00:00Z', source: 'iam.amazonaws.com', name: 'AddUserToGroup', who: iamUser(A1, 'root-ops'), request: { groupName: 'admins', userName: 'late' } });
  for (let i = 0; i < 3; i++) add({ time: `2022-05-10T0${i}:00:00Z`, source: 'kms.amazonaws.com', name: 'Decrypt', who: assumedRole(A2, 'reader', `x${i}`), account: i === 2 ? A2 : A3, readOnly: true, region: 'us-west-2', request: { encryptionAlgorithm: 'SYMMETRIC_DEFAULT', encryptionContext: { app: `a${i}` } } });
  for (let i = 0; i < 6; i++) add({ time: `2022-06-20T1${i}:00:00Z`, source: ['ec2.amazonaws.com', 'lambda.amazonaws.com'][i % 2]!, name: 'Describe', who: iamUser(A3, 'pat'), readOnly: true, region: ['ap-southeast-2', 'eu-west-1', 'ap-southeast-2'][i % 3] });

  // Security groups in July 2023.
  const ingress = (time: string, group: string, cidr: string) =>
    add({ time, source: 'ec2.amazonaws.com', name: 'AuthorizeSecurityGroupIngress', who: iamUser(A1, 'quinn'), request: { groupId: group, ipPermissions: { items: [{ ipProtocol: 'tcp', fromPort: 22, toPort: 22, groups: {}, ipRanges: { items: [{ cidrIp: cidr }] }, ipv6Ranges: {}, prefixListIds: {} }] } }, response: { _return: true } });
  ingress('2023-07-06T10:00:00Z', 'sg-0b', '0.0.0.0/0');
  ingress('2023-07-07T10:00:00Z', 'sg-0a', '10.0.0.0/8');
  ingress('2023-07-07T20:00:00Z', 'sg-0a', '0.0.0.0/0');
  ingress('2023-07-08T05:00:00Z', 'sg-0c', '0.0.0.0/0');
  const modify = (time: string, group: string, cidr: string) =>
    add({ time, source: 'ec2.amazonaws.com', name: 'ModifySecurityGroupRules', who: iamUser(A1, 'quinn'), request: { ModifySecurityGroupRulesRequest: { GroupId: group, SecurityGroupRule: { SecurityGroupRuleId: `sgr-${group}`, SecurityGroupRule: { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIpv4: cidr } } } }, response: { ModifySecurityGroupRulesResponse: { _return: true } } });
  modify('2023-07-08T12:00:00Z', 'sg-0a', '0.0.0.0/0');
  modify('2023-07-06T01:00:00Z', 'sg-0b', '192.168.0.0/16');
  modify('2023-07-10T01:00:00Z', 'sg-0b', '0.0.0.0/0');

  // The public access block of demo-20230707.
  const pab = (time: string, name: string, bucket: string, restrict: boolean | null, block: boolean | null) =>
    add({ time, source: 's3.amazonaws.com', name, who: iamUser(A1, 'rita'), region: 'us-east-1', request: { bucketName: bucket, Host: `${bucket}.s3.amazonaws.com`, ...(restrict === null ? { publicAccessBlock: '' } : { PublicAccessBlockConfiguration: { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/', RestrictPublicBuckets: restrict, BlockPublicPolicy: block, BlockPublicAcls: true, IgnorePublicAcls: true }, publicAccessBlock: '' }) }, additional: { SignatureVersion: 'SigV4' } });
  pab('2023-07-07T09:00:00Z', 'PutBucketPublicAccessBlock', 'demo-20230707', true, true);
  pab('2023-07-08T09:00:00Z', 'PutBucketPublicAccessBlock', 'demo-20230707', false, false);
  pab('2023-07-09T09:00:00Z', 'DeleteBucketPublicAccessBlock', 'demo-20230707', null, null);
  pab('2023-07-10T09:00:00Z', 'PutBucketPublicAccessBlock', 'other-bucket', true, true);
  pab('2023-07-06T09:00:00Z', 'PutBucketPublicAccessBlock', 'demo-20230707', true, false);

  return out;
}

// ---------------------------------------------------------------- the samples' semantics

export type Cell = string | null;

/** One sample checked: its file, the answer computed from records, how its rows are ordered. */
export interface SampleAnswer {
  file: string;
  /** Output column names, as Trino names them (compared case-insensitively). */
  columns: string[];
  /** Output columns holding a map or JSON object: compared as parsed JSON. */
  json?: number[];
  /**
   * The output columns the sample's ORDER BY sorts on (its result is compared in order on them,
   * rows that tie compared as a multiset); absent: no ORDER BY, the rows are a multiset.
   */
  orderedOn?: number[];
  answer(records: readonly CloudTrailRecord[]): Cell[][];
}

const ms = (text: string) => Date.parse(`${text.replace(' ', 'T')}Z`);
const time = (r: CloudTrailRecord) => Date.parse(r.eventTime!);
const between = (r: CloudTrailRecord, from: string, to: string) => time(r) > ms(from) && time(r) < ms(to);
const inW = (r: CloudTrailRecord) => between(r, '2023-01-01 00:00:00', '2023-01-07 00:00:00');
/** A timestamp as Trino prints TIMESTAMP(3). */
export const ts = (iso: string | undefined): Cell => (iso === undefined ? null : new Date(Date.parse(iso)).toISOString().replace('T', ' ').replace('Z', ''));
/** A scalar's text (strings, numbers, booleans); NULL for anything else. */
const scalar = (v: unknown): Cell => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null);
const str = scalar;
const bool = (v: boolean | undefined | null): Cell => (v === undefined || v === null ? null : v ? 'true' : 'false');

/** element_at on a map column: a string as itself, JSON null/absent as NULL, anything else as its JSON text. */
function el(map: unknown, key: string): Cell {
  if (map === null || map === undefined || typeof map !== 'object') return null;
  const v = (map as Record<string, unknown>)[key];
  if (v === undefined || v === null) return null;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** A map column as JSON text of its entries (values as element_at reads them). */
function mapText(map: unknown): Cell {
  if (map === null || map === undefined) return null;
  return JSON.stringify(Object.fromEntries(Object.keys(map).map((k) => [k, el(map, k)])));
}

/** SQL LIKE with % and _ wildcards; NULL matches nothing. */
function like(value: Cell | undefined, pattern: string): boolean {
  if (value === null || value === undefined) return false;
  const re = new RegExp(`^${pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '[\\s\\S]*').replace(/_/g, '[\\s\\S]')}$`);
  return re.test(value);
}

/** json_extract_scalar for simple `$.a.b[0].c` paths: a scalar's text, NULL for objects, arrays and nulls. */
function jsonScalar(text: Cell, path: string): Cell {
  return scalar(jsonPath(text, path));
}

function jsonPath(text: Cell, path: string): unknown {
  if (text === null) return undefined;
  let v: unknown = JSON.parse(text);
  for (const part of path.replace(/^\$\.?/, '').split(/\.|(?=\[)/).filter(Boolean)) {
    if (v === null || typeof v !== 'object') return undefined;
    const index = /^\[(\d+)\]$/.exec(part);
    v = index ? (v as unknown[])[Number(index[1])] : (v as Record<string, unknown>)[part];
  }
  return v;
}

const ui = (r: CloudTrailRecord) => (r.userIdentity ?? {}) as Record<string, unknown> & { sessionContext?: { sessionIssuer?: Record<string, string> } };
const issuer = (r: CloudTrailRecord) => ui(r).sessionContext?.sessionIssuer ?? {};

/** SQL `a != b`: false when either side is NULL. */
const differs = (a: Cell, b: Cell) => a !== null && b !== null && a !== b;

function groupCount<K extends Cell[]>(records: readonly CloudTrailRecord[], key: (r: CloudTrailRecord) => K): { key: K; count: number }[] {
  const groups = new Map<string, { key: K; count: number }>();
  for (const r of records) {
    const k = key(r);
    const id = JSON.stringify(k);
    const g = groups.get(id);
    if (g) g.count++;
    else groups.set(id, { key: k, count: 1 });
  }
  return [...groups.values()];
}

const cmp = (a: Cell, b: Cell) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1);

const aliceLike = (r: CloudTrailRecord) => like(str(ui(r).principalId), '%alice@example.com');

export const sampleAnswers: SampleAnswer[] = [
  {
    file: 'SelfAssumeRole.sql',
    columns: ['eventid', 'eventtime', 'RoleARN', 'RoleIdColonRoleSessionName'],
    answer: (rs) =>
      rs
        .filter((r) => r.eventSource === 'sts.amazonaws.com' && r.eventName === 'AssumeRole' && ui(r).type === 'AssumedRole' && !r.errorCode && issuer(r).arn !== undefined && issuer(r).arn === r.resources?.[0]?.ARN)
        .map((r) => [r.eventID!, ts(r.eventTime), issuer(r).arn!, str(ui(r).principalId)]),
  },
  {
    file: 'activity-performed-by-IP-address.sql',
    columns: ['accountid'],
    answer: (rs) => [...new Set(rs.filter((r) => r.sourceIPAddress === '192.0.2.76' && inW(r) && differs(str(ui(r).accountId), '555555555555')).map((r) => str(ui(r).accountId)))].map((a) => [a]),
  },
  {
    file: 'aurora-databases-with-performance-insights.sql',
    columns: ['DBInstance', 'Engine', 'DBEngineVersion'],
    answer: (rs) =>
      rs
        .filter((r) => el(r.requestParameters, 'engine') === 'aurora-postgresql' && r.eventName === 'CreateDBInstance' && el(r.requestParameters, 'enablePerformanceInsights') === 'true')
        .map((r) => [el(r.requestParameters, 'dBInstanceIdentifier'), el(r.requestParameters, 'engine'), el(r.requestParameters, 'engineVersion')]),
  },
  {
    file: 'aurora-mysql-databases-with-instance-class-information.sql',
    columns: ['DBInstance', 'InstanceClass', 'Engine', 'DateTime'],
    answer: (rs) =>
      rs
        .filter((r) => el(r.requestParameters, 'engine') === 'aurora-mysql' && r.eventName === 'CreateDBInstance' && time(r) >= ms('2022-01-01 00:00:00'))
        .map((r) => [el(r.requestParameters, 'dBInstanceIdentifier'), el(r.requestParameters, 'dBInstanceClass'), el(r.requestParameters, 'engine'), ts(r.eventTime)]),
  },
  {
    file: 'aws-support-access.sql',
    columns: ['eventTime', 'eventSource', 'eventName', 'awsRegion', 'sourceIPAddress', 'userAgent', 'userIdtype', 'ressourceAccountID', 'ressourceARN', 'eventType', 'eventCategory', 'managementEvent', 'recipientAccountId', 'requestParameters', 'responseElements'],
    json: [13, 14],
    answer: (rs) =>
      rs
        .filter((r) => r.eventSource === 'sts.amazonaws.com' && r.userAgent === 'support.amazonaws.com')
        .map((r) => [ts(r.eventTime), r.eventSource!, r.eventName!, r.awsRegion!, str(r.sourceIPAddress), str(r.userAgent), str(ui(r).type), str(r.resources?.[0]?.accountId), str(r.resources?.[0]?.ARN), str(r.eventType), str(r.eventCategory), bool(r.managementEvent), str(r.recipientAccountId), mapText(r.requestParameters), mapText(r.responseElements)]),
  },
  {
    file: 'cross-account-access.sql',
    columns: ['principalid', 'eventName', 'eventSource', 'accountId', 'recipientAccountId', 'requestParameters', 'eventTime'],
    json: [5],
    answer: (rs) =>
      rs
        .filter((r) => between(r, '2022-04-30 00:00:00', '2022-06-01 00:00:00') && differs(str(ui(r).accountId), str(r.recipientAccountId)))
        .map((r) => [str(ui(r).principalId), r.eventName!, r.eventSource!, str(ui(r).accountId), str(r.recipientAccountId), mapText(r.requestParameters), ts(r.eventTime)]),
  },
  {
    file: 'database-failover-information.sql',
    columns: ['AWSRegion', 'DBCluster', 'UserName', 'FailoverTime'],
    answer: (rs) => rs.filter((r) => r.eventName === 'FailoverDBCluster').map((r) => [r.awsRegion!, el(r.requestParameters, 'dBClusterIdentifier'), str(issuer(r).userName), ts(r.eventTime)]),
  },
  {
    file: 'database-reboot-information.sql',
    columns: ['DBInstance', 'UserName', 'RebootTime'],
    orderedOn: [2],
    answer: (rs) =>
      rs
        .filter((r) => r.eventName === 'RebootDBInstance')
        .sort((a, b) => time(b) - time(a))
        .map((r) => [el(r.requestParameters, 'dBInstanceIdentifier'), str(issuer(r).userName), ts(r.eventTime)]),
  },
  {
    file: 'db-cluster-point-in-time-restore.sql',
    columns: ['Source', 'Target', 'UserName', 'RestoreTime'],
    answer: (rs) => rs.filter((r) => r.eventName === 'RestoreDBClusterToPointInTime').map((r) => [el(r.requestParameters, 'sourceDBClusterIdentifier'), el(r.requestParameters, 'dBClusterIdentifier'), str(issuer(r).userName), ts(r.eventTime)]),
  },
  {
    file: 'ec2-api-run-instances.sql',
    columns: ['recipientAccountId', 'awsRegion', 'eventID', 'instances'],
    answer: (rs) => rs.filter((r) => r.eventName === 'RunInstances' && inW(r)).map((r) => [str(r.recipientAccountId), r.awsRegion!, r.eventID!, el(r.responseElements, 'instancesSet')]),
  },
  {
    file: 'ec2-public-security-group.sql',
    columns: ['eventName', 'user', 'sourceIPAddress', 'eventTime', 'eventSource', 'securityGroup', 'securityGroupRule'],
    orderedOn: [3],
    answer: (rs) => {
      const first = rs
        .filter((r) => time(r) >= ms('2023-07-06 00:00:00') && time(r) <= ms('2023-07-08 00:00:00') && r.eventName === 'AuthorizeSecurityGroupIngress' && like(el(r.requestParameters, 'ipPermissions'), '%0.0.0.0/0%'))
        .map((r) => ({ r, row: [r.eventName!, str(ui(r).arn), str(r.sourceIPAddress), ts(r.eventTime), r.eventSource!, el(r.requestParameters, 'groupId'), el(r.requestParameters, 'ipPermissions')] }));
      const second = rs
        .filter((r) => time(r) >= ms('2023-07-06 00:00:00') && time(r) <= ms('2023-07-09 00:00:00') && r.eventName === 'ModifySecurityGroupRules' && like(el(r.requestParameters, 'ModifySecurityGroupRulesRequest'), '%0.0.0.0/0%'))
        .map((r) => ({ r, row: [r.eventName!, str(ui(r).arn), str(r.sourceIPAddress), ts(r.eventTime), r.eventSource!, jsonScalar(el(r.requestParameters, 'ModifySecurityGroupRulesRequest'), '$.GroupId'), el(r.requestParameters, 'ModifySecurityGroupRulesRequest')] }));
      return [...first, ...second].sort((a, b) => time(b.r) - time(a.r)).map((x) => x.row);
    },
  },
  {
    file: 'ec2-security-historical-changes.sql',
    columns: ['securityGroup', 'eventName', 'eventTime', 'securityGroupRule', 'user', 'sourceIPAddress', 'eventSource'],
    orderedOn: [0, 2],
    answer: (rs) => {
      const first = rs
        .filter((r) => time(r) >= ms('2023-07-06 00:00:00') && time(r) <= ms('2023-07-08 00:00:00') && r.eventName === 'AuthorizeSecurityGroupIngress')
        .map((r): Cell[] => [el(r.requestParameters, 'groupId'), r.eventName!, ts(r.eventTime), el(r.requestParameters, 'ipPermissions'), str(ui(r).arn), str(r.sourceIPAddress), r.eventSource!]);
      const second = rs
        .filter((r) => time(r) >= ms('2023-07-06 00:00:00') && time(r) <= ms('2023-07-09 00:00:00') && r.eventName === 'ModifySecurityGroupRules')
        .map((r): Cell[] => [jsonScalar(el(r.requestParameters, 'ModifySecurityGroupRulesRequest'), '$.GroupId'), r.eventName!, ts(r.eventTime), el(r.requestParameters, 'ModifySecurityGroupRulesRequest'), str(ui(r).arn), str(r.sourceIPAddress), r.eventSource!]);
      return [...first, ...second].sort((a, b) => cmp(a[0]!, b[0]!) || cmp(a[2]!, b[2]!));
    },
  },
  {
    file: 'event-response-element-by-event-id.sql',
    columns: ['responseElements'],
    json: [0],
    answer: (rs) => rs.filter((r) => r.eventID === '3270e016-59a1-4448-8dd1-d27a4796502d').map((r) => [mapText(r.responseElements)]),
  },
  {
    file: 'find-snapshots-not-encrypted.sql',
    columns: ['principalid', 'awsRegion', 'volume', 'Instance', 'snapshotID'],
    answer: (rs) =>
      rs
        // AND binds tighter than OR: every CreateSnapshots call, or a CreateSnapshot in an empty time range.
        .filter((r) => like(r.eventName, '%CreateSnapshots%') || (like(r.eventName, '%CreateSnapshot') && el(r.responseElements, 'encrypted') === 'false' && time(r) < ms('2022-01-01 00:00:00') && time(r) > ms('2022-11-11 00:00:00')))
        .map((r) => {
          const instance = jsonPath(el(r.requestParameters, 'CreateSnapshotsRequest'), '$.InstanceSpecification.InstanceId');
          return [str(ui(r).principalId), r.awsRegion!, el(r.requestParameters, 'volumeId'), instance === undefined ? null : JSON.stringify(instance), el(r.responseElements, 'snapshotId')];
        }),
  },
  {
    file: 'iam-access-key-activity.sql',
    columns: ['eventSource', 'eventName', 'sourceIPAddress', 'eventTime', 'errorCode'],
    orderedOn: [3],
    answer: (rs) =>
      rs
        .filter((r) => ui(r).accessKeyId === ACCESS_KEY && inW(r))
        .sort((a, b) => time(a) - time(b))
        .map((r) => [r.eventSource!, r.eventName!, str(r.sourceIPAddress), ts(r.eventTime), str(r.errorCode)]),
  },
  {
    file: 'iam-access-key-success-activity.sql',
    columns: ['NumberEvents', 'eventSource', 'eventName'],
    orderedOn: [0],
    answer: (rs) =>
      groupCount(rs.filter((r) => inW(r) && ui(r).accessKeyId === ACCESS_KEY && !r.errorCode), (r) => [r.eventSource!, r.eventName!])
        .sort((a, b) => b.count - a.count)
        .map((g) => [String(g.count), ...g.key]),
  },
  {
    file: 'iam-idc-federate-api-by-idc-user.sql',
    columns: ['AccountID', 'SSORole', 'eventID', 'eventTime'],
    answer: (rs) =>
      rs
        .filter((r) => r.eventSource === 'sso.amazonaws.com' && r.eventName === 'Federate' && ui(r).userName === 'alice@example.com' && inW(r))
        .map((r) => [el(r.serviceEventDetails, 'account_id'), el(r.serviceEventDetails, 'role_name'), r.eventID!, ts(r.eventTime)]),
  },
  {
    file: 'iam-idc-user-count-and-group-activity.sql',
    columns: ['eventSource', 'eventName', 'apiCount'],
    orderedOn: [2],
    answer: (rs) =>
      groupCount(rs.filter((r) => aliceLike(r) && inW(r)), (r) => [r.eventSource!, r.eventName!])
        .sort((a, b) => b.count - a.count)
        .map((g) => [...g.key, String(g.count)]),
  },
  {
    file: 'iam-idc-user-create-iam-role.sql',
    columns: ['recipientAccountId', 'awsRegion', 'eventID', 'eventTime', 'errorCode', 'errorMessage'],
    answer: (rs) => rs.filter((r) => aliceLike(r) && r.eventName === 'CreateRole' && inW(r)).map((r) => [str(r.recipientAccountId), r.awsRegion!, r.eventID!, ts(r.eventTime), str(r.errorCode), str(r.errorMessage)]),
  },
  {
    file: 'iam-idc-user-create-iam-user-acces-keys.sql',
    columns: ['recipientAccountId', 'awsRegion', 'eventID', 'eventTime', 'errorCode', 'errorMessage'],
    answer: (rs) => rs.filter((r) => aliceLike(r) && r.eventName === 'CreateAccessKey' && inW(r)).map((r) => [str(r.recipientAccountId), r.awsRegion!, r.eventID!, ts(r.eventTime), str(r.errorCode), str(r.errorMessage)]),
  },
  {
    file: 'iam-idc-user-create-iam-user.sql',
    columns: ['recipientAccountId', 'awsRegion', 'eventID', 'eventTime', 'userInfo'],
    answer: (rs) => rs.filter((r) => aliceLike(r) && r.eventName === 'CreateUser' && inW(r)).map((r) => [str(r.recipientAccountId), r.awsRegion!, r.eventID!, ts(r.eventTime), el(r.responseElements, 'user')]),
  },
  {
    file: 'iam-idc-user-denied-activity.sql',
    columns: ['recipientAccountId', 'awsRegion', 'eventSource', 'eventName', 'readOnly', 'errorCode', 'errorMessage', 'eventTime', 'eventID'],
    answer: (rs) =>
      rs
        .filter((r) => aliceLike(r) && (r.errorCode === 'AccessDenied' || like(r.errorCode ?? null, '%Unauthorized%')) && inW(r))
        .map((r) => [str(r.recipientAccountId), r.awsRegion!, r.eventSource!, r.eventName!, bool(r.readOnly), str(r.errorCode), str(r.errorMessage), ts(r.eventTime), r.eventID!]),
  },
  {
    file: 'iam-idc-user-modify-iam-policy.sql',
    columns: ['recipientAccountId', 'eventID', 'eventTime', 'roleName', 'policyDocument'],
    answer: (rs) => rs.filter((r) => aliceLike(r) && r.eventName === 'PutRolePolicy' && inW(r)).map((r) => [str(r.recipientAccountId), r.eventID!, ts(r.eventTime), el(r.requestParameters, 'roleName'), el(r.requestParameters, 'policyDocument')]),
  },
  {
    file: 'iam-idc-user-mutable-actions.sql',
    columns: ['eventSource', 'eventName', 'eventTime', 'eventID', 'errorCode'],
    answer: (rs) => rs.filter((r) => aliceLike(r) && r.readOnly === false && inW(r)).map((r) => [r.eventSource!, r.eventName!, ts(r.eventTime), r.eventID!, str(r.errorCode)]),
  },
  {
    file: 'iam-principal-by-launched-ec2-instance-id.sql',
    columns: ['principalid', 'eventName', 'eventTime', 'recipientAccountId', 'awsRegion'],
    answer: (rs) =>
      rs
        .filter((r) => r.responseElements != null && like(el(r.responseElements, 'instancesSet'), '%"instanceId":"i-b188560f"%') && inW(r) && r.eventName === 'RunInstances')
        .map((r) => [str(ui(r).principalId), r.eventName!, ts(r.eventTime), str(r.recipientAccountId), r.awsRegion!]),
  },
  {
    file: 'iam-role-activity.sql',
    columns: ['eventSource', 'eventName', 'eventTime', 'eventID', 'errorCode'],
    answer: (rs) => rs.filter((r) => inW(r) && ui(r).type === 'AssumedRole' && issuer(r).arn === ALICE_ROLE).map((r) => [r.eventSource!, r.eventName!, ts(r.eventTime), r.eventID!, str(r.errorCode)]),
  },
  {
    file: 'iam-role-assumed-by-iam-access-key.sql',
    columns: ['requestParameters', 'responseElements'],
    json: [0, 1],
    answer: (rs) => rs.filter((r) => r.eventName === 'AssumeRole' && inW(r) && ui(r).accessKeyId === ACCESS_KEY).map((r) => [mapText(r.requestParameters), mapText(r.responseElements)]),
  },
  {
    file: 'list-all-S3-PutObjects-Encryption-status.sql',
    columns: ['recipientAccountId', 'eventTime', 'S3BUCKET', 'S3OBJECT', 'ReqENCRYPTION', 'RespENCRYPTION'],
    orderedOn: [1],
    answer: (rs) =>
      rs
        .filter((r) => r.eventName === 'PutObject')
        .sort((a, b) => time(b) - time(a))
        .map((r) => [str(r.recipientAccountId), ts(r.eventTime), el(r.requestParameters, 'bucketName'), el(r.requestParameters, 'key'), el(r.requestParameters, 'x-amz-server-side-encryption'), el(r.responseElements, 'x-amz-server-side-encryption')]),
  },
  {
    file: 'rds-db-deleted-with-no-snapshot.sql',
    columns: ['DBCluster', 'UserName', 'DeletedTime'],
    answer: (rs) => rs.filter((r) => r.eventName === 'DeleteDBCluster' && el(r.requestParameters, 'skipFinalSnapshot') === 'true').map((r) => [el(r.requestParameters, 'dBClusterIdentifier'), str(issuer(r).userName), ts(r.eventTime)]),
  },
  {
    file: 's3-actions-by-iam-access-key.sql',
    columns: ['BucketName', 'ObjectName', 'eventName'],
    answer: (rs) =>
      rs
        .filter((r) => ['CopyObject', 'DeleteObject', 'DeleteObjects', 'GetObject', 'HeadObject', 'PutObject'].includes(r.eventName!) && inW(r) && ui(r).accessKeyId === ACCESS_KEY)
        .map((r) => [el(r.requestParameters, 'bucketName'), el(r.requestParameters, 'key'), r.eventName!]),
  },
  {
    file: 's3-buckets-public-access-block-historical-changes.sql',
    columns: ['bucketName', 'restrictPublicBuckets', 'blockPublicPolicy', 'publicAccessBlockConfiguration', 'eventName', 'eventTime', 'requestParameters', 'user', 'responseElements'],
    json: [6, 8],
    orderedOn: [0, 5],
    answer: (rs) =>
      rs
        .filter((r) => time(r) >= ms('2023-07-07 00:00:00') && r.eventSource === 's3.amazonaws.com' && el(r.requestParameters, 'bucketName') === 'demo-20230707' && ['PutPublicAccessBlock', 'DeletePublicAccessBlock', 'PutBucketPublicAccessBlock'].includes(r.eventName!))
        .sort((a, b) => cmp(el(a.requestParameters, 'bucketName'), el(b.requestParameters, 'bucketName')) || time(b) - time(a))
        .map((r) => {
          const config = el(r.requestParameters, 'PublicAccessBlockConfiguration');
          return [el(r.requestParameters, 'bucketName'), jsonScalar(config, '$.RestrictPublicBuckets'), jsonScalar(config, '$.BlockPublicPolicy'), config, r.eventName!, ts(r.eventTime), mapText(r.requestParameters), str(ui(r).arn), mapText(r.responseElements)];
        }),
  },
  {
    file: 's3-buckets-using-acls.sql',
    columns: ['Bucket', 'Region', 'AccountID'],
    orderedOn: [2, 1],
    answer: (rs) => {
      const rows = new Map<string, Cell[]>();
      for (const r of rs.filter((x) => el(x.additionalEventData, 'aclRequired') === 'Yes')) {
        const row = [el(r.requestParameters, 'bucketName'), r.awsRegion!, str(r.recipientAccountId)];
        rows.set(JSON.stringify(row), row);
      }
      return [...rows.values()].sort((a, b) => cmp(a[2]!, b[2]!) || cmp(a[1]!, b[1]!));
    },
  },
  {
    file: 'tag-history-by-resource.sql',
    columns: ['awsRegion', 'eventSource', 'resourceId', 'eventTime', 'eventName', 'key', 'value', 'identityarn'],
    orderedOn: [2, 5, 3],
    answer: (rs) =>
      rs
        .filter((r) => time(r) > ms('2022-01-01 00:00:00') && ['CreateTags', 'DeleteTags'].includes(r.eventName!))
        .map((r) => {
          const json = JSON.stringify(r);
          return [r.awsRegion!, r.eventSource!, jsonScalar(json, '$.requestParameters.resourcesSet.items[0].resourceId'), ts(r.eventTime), r.eventName!, jsonScalar(json, '$.requestParameters.tagSet.items[0].key'), jsonScalar(json, '$.requestParameters.tagSet.items[0].value'), str(ui(r).arn)];
        })
        .sort((a, b) => cmp(a[2]!, b[2]!) || cmp(a[5]!, b[5]!) || -cmp(a[3]!, b[3]!)),
  },
  {
    file: 'top-actions-by-iam-role.sql',
    columns: ['NumberEvents', 'eventSource', 'eventName'],
    orderedOn: [0],
    answer: (rs) =>
      groupCount(rs.filter((r) => inW(r) && ui(r).type === 'AssumedRole' && issuer(r).arn === ALICE_ROLE), (r) => [r.eventSource!, r.eventName!])
        .sort((a, b) => b.count - a.count)
        .map((g) => [String(g.count), ...g.key]),
  },
  {
    file: 'top-iam-actions-by-principal.sql',
    columns: ['apiCount', 'eventName', 'recipientAccountId', 'principalid'],
    orderedOn: [0],
    answer: (rs) =>
      groupCount(rs.filter((r) => ui(r).principalId != null && time(r) >= ms('2022-01-08 00:00:00') && r.eventSource === 'iam.amazonaws.com'), (r) => [r.eventName!, str(r.recipientAccountId), str(ui(r).principalId)])
        .sort((a, b) => b.count - a.count)
        .map((g) => [String(g.count), ...g.key]),
  },
  {
    file: 'user-added-to-admin-group.sql',
    columns: ['principalid', 'eventName', 'eventTime', 'username', 'groupname'],
    answer: (rs) =>
      rs
        .filter((r) => between(r, '2022-04-30 00:00:00', '2022-11-01 00:00:00') && r.eventName === 'AddUserToGroup' && like(el(r.requestParameters, 'groupName'), '%admin%'))
        .map((r) => [str(ui(r).principalId), r.eventName!, ts(r.eventTime), el(r.requestParameters, 'userName'), el(r.requestParameters, 'groupName')]),
  },
  {
    file: 'logs-by-region.sql',
    columns: ['awsRegion', 'eventSource', 'apiCount'],
    orderedOn: [2],
    answer: (rs) =>
      groupCount(rs.filter((r) => between(r, '2022-04-23 00:00:00', '2022-11-26 00:00:00')), (r) => [r.awsRegion!, r.eventSource!])
        .sort((a, b) => b.count - a.count)
        .map((g) => [...g.key, String(g.count)]),
  },
  {
    file: 'EstimateAmountOfConfigurationItems.sql',
    columns: ['recipientAccountId', 'awsRegion', 'eventSource', 'TotalPossibleCI'],
    orderedOn: [0, 3],
    answer: (rs) => {
      const prefixes = ['eks', 'ec2', 'vpc', 'ecs', 'iam', 'autoscaling', 's3', 'rds', 'backup', 'athena', 'cloudtrail', 'cloudfront', 'cloudformation', 'code', 'ecr', 'lambda', 'efs'];
      return groupCount(
        rs.filter((r) => prefixes.some((p) => r.eventSource!.startsWith(p)) && r.readOnly === false && r.managementEvent === true && between(r, '2023-10-01 00:00:00', '2023-10-30 00:00:00')),
        (r) => [str(r.recipientAccountId), r.awsRegion!, r.eventSource!],
      )
        .sort((a, b) => -cmp(a.key[0]!, b.key[0]!) || b.count - a.count)
        .map((g) => [...g.key, String(g.count)]);
    },
  },
  {
    file: 'resourceCompliance.sql',
    columns: ['eventTime', 'awsRegion', 'recipientAccountId', 'configRuleName', 'Compliance', 'ResourceType', 'ResourceName'],
    answer: (rs) =>
      rs
        .filter((r) => r.eventName === 'PutEvaluations' && between(r, '2023-11-16 00:00:00', '2023-11-17 00:00:00'))
        .map((r) => {
          const first = (path: string) => {
            const list = el(r.requestParameters, 'evaluations');
            const v = list === null ? undefined : jsonPath(JSON.stringify((JSON.parse(list) as unknown[])[0] ?? null), path);
            return scalar(v);
          };
          return { r, compliance: first('$.complianceType'), row: [ts(r.eventTime), r.awsRegion!, str(r.recipientAccountId), el(r.additionalEventData, 'configRuleName'), first('$.complianceType'), first('$.complianceResourceType'), first('$.complianceResourceId')] };
        })
        .filter((x) => x.compliance === 'COMPLIANT' || x.compliance === 'NON_COMPLIANT')
        .map((x) => x.row),
  },
];
