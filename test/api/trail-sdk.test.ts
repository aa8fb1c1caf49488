import {
  AddTagsCommand,
  CloudTrailClient,
  CreateTrailCommand,
  DeleteTrailCommand,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetInsightSelectorsCommand,
  GetTrailCommand,
  GetTrailStatusCommand,
  ListPublicKeysCommand,
  ListTagsCommand,
  ListTrailsCommand,
  PutEventSelectorsCommand,
  PutInsightSelectorsCommand,
  RemoveTagsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
  UpdateTrailCommand,
} from '@aws-sdk/client-cloudtrail';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { ACCOUNT, awsClients, cloudTrailBucketPolicy, cloudTrailKeyPolicy, createTrailBucket, KEY, ORGANIZATION, REGION, startTrailApi, uniqueBucket, type TrailApi } from './trail-helpers.js';

/**
 * Every trail operation through the AWS SDK for JavaScript v3 (the Smithy short X-Amz-Target),
 * against an API process on the real stack: what is written reads back member for member, and
 * CloudTrail's errors come back as the SDK's typed exceptions. The bucket, KMS key and SNS topic
 * are moto's, checked by the API as CloudTrail checks them.
 */
let api: TrailApi;
const aws = awsClients();
const bucket = uniqueBucket('trail-sdk');
const bare = uniqueBucket('trail-sdk-nopolicy');
let keyArn: string;
let topicArn: string;
const name = `sdk-trail-${Date.now().toString(36)}`;
const arn = `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/${name}`;

function client(region = REGION): CloudTrailClient {
  return new CloudTrailClient({ endpoint: api.url, region, credentials: { accessKeyId: KEY.id, secretAccessKey: KEY.secret }, maxAttempts: 1 });
}

beforeAll(async () => {
  api = await startTrailApi({ OPENTRAIL_API_TRAIL_WRITES_PER_SECOND: '100', OPENTRAIL_API_TRAIL_READS_PER_SECOND: '100', OPENTRAIL_API_MAX_TRAILS_PER_REGION: '3' });
  await createTrailBucket(aws.s3, bucket, { prefix: 'audit' });
  await createTrailBucket(aws.s3, bare, { policy: null });
  keyArn = (await aws.kms.send(new CreateKeyCommand({ Description: 'trail-sdk', Policy: cloudTrailKeyPolicy() }))).KeyMetadata!.Arn!;
  topicArn = (await aws.sns.send(new CreateTopicCommand({ Name: `trail-sdk-${Date.now().toString(36)}` }))).TopicArn!;
}, 120_000);

afterAll(async () => {
  await api?.stop();
  aws.destroy();
});

