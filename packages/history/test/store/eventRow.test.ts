import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toApiCallEvent, withDefaults, writeRecordJson, type CloudTrailRecord } from '@opentrail/cloudtrail';
import type { UserIdentity } from '@opentrail/serde';
import { dayOf, eventResources, eventUsername, plainOfArn, toEventRow, UnstorableEventError } from '../../src/store/index.js';

const FIXTURES = join(import.meta.dirname, '../../../../test/fixtures/cloudtrail-records.ndjson');

function identity(fields: Partial<UserIdentity>): UserIdentity {
  return toApiCallEvent(withDefaults({ eventVersion: '1.09', eventTime: '2026-11-01T00:00:00Z', awsRegion: 'us-east-1', eventID: 'e', userIdentity: fields as never })).userIdentity!;
}

function event(record: Partial<CloudTrailRecord>) {
  return toApiCallEvent(withDefaults({ eventVersion: '1.09', eventTime: '2026-11-01T10:00:00Z', awsRegion: 'eu-west-1', eventID: 'e-1', recipientAccountId: '111122223333', ...record }));
}

describe('Username (cloudtrail-spec.md §5.1)', () => {
  it.each([
    ['Root without userName', { type: 'Root', arn: 'arn:aws:iam::111122223333:root', principalId: '111122223333' }, 'root'],
    ['Root with userName', { type: 'Root', userName: 'owner', arn: 'arn:aws:iam::111122223333:root' }, 'owner'],
    ['AssumedRole: the session name', { type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/my-role/my-session-name', principalId: 'AROAX:my-session-name' }, 'my-session-name'],
    ['IAMUser', { type: 'IAMUser', userName: 'alice', arn: 'arn:aws:iam::111122223333:user/dev/alice' }, 'alice'],
    ['SAMLUser', { type: 'SAMLUser', userName: 'bob@example.com', principalId: 'x:bob@example.com' }, 'bob@example.com'],
    ['WebIdentityUser', { type: 'WebIdentityUser', userName: 'cognito-sub', principalId: 'pool:cognito-sub' }, 'cognito-sub'],
    ['FederatedUser: the ARN’s last segment', { type: 'FederatedUser', arn: 'arn:aws:sts::111122223333:federated-user/Bob', principalId: '111122223333:Bob' }, 'Bob'],
    ['AWSService: invokedBy', { type: 'AWSService', invokedBy: 'lambda.amazonaws.com' }, 'lambda.amazonaws.com'],
    ['AWSAccount: principal id after its last colon', { type: 'AWSAccount', principalId: 'AIDAEXAMPLE:partner', accountId: '444455556666' }, 'partner'],
    ['IdentityCenterUser without ARN: the principal id', { type: 'IdentityCenterUser', principalId: '9067c1c2-e0a1-7064-9d4b-0fd7b4d5a2d4', accountId: '111122223333' }, '9067c1c2-e0a1-7064-9d4b-0fd7b4d5a2d4'],
    ['unknown type with only an account', { type: 'Unknown', accountId: '111122223333' }, '111122223333'],
  ] as const)('%s', (_name, fields, expected) => {
    expect(eventUsername(identity(fields as Partial<UserIdentity>))).toBe(expected);
  });

  it('is null when the event has no userIdentity', () => {
    expect(eventUsername(null)).toBeNull();
  });
});

describe('resources', () => {
  it('uses the record’s resources member: shown by ARN, indexed by ARN and plain name', () => {
    const r = eventResources(event({ eventSource: 'sts.amazonaws.com', resources: [{ ARN: 'arn:aws:iam::111122223333:role/ops/Admin', accountId: '111122223333', type: 'AWS::IAM::Role' }] }));
    expect(r.shown).toEqual([{ ResourceType: 'AWS::IAM::Role', ResourceName: 'arn:aws:iam::111122223333:role/ops/Admin' }]);
    expect(r.keys).toEqual([
      { type: 'AWS::IAM::Role', name: 'arn:aws:iam::111122223333:role/ops/Admin' },
      { type: 'AWS::IAM::Role', name: 'Admin' },
    ]);
  });

  // The derivation table, one case per resource type it knows.
  it.each([
    ['s3.amazonaws.com', { bucketName: 'logs', key: 'a/b.txt' }, null, [['AWS::S3::Bucket', 'logs', 'arn:aws:s3:::logs'], ['AWS::S3::Object', 'a/b.txt', 'arn:aws:s3:::logs/a/b.txt']]],
    ['iam.amazonaws.com', { userName: 'alice' }, null, [['AWS::IAM::User', 'alice', 'arn:aws:iam::111122223333:user/alice']]],
    ['iam.amazonaws.com', { roleName: 'deployer', policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }, null, [['AWS::IAM::Role', 'deployer', 'arn:aws:iam::111122223333:role/deployer'], ['AWS::IAM::Policy', 'ReadOnlyAccess', 'arn:aws:iam::aws:policy/ReadOnlyAccess']]],
    ['iam.amazonaws.com', { roleName: 'r', policyName: 'inline' }, null, [['AWS::IAM::Role', 'r', 'arn:aws:iam::111122223333:role/r'], ['AWS::IAM::Policy', 'inline', undefined]]],
    ['ec2.amazonaws.com', { instancesSet: { items: [{ instanceId: 'i-1' }, { instanceId: 'i-2' }] } }, null, [['AWS::EC2::Instance', 'i-1', 'arn:aws:ec2:eu-west-1:111122223333:instance/i-1'], ['AWS::EC2::Instance', 'i-2', 'arn:aws:ec2:eu-west-1:111122223333:instance/i-2']]],
    ['ec2.amazonaws.com', { groupName: 'web' }, { groupId: 'sg-123' }, [['AWS::EC2::SecurityGroup', 'sg-123', 'arn:aws:ec2:eu-west-1:111122223333:security-group/sg-123']]],
    ['ec2.amazonaws.com', { volumeId: 'vol-9', vpcId: 'vpc-7' }, null, [['AWS::EC2::Volume', 'vol-9', 'arn:aws:ec2:eu-west-1:111122223333:volume/vol-9'], ['AWS::EC2::VPC', 'vpc-7', 'arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-7']]],
    ['lambda.amazonaws.com', { functionName: 'arn:aws:lambda:eu-west-1:111122223333:function:resize:3' }, null, [['AWS::Lambda::Function', 'resize', 'arn:aws:lambda:eu-west-1:111122223333:function:resize:3']]],
    ['lambda.amazonaws.com', { functionName: 'resize' }, null, [['AWS::Lambda::Function', 'resize', 'arn:aws:lambda:eu-west-1:111122223333:function:resize']]],
    ['kms.amazonaws.com', { keyId: '1234abcd-12ab-34cd-56ef-1234567890ab' }, null, [['AWS::KMS::Key', '1234abcd-12ab-34cd-56ef-1234567890ab', 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab']]],
    ['kms.amazonaws.com', { keyId: 'alias/app' }, null, [['AWS::KMS::Key', 'alias/app', undefined]]],
    ['rds.amazonaws.com', { dBInstanceIdentifier: 'orders' }, null, [['AWS::RDS::DBInstance', 'orders', 'arn:aws:rds:eu-west-1:111122223333:db:orders']]],
    ['dynamodb.amazonaws.com', { tableName: 'Music' }, null, [['AWS::DynamoDB::Table', 'Music', 'arn:aws:dynamodb:eu-west-1:111122223333:table/Music']]],
    ['sns.amazonaws.com', { topicArn: 'arn:aws:sns:eu-west-1:111122223333:alerts' }, null, [['AWS::SNS::Topic', 'alerts', 'arn:aws:sns:eu-west-1:111122223333:alerts']]],
    ['sqs.amazonaws.com', { queueUrl: 'https://sqs.eu-west-1.amazonaws.com/111122223333/jobs' }, null, [['AWS::SQS::Queue', 'jobs', 'arn:aws:sqs:eu-west-1:111122223333:jobs']]],
    ['cloudtrail.amazonaws.com', { name: 'main-trail' }, null, [['AWS::CloudTrail::Trail', 'main-trail', 'arn:aws:cloudtrail:eu-west-1:111122223333:trail/main-trail']]],
  ] as const)('%s %j %j', (source, request, response, expected) => {
    const r = eventResources(event({ eventSource: source, requestParameters: request, responseElements: response }));
    expect(r.shown).toEqual(expected.map(([type, name]) => ({ ResourceType: type, ResourceName: name })));
    for (const [type, name, arn] of expected) {
      expect(r.keys).toContainEqual({ type, name });
      if (arn) expect(r.keys).toContainEqual({ type, name: arn });
    }
    // Nothing else is indexed than the forms named above (and the raw value when it was neither).
    const named = new Set<string>(expected.flatMap(([, name, arn]) => [name, arn ?? name]));
    for (const key of r.keys) expect(named.has(key.name) || Object.values(request).includes(key.name as never) || JSON.stringify(request).includes(key.name)).toBe(true);
  });

  it('derives nothing for a service outside the table, or from members of the wrong type', () => {
    expect(eventResources(event({ eventSource: 'ssm.amazonaws.com', requestParameters: { name: 'x' } })).keys).toEqual([]);
    expect(eventResources(event({ eventSource: 's3.amazonaws.com', requestParameters: { bucketName: { nested: 'x' } } })).keys).toEqual([]);
    expect(eventResources(event({ eventSource: 's3.amazonaws.com', requestParameters: { ['__proto__']: { bucketName: 'x' } } })).keys).toEqual([]);
  });

  it('plainOfArn: the last segment, S3 keeps bucket/key', () => {
    expect(plainOfArn('arn:aws:iam::1:role/a/b/c')).toBe('c');
    expect(plainOfArn('arn:aws:sns:us-east-1:1:topic-x')).toBe('topic-x');
    expect(plainOfArn('arn:aws:s3:::bucket/k/1')).toBe('bucket/k/1');
    expect(plainOfArn('not-an-arn')).toBeUndefined();
  });

  it('never throws and stays bounded on arbitrary request parameters', () => {
    fc.assert(
      fc.property(fc.constantFrom('s3.amazonaws.com', 'ec2.amazonaws.com', 'iam.amazonaws.com', 'sqs.amazonaws.com'), fc.jsonValue({ maxDepth: 6 }), (source, params) => {
        const r = eventResources(event({ eventSource: source, requestParameters: params as never }));
        expect(r.keys.length).toBeLessThanOrEqual(4 * 100 * 3);
        for (const k of r.keys) expect(typeof k.name).toBe('string');
      }),
      { numRuns: 300 },
    );
  });
});

describe('toEventRow', () => {
  const records = readFileSync(FIXTURES, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as CloudTrailRecord);

  it('keeps the archiver’s line byte for byte and fills every NOT NULL column, for the whole corpus', () => {
    expect(records.length).toBeGreaterThan(400);
    for (const record of records) {
      const e = toApiCallEvent(withDefaults(record));
      const row = toEventRow(e);
      expect(row.record).toBe(writeRecordJson(e));
      expect(row.eventId).toBe(e.eventID);
      expect(row.region).toBe(e.awsRegion);
      expect(row.day).toBe(e.eventTime.slice(0, 10).replaceAll('-', ''));
      expect(['Management', 'Data', 'Insight', 'NetworkActivity']).toContain(row.eventCategory);
    }
  });

  it('maps the lookup columns', () => {
    const row = toEventRow(event({
      eventSource: 'ec2.amazonaws.com', eventName: 'RunInstances', readOnly: false, errorCode: 'Client.UnauthorizedOperation', sourceIPAddress: '203.0.113.9',
      userIdentity: { type: 'IAMUser', userName: 'alice', accessKeyId: 'AKIAEXAMPLE', accountId: '111122223333' },
      requestParameters: { instancesSet: { items: [{ instanceId: 'i-1' }] } },
    }));
    expect(row).toMatchObject({ eventName: 'RunInstances', eventSource: 'ec2.amazonaws.com', readOnly: false, username: 'alice', accessKeyId: 'AKIAEXAMPLE', errorCode: 'Client.UnauthorizedOperation', sourceIp: '203.0.113.9', accountId: '111122223333', eventCategory: 'Management', day: '20261101' });
    expect(row.resources).toEqual([{ ResourceType: 'AWS::EC2::Instance', ResourceName: 'i-1' }]);
  });

  it('reads the day and instant of any eventTime as the Date does: from the text in CloudTrail’s form, through the instant otherwise', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(9999, 11, 31) }), (ms) => {
        const canonical = new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
        for (const eventTime of [canonical, new Date(ms).toISOString(), canonical.replace('Z', '+05:30')]) {
          const row = toEventRow(event({ eventTime }));
          expect(row.timeMs).toBe(Date.parse(eventTime));
          expect(row.day).toBe(dayOf(Date.parse(eventTime)));
        }
      }),
    );
  });

  it('an Insights record is category Insight', () => {
    const row = toEventRow(event({ eventType: 'AwsCloudTrailInsight', eventCategory: 'Insight', eventSource: 'ec2.amazonaws.com', eventName: 'RunInstances' }));
    expect(row.eventCategory).toBe('Insight');
  });

  it('refuses a lone surrogate, naming the member (PostgreSQL would store U+FFFD instead)', () => {
    expect(() => toEventRow(event({ eventName: 'Get\ud800Object' }))).toThrow(UnstorableEventError);
    expect(() => toEventRow(event({ eventName: 'Get\ud800Object' }))).toThrow(/eventName/);
    expect(toEventRow(event({ eventName: 'Get😀Object' })).eventName).toBe('Get😀Object');
  });
});