describe('trail operations through @aws-sdk/client-cloudtrail', () => {
  it('creates a trail with every member and reads it back as written', async () => {
    const ct = client();
    const created = await ct.send(
      new CreateTrailCommand({
        Name: name,
        S3BucketName: bucket,
        S3KeyPrefix: 'audit',
        // moto's topics live in its own account: named by ARN (CloudTrail takes a name or an ARN and echoes it).
        SnsTopicName: topicArn,
        IncludeGlobalServiceEvents: true,
        IsMultiRegionTrail: true,
        EnableLogFileValidation: true,
        CloudWatchLogsLogGroupArn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:trail-sdk:*`,
        CloudWatchLogsRoleArn: `arn:aws:iam::${ACCOUNT}:role/trail-sdk`,
        KmsKeyId: keyArn.slice(keyArn.lastIndexOf('/') + 1),
        TagsList: [{ Key: 'team', Value: 'audit' }, { Key: 'flag' }],
      }),
    );
    const expected = {
      Name: name,
      S3BucketName: bucket,
      S3KeyPrefix: 'audit',
      SnsTopicName: topicArn,
      SnsTopicARN: topicArn,
      IncludeGlobalServiceEvents: true,
      IsMultiRegionTrail: true,
      TrailARN: arn,
      LogFileValidationEnabled: true,
      CloudWatchLogsLogGroupArn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:trail-sdk:*`,
      CloudWatchLogsRoleArn: `arn:aws:iam::${ACCOUNT}:role/trail-sdk`,
      // A key id given, the key's ARN stored and returned, as CloudTrail does.
      KmsKeyId: keyArn,
      IsOrganizationTrail: false,
    };
    const { $metadata: _m, ...createdMembers } = created;
    expect(createdMembers).toEqual(expected);
    const full = { ...expected, HomeRegion: REGION, HasCustomEventSelectors: false, HasInsightSelectors: false };
    expect((await ct.send(new GetTrailCommand({ Name: name }))).Trail).toEqual(full);
    expect((await ct.send(new GetTrailCommand({ Name: arn }))).Trail).toEqual(full);
    expect((await ct.send(new DescribeTrailsCommand({ trailNameList: [arn] }))).trailList).toEqual([full]);
    expect((await ct.send(new DescribeTrailsCommand({}))).trailList).toEqual([full]);
    // A multi-region trail shows as a shadow in every other region, by ARN or in the full list.
    const west = client('eu-west-1');
    expect((await west.send(new DescribeTrailsCommand({}))).trailList).toEqual([full]);
    expect((await west.send(new DescribeTrailsCommand({ includeShadowTrails: false }))).trailList).toEqual([]);
    expect((await west.send(new GetTrailCommand({ Name: name }))).Trail).toEqual(full);
    expect((await ct.send(new ListTrailsCommand({}))).Trails).toEqual([{ TrailARN: arn, Name: name, HomeRegion: REGION }]);
    const tags = await ct.send(new ListTagsCommand({ ResourceIdList: [arn] }));
    expect(tags.ResourceTagList).toEqual([{ ResourceId: arn, TagsList: [{ Key: 'team', Value: 'audit' }, { Key: 'flag' }] }]);
  });

  it('starts and stops logging, with the times in GetTrailStatus', async () => {
    const ct = client();
    const before = await ct.send(new GetTrailStatusCommand({ Name: name }));
    expect(before.IsLogging).toBe(false);
    expect(before.StartLoggingTime).toBeUndefined();
    const t0 = Date.now();
    await ct.send(new StartLoggingCommand({ Name: arn }));
    const started = await ct.send(new GetTrailStatusCommand({ Name: name }));
    expect(started.IsLogging).toBe(true);
    expect(started.StartLoggingTime!.getTime()).toBeGreaterThanOrEqual(t0 - 1000);
    expect(started.TimeLoggingStarted).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await ct.send(new StopLoggingCommand({ Name: name }));
    const stopped = await ct.send(new GetTrailStatusCommand({ Name: arn }));
    expect(stopped.IsLogging).toBe(false);
    expect(stopped.StopLoggingTime!.getTime()).toBeGreaterThanOrEqual(started.StartLoggingTime!.getTime());
    expect(stopped.StartLoggingTime).toEqual(started.StartLoggingTime);
  });

  it('puts and gets basic, then advanced event selectors, and Insights selectors', async () => {
    const ct = client();
    expect((await ct.send(new GetEventSelectorsCommand({ TrailName: name }))).EventSelectors).toEqual([{ ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: [] }]);
    const basic = [
      { ReadWriteType: 'WriteOnly' as const, IncludeManagementEvents: true, DataResources: [{ Type: 'AWS::S3::Object', Values: [`arn:aws:s3:::${bucket}/`] }], ExcludeManagementEventSources: ['kms.amazonaws.com'] },
      { ReadWriteType: 'ReadOnly' as const, IncludeManagementEvents: false, DataResources: [{ Type: 'AWS::Lambda::Function', Values: ['arn:aws:lambda'] }], ExcludeManagementEventSources: [] },
    ];
    const put = await ct.send(new PutEventSelectorsCommand({ TrailName: name, EventSelectors: basic }));
    expect(put.TrailARN).toBe(arn);
    expect(put.EventSelectors).toEqual(basic);
    expect((await ct.send(new GetEventSelectorsCommand({ TrailName: arn }))).EventSelectors).toEqual(basic);
    expect((await ct.send(new GetTrailCommand({ Name: name }))).Trail?.HasCustomEventSelectors).toBe(true);

    const advanced = [
      { Name: 'management', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }, { Field: 'readOnly', Equals: ['false'] }] },
      {
        Name: 'objects',
        FieldSelectors: [
          { Field: 'eventCategory', Equals: ['Data'] },
          { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
          { Field: 'resources.ARN', StartsWith: [`arn:aws:s3:::${bucket}/a/`], NotEndsWith: ['.tmp'] },
        ],
      },
    ];
    const putAdvanced = await ct.send(new PutEventSelectorsCommand({ TrailName: name, AdvancedEventSelectors: advanced }));
    expect(putAdvanced.AdvancedEventSelectors).toEqual(advanced);
    const got = await ct.send(new GetEventSelectorsCommand({ TrailName: name }));
    expect(got.AdvancedEventSelectors).toEqual(advanced);
    expect(got.EventSelectors).toBeUndefined();

    await expect(ct.send(new GetInsightSelectorsCommand({ TrailName: name }))).rejects.toMatchObject({ name: 'InsightNotEnabledException' });
    const insights = [{ InsightType: 'ApiCallRateInsight' as const }, { InsightType: 'ApiErrorRateInsight' as const, EventCategories: ['Management' as const] }];
    expect((await ct.send(new PutInsightSelectorsCommand({ TrailName: name, InsightSelectors: insights }))).InsightSelectors).toEqual(insights);
    expect((await ct.send(new GetInsightSelectorsCommand({ TrailName: arn }))).InsightSelectors).toEqual(insights);
    expect((await ct.send(new GetTrailCommand({ Name: name }))).Trail?.HasInsightSelectors).toBe(true);
    await ct.send(new PutInsightSelectorsCommand({ TrailName: name, InsightSelectors: [] }));
    await expect(ct.send(new GetInsightSelectorsCommand({ TrailName: name }))).rejects.toMatchObject({ name: 'InsightNotEnabledException' });

    await expect(ct.send(new PutEventSelectorsCommand({ TrailName: name, AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventTime', Equals: ['x'] }] }] }))).rejects.toMatchObject({ name: 'InvalidEventSelectorsException' });
    await expect(ct.send(new PutEventSelectorsCommand({ TrailName: name, EventSelectors: Array.from({ length: 6 }, () => ({ ReadWriteType: 'All' as const })) }))).rejects.toMatchObject({ name: 'InvalidEventSelectorsException' });
    // The refused puts changed nothing.
    expect((await ct.send(new GetEventSelectorsCommand({ TrailName: name }))).AdvancedEventSelectors).toEqual(advanced);
  });

  it('adds and removes tags by trail ARN', async () => {
    const ct = client();
    await ct.send(new AddTagsCommand({ ResourceId: arn, TagsList: [{ Key: 'team', Value: 'security' }, { Key: 'cost', Value: '42' }] }));
    await ct.send(new RemoveTagsCommand({ ResourceId: arn, TagsList: [{ Key: 'flag' }] }));
    expect((await ct.send(new ListTagsCommand({ ResourceIdList: [arn] }))).ResourceTagList).toEqual([{ ResourceId: arn, TagsList: [{ Key: 'team', Value: 'security' }, { Key: 'cost', Value: '42' }] }]);
    await expect(ct.send(new AddTagsCommand({ ResourceId: name, TagsList: [{ Key: 'a', Value: 'b' }] }))).rejects.toMatchObject({ name: 'CloudTrailARNInvalidException' });
    await expect(ct.send(new AddTagsCommand({ ResourceId: arn.replace(name, 'nope-trail'), TagsList: [{ Key: 'a', Value: 'b' }] }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(ct.send(new AddTagsCommand({ ResourceId: arn, TagsList: [{ Key: 'aws:reserved', Value: 'b' }] }))).rejects.toMatchObject({ name: 'InvalidTagParameterException' });
    await expect(ct.send(new AddTagsCommand({ ResourceId: arn, TagsList: Array.from({ length: 49 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) }))).rejects.toMatchObject({ name: 'TagsLimitExceededException' });
  });

  it('updates a trail and refuses changes from another region', async () => {
    const ct = client();
    await aws.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: cloudTrailBucketPolicy(bucket) }));
    const updated = await ct.send(new UpdateTrailCommand({ Name: name, S3KeyPrefix: '', IsMultiRegionTrail: false, EnableLogFileValidation: false, KmsKeyId: '', SnsTopicName: '', CloudWatchLogsLogGroupArn: '', CloudWatchLogsRoleArn: '' }));
    const { $metadata: _m, ...members } = updated;
    expect(members).toEqual({ Name: name, S3BucketName: bucket, IncludeGlobalServiceEvents: true, IsMultiRegionTrail: false, TrailARN: arn, LogFileValidationEnabled: false, IsOrganizationTrail: false });
    expect((await ct.send(new GetTrailCommand({ Name: name }))).Trail).toEqual({ ...members, HomeRegion: REGION, HasCustomEventSelectors: true, HasInsightSelectors: false });
    // No longer multi-region: no shadow elsewhere.
    await expect(client('eu-west-1').send(new GetTrailCommand({ Name: name }))).rejects.toMatchObject({ name: 'TrailNotFoundException' });
    await ct.send(new UpdateTrailCommand({ Name: name, IsMultiRegionTrail: true }));
    await expect(client('eu-west-1').send(new UpdateTrailCommand({ Name: name, EnableLogFileValidation: true }))).rejects.toMatchObject({ name: 'InvalidHomeRegionException' });
    await expect(client('eu-west-1').send(new StopLoggingCommand({ Name: arn }))).rejects.toMatchObject({ name: 'InvalidHomeRegionException' });
    await expect(ct.send(new UpdateTrailCommand({ Name: name, IncludeGlobalServiceEvents: false }))).rejects.toMatchObject({ name: 'InvalidParameterCombinationException' });
    await expect(ct.send(new UpdateTrailCommand({ Name: name, S3BucketName: bare }))).rejects.toMatchObject({ name: 'InsufficientS3BucketPolicyException', message: `Incorrect S3 bucket policy is detected for bucket: ${bare}` });
    await expect(ct.send(new UpdateTrailCommand({ Name: name, S3KeyPrefix: 'elsewhere' }))).rejects.toMatchObject({ name: 'InsufficientS3BucketPolicyException' });
  });

  it('answers bad requests with CloudTrail\'s errors', async () => {
    const ct = client();
    const create = (input: Partial<ConstructorParameters<typeof CreateTrailCommand>[0]>) => ct.send(new CreateTrailCommand({ Name: 'other-trail', S3BucketName: bucket, ...input }));
    await expect(create({ Name: name })).rejects.toMatchObject({ name: 'TrailAlreadyExistsException', message: `Trail ${name} already exists for customer: ${ACCOUNT}` });
    await expect(create({ Name: 'ab' })).rejects.toMatchObject({ name: 'InvalidTrailNameException', message: 'Trail name too short. Minimum allowed length: 3 characters. Specified name length: 2 characters.' });
    await expect(create({ Name: '-abc' })).rejects.toMatchObject({ name: 'InvalidTrailNameException' });
    await expect(create({ S3BucketName: 'Not_A_Bucket' })).rejects.toMatchObject({ name: 'InvalidS3BucketNameException' });
    await expect(create({ S3BucketName: uniqueBucket('missing') })).rejects.toMatchObject({ name: 'S3BucketDoesNotExistException' });
    await expect(create({ S3BucketName: bare })).rejects.toMatchObject({ name: 'InsufficientS3BucketPolicyException' });
    await expect(create({ S3KeyPrefix: '/lead' })).rejects.toMatchObject({ name: 'InvalidS3PrefixException' });
    await expect(create({ KmsKeyId: 'not a key' })).rejects.toMatchObject({ name: 'InvalidKmsKeyIdException' });
    await expect(create({ KmsKeyId: '00000000-0000-0000-0000-000000000000' })).rejects.toMatchObject({ name: 'KmsKeyNotFoundException' });
    const privateKey = (await aws.kms.send(new CreateKeyCommand({ Description: 'no cloudtrail grant' }))).KeyMetadata!.Arn!;
    await expect(create({ KmsKeyId: privateKey })).rejects.toMatchObject({ name: 'InsufficientEncryptionPolicyException' });
    await expect(create({ SnsTopicName: 'no-such-topic' })).rejects.toMatchObject({ name: 'InsufficientSnsTopicPolicyException' });
    await expect(create({ SnsTopicName: 'bad topic!' })).rejects.toMatchObject({ name: 'InvalidSnsTopicNameException' });
    await expect(create({ IsMultiRegionTrail: true, IncludeGlobalServiceEvents: false })).rejects.toMatchObject({ name: 'InvalidParameterCombinationException' });
    await expect(create({ CloudWatchLogsLogGroupArn: 'arn:aws:logs:us-east-1:111122223333:log-group:x:*' })).rejects.toMatchObject({ name: 'InvalidCloudWatchLogsRoleArnException' });
    await expect(ct.send(new GetTrailStatusCommand({ Name: 'no-such-trail' }))).rejects.toMatchObject({ name: 'TrailNotFoundException', message: `Unknown trail: arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/no-such-trail for the user: ${ACCOUNT}` });
    await expect(ct.send(new GetTrailCommand({ Name: 'arn:aws:cloudtrail:us-east-1:1:trail/x' }))).rejects.toMatchObject({ name: 'CloudTrailARNInvalidException' });
    await expect(ct.send(new DeleteTrailCommand({ Name: 'no-such-trail' }))).rejects.toMatchObject({ name: 'TrailNotFoundException' });
    await expect(ct.send(new ListPublicKeysCommand({ NextToken: 'bm90IGEgdG9rZW4' }))).rejects.toMatchObject({ name: 'InvalidTokenException' });
    expect((await ct.send(new ListPublicKeysCommand({}))).PublicKeyList).toEqual([]);
  });

  it('keeps trails in the trails topic: a second API on the same topics serves them, and sees changes live', async () => {
    const second = await startTrailApi({ OPENTRAIL_API_TRAIL_WRITES_PER_SECOND: '100', OPENTRAIL_API_TRAIL_READS_PER_SECOND: '100' }, api.prefix);
    try {
      const other = new CloudTrailClient({ endpoint: second.url, region: REGION, credentials: { accessKeyId: KEY.id, secretAccessKey: KEY.secret }, maxAttempts: 1 });
      expect((await other.send(new GetTrailCommand({ Name: name }))).Trail).toEqual((await client().send(new GetTrailCommand({ Name: name }))).Trail);
      await other.send(new StartLoggingCommand({ Name: name }));
      await waitFor(async () => (await client().send(new GetTrailStatusCommand({ Name: name }))).IsLogging === true || undefined, 'the first API to see StartLogging made through the second');
      await client().send(new StopLoggingCommand({ Name: name }));
    } finally {
      await second.stop();
    }
  });

  it('holds organization trails and the per-region quota', async () => {
    const ct = client();
    // The organization path needs its own grant (AWSLogs/<org id>/*) in the bucket policy.
    const orgTrail = { Name: 'org-trail', S3BucketName: bucket, IsOrganizationTrail: true, IsMultiRegionTrail: true };
    await expect(ct.send(new CreateTrailCommand(orgTrail))).rejects.toMatchObject({ name: 'InsufficientS3BucketPolicyException' });
    const policy = JSON.parse(cloudTrailBucketPolicy(bucket)) as { Statement: { Resource: string | string[] }[] };
    policy.Statement[1]!.Resource = [`arn:aws:s3:::${bucket}/AWSLogs/${ACCOUNT}/*`, `arn:aws:s3:::${bucket}/AWSLogs/${ORGANIZATION}/*`];
    await aws.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
    const org = await ct.send(new CreateTrailCommand(orgTrail));
    expect(org.IsOrganizationTrail).toBe(true);
    expect((await ct.send(new GetTrailCommand({ Name: 'org-trail' }))).Trail).toMatchObject({ IsOrganizationTrail: true, IsMultiRegionTrail: true });
    await ct.send(new CreateTrailCommand({ Name: 'third-trail', S3BucketName: bucket }));
    await expect(ct.send(new CreateTrailCommand({ Name: 'fourth-trail', S3BucketName: bucket }))).rejects.toMatchObject({ name: 'MaximumNumberOfTrailsExceededException' });
    await ct.send(new DeleteTrailCommand({ Name: 'third-trail' }));
    await ct.send(new DeleteTrailCommand({ Name: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail' }));
    await ct.send(new DeleteTrailCommand({ Name: name }));
    await expect(ct.send(new GetTrailCommand({ Name: name }))).rejects.toMatchObject({ name: 'TrailNotFoundException' });
    expect((await ct.send(new ListTrailsCommand({}))).Trails).toEqual([]);
  });
});
