import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { configTrailRecord, InMemoryTrailStore, parseTrail } from '@opentrail/trails';
import { ApiError } from '../src/errors.js';
import { Operations } from '../src/operations.js';
import { RateLimiter } from '../src/rateLimit.js';
import type { TrailResources } from '../src/trailResources.js';

const T = Date.UTC(2026, 5, 1);
const ACCOUNT = '111122223333';
const east = { accessKeyId: 'AKIA', region: 'us-east-1', accountId: ACCOUNT };
const west = { ...east, region: 'eu-west-1' };
const arnOf = (name: string, region = 'us-east-1') => `arn:aws:cloudtrail:${region}:${ACCOUNT}:trail/${name}`;

/** S3, KMS and SNS as the checks see them: a set of buckets with good policies, keys and topics. */
class FakeResources implements TrailResources {
  buckets = new Set(['logs']);
  badPolicy = new Set(['open']);
  keys = new Map([['1234abcd-12ab-34cd-56ef-1234567890ab', 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab']]);
  topics = new Set([`arn:aws:sns:us-east-1:${ACCOUNT}:alerts`]);
  bucketChecks: string[] = [];

  async checkBucket(o: { bucket: string; prefix?: string }) {
    this.bucketChecks.push(`${o.bucket}/${o.prefix ?? ''}`);
    if (this.badPolicy.has(o.bucket)) throw new ApiError('InsufficientS3BucketPolicyException', `Incorrect S3 bucket policy is detected for bucket: ${o.bucket}`);
    if (!this.buckets.has(o.bucket)) throw new ApiError('S3BucketDoesNotExistException', `S3 bucket does not exist: ${o.bucket}`);
  }

  async resolveKmsKey(keyId: string) {
    if (keyId === 'alias/no-grant') throw new ApiError('InsufficientEncryptionPolicyException', 'Insufficient permissions to access KMS key');
    const arn = this.keys.get(keyId) ?? [...this.keys.values()].find((a) => a === keyId);
    if (!arn) throw new ApiError('KmsKeyNotFoundException', `KMS key not found: ${keyId}`);
    return arn;
  }

  async checkSnsTopic(topicArn: string) {
    if (!this.topics.has(topicArn)) throw new ApiError('InsufficientSnsTopicPolicyException', 'SNS Topic does not exist or the topic policy is incorrect');
  }
}

let store: InMemoryTrailStore;
let resources: FakeResources;
let now: number;
let ops: Operations;
const call = (operation: string, input: Record<string, unknown>, caller = east) => ops.run({ api: 'cloudtrail', operation }, input, caller);
const code = (operation: string, input: Record<string, unknown>, caller = east) => call(operation, input, caller).then(() => 'ok', (e: ApiError) => e.code);

beforeEach(() => {
  store = new InMemoryTrailStore([configTrailRecord(parseTrail({ name: 'configured', accountId: ACCOUNT, homeRegion: 'us-east-1', bucket: 'logs', regions: ['us-east-1'] }), T)]);
  resources = new FakeResources();
  now = T + 1000;
  ops = new Operations({ store, keys: { keys: new Map() }, activity: { activity: () => ({ latestDeliveryTime: T + 500, latestDeliveryError: 'AccessDenied', latestNotificationTime: T + 600 }) }, resources, organizationId: 'o-abcdefghij', maxTrailsPerRegion: 3, now: () => now });
});

describe('CreateTrail', () => {
  it('stores the trail not logging, with CloudTrail\'s defaults, and answers CreateTrailResponse', async () => {
    const out = await call('CreateTrail', { Name: 'new-trail', S3BucketName: 'logs', TagsList: [{ Key: 'a', Value: 'b' }] });
    expect(out).toEqual({ Name: 'new-trail', S3BucketName: 'logs', IncludeGlobalServiceEvents: true, IsMultiRegionTrail: false, TrailARN: arnOf('new-trail'), LogFileValidationEnabled: false, IsOrganizationTrail: false });
    const record = store.get('new-trail')!;
    expect(record).toMatchObject({ isLogging: false, origin: 'api', createdAt: now, tags: [{ key: 'a', value: 'b' }] });
    expect(record.definition).toMatchObject({ accountId: ACCOUNT, homeRegion: 'us-east-1', regions: ['us-east-1'], accounts: [ACCOUNT], digests: { enabled: false }, encryption: { mode: 'SSE_S3' } });
    expect(resources.bucketChecks).toEqual(['logs/']);
  });

  it('resolves a KMS key to its ARN and an SNS name to the topic in the trail\'s account', async () => {
    const out = (await call('CreateTrail', { Name: 'enc', S3BucketName: 'logs', KmsKeyId: '1234abcd-12ab-34cd-56ef-1234567890ab', SnsTopicName: 'alerts' })) as Record<string, unknown>;
    expect(out).toMatchObject({ KmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', SnsTopicName: 'alerts', SnsTopicARN: `arn:aws:sns:us-east-1:${ACCOUNT}:alerts` });
    expect(store.get('enc')!.definition.encryption).toEqual({ mode: 'SSE_KMS', kmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' });
  });

  it.each([
    [{ Name: 'configured' }, 'TrailAlreadyExistsException'],
    [{ Name: 'x' }, 'InvalidTrailNameException'],
    [{ Name: '' }, 'InvalidTrailNameException'],
    [{ Name: 'a..b' }, 'InvalidTrailNameException'],
    [{ Name: 42 }, 'SerializationException'],
    [{ S3BucketName: undefined }, 'InvalidS3BucketNameException'],
    [{ S3BucketName: 'UPPER' }, 'InvalidS3BucketNameException'],
    [{ S3BucketName: '192.168.1.1' }, 'InvalidS3BucketNameException'],
    [{ S3BucketName: 'missing' }, 'S3BucketDoesNotExistException'],
    [{ S3BucketName: 'open' }, 'InsufficientS3BucketPolicyException'],
    [{ S3KeyPrefix: 'a//b' }, 'InvalidS3PrefixException'],
    [{ S3KeyPrefix: 'a\nb' }, 'InvalidS3PrefixException'],
    [{ S3KeyPrefix: 'x'.repeat(201) }, 'InvalidS3PrefixException'],
    [{ SnsTopicName: 'no such' }, 'InvalidSnsTopicNameException'],
    [{ SnsTopicName: 'other' }, 'InsufficientSnsTopicPolicyException'],
    [{ KmsKeyId: 'nope nope' }, 'InvalidKmsKeyIdException'],
    [{ KmsKeyId: 'alias/missing' }, 'KmsKeyNotFoundException'],
    [{ KmsKeyId: 'alias/no-grant' }, 'InsufficientEncryptionPolicyException'],
    [{ IsMultiRegionTrail: true, IncludeGlobalServiceEvents: false }, 'InvalidParameterCombinationException'],
    [{ IsMultiRegionTrail: 'yes' }, 'SerializationException'],
    [{ CloudWatchLogsLogGroupArn: 'arn:aws:logs:us-east-1:111122223333:log-group:g:*' }, 'InvalidCloudWatchLogsRoleArnException'],
    [{ CloudWatchLogsRoleArn: 'arn:aws:iam::111122223333:role/r' }, 'InvalidCloudWatchLogsLogGroupArnException'],
    [{ TagsList: [{ Key: 'aws:x', Value: 'y' }] }, 'InvalidTagParameterException'],
    [{ TagsList: [{ Value: 'y' }] }, 'InvalidTagParameterException'],
    [{ TagsList: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}` })) }, 'TagsLimitExceededException'],
    [{ TagsList: 'a=b' }, 'SerializationException'],
  ])('refuses %j with %s', async (change, expected) => {
    expect(await code('CreateTrail', { Name: 'new-trail', S3BucketName: 'logs', ...change })).toBe(expected);
    if (expected !== 'TrailAlreadyExistsException') expect(store.get('new-trail')).toBeUndefined();
  });

  it('refuses organization trails without a configured organization', async () => {
    ops = new Operations({ store, keys: { keys: new Map() }, activity: { activity: () => ({}) }, maxTrailsPerRegion: 5, now: () => now });
    expect(await code('CreateTrail', { Name: 'org', S3BucketName: 'logs', IsOrganizationTrail: true })).toBe('OrganizationsNotInUseException');
  });

  it('holds the per-region quota, counting shadows of multi-region trails', async () => {
    await call('CreateTrail', { Name: 'everywhere', S3BucketName: 'logs', IsMultiRegionTrail: true });
    await call('CreateTrail', { Name: 'west-one', S3BucketName: 'logs' }, west);
    // us-east-1: configured + everywhere; eu-west-1: everywhere (shadow) + west-one.
    await call('CreateTrail', { Name: 'east-two', S3BucketName: 'logs' });
    expect(await code('CreateTrail', { Name: 'east-three', S3BucketName: 'logs' })).toBe('MaximumNumberOfTrailsExceededException');
    await call('CreateTrail', { Name: 'west-two', S3BucketName: 'logs' }, west);
    expect(await code('CreateTrail', { Name: 'west-three', S3BucketName: 'logs' }, west)).toBe('MaximumNumberOfTrailsExceededException');
  });

  it('creates one of two concurrent requests for the same name', async () => {
    const results = await Promise.allSettled([call('CreateTrail', { Name: 'twin', S3BucketName: 'logs' }), call('CreateTrail', { Name: 'twin', S3BucketName: 'logs' })]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
  });
});

describe('lookups by name and ARN', () => {
  beforeEach(async () => {
    await call('CreateTrail', { Name: 'multi', S3BucketName: 'logs', IsMultiRegionTrail: true });
  });

  it('finds a trail by name in its regions, by ARN anywhere', async () => {
    expect(await call('GetTrail', { Name: 'multi' }, west)).toMatchObject({ Trail: { TrailARN: arnOf('multi'), HomeRegion: 'us-east-1' } });
    expect(await code('GetTrail', { Name: 'configured' }, west)).toBe('TrailNotFoundException');
    expect(await call('GetTrail', { Name: arnOf('configured') }, west)).toMatchObject({ Trail: { Name: 'configured' } });
    expect(await code('GetTrail', { Name: arnOf('configured', 'eu-west-1') })).toBe('TrailNotFoundException');
    expect(await code('GetTrail', { Name: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/' })).toBe('CloudTrailARNInvalidException');
    expect(await code('GetTrail', { Name: 'arn:aws:s3:::bucket' })).toBe('CloudTrailARNInvalidException');
  });

  it('describes trails of the region with shadows, names in the region only', async () => {
    const names = async (input: Record<string, unknown>, caller = east) => ((await call('DescribeTrails', input, caller)) as { trailList: { Name: string }[] }).trailList.map((t) => t.Name);
    expect(await names({})).toEqual(['configured', 'multi']);
    expect(await names({}, west)).toEqual(['multi']);
    expect(await names({ includeShadowTrails: false }, west)).toEqual([]);
    expect(await names({ trailNameList: ['multi'] }, west)).toEqual([]);
    expect(await names({ trailNameList: [arnOf('multi'), 'unknown-trail'] }, west)).toEqual(['multi']);
    expect(await code('DescribeTrails', { trailNameList: ['a'] })).toBe('InvalidTrailNameException');
    expect(await code('DescribeTrails', { trailNameList: [7] })).toBe('SerializationException');
  });

  it('changes a trail only from its home region', async () => {
    for (const [operation, input] of [
      ['UpdateTrail', { Name: 'multi', EnableLogFileValidation: true }],
      ['DeleteTrail', { Name: 'multi' }],
      ['StartLogging', { Name: 'multi' }],
      ['StopLogging', { Name: arnOf('multi') }],
      ['PutEventSelectors', { TrailName: 'multi', EventSelectors: [{}] }],
      ['PutInsightSelectors', { TrailName: 'multi', InsightSelectors: [] }],
    ] as const) {
      expect(await code(operation, input, west)).toBe('InvalidHomeRegionException');
    }
    expect(store.get('multi')!.updatedAt).toBe(now);
  });

  it('lists every trail, in pages', async () => {
    const out = (await call('ListTrails', {}, west)) as { Trails: unknown[]; NextToken?: string };
    expect(out).toEqual({ Trails: [{ TrailARN: arnOf('configured'), Name: 'configured', HomeRegion: 'us-east-1' }, { TrailARN: arnOf('multi'), Name: 'multi', HomeRegion: 'us-east-1' }] });
    expect(await code('ListTrails', { NextToken: 'garbage!' })).toBe('InvalidTokenException');
  });
});

describe('logging and status', () => {
  it('starts and stops logging with their times; the status joins the activity', async () => {
    await call('CreateTrail', { Name: 'new-trail', S3BucketName: 'logs', EnableLogFileValidation: true });
    expect(await call('GetTrailStatus', { Name: 'new-trail' })).toEqual({ IsLogging: false, LatestDeliveryError: 'AccessDenied', LatestDeliveryTime: (T + 500) / 1000, LatestNotificationTime: (T + 600) / 1000, LatestDeliveryAttemptTime: '2026-06-01T00:00:00Z', LatestDeliveryAttemptSucceeded: '2026-06-01T00:00:00Z', LatestNotificationAttemptTime: '2026-06-01T00:00:00Z', LatestNotificationAttemptSucceeded: '2026-06-01T00:00:00Z' });
    now = T + 60_000;
    await call('StartLogging', { Name: 'new-trail' });
    now = T + 120_000;
    await call('StartLogging', { Name: 'new-trail' });
    expect(await call('GetTrailStatus', { Name: 'new-trail' })).toMatchObject({ IsLogging: true, StartLoggingTime: (T + 60_000) / 1000, TimeLoggingStarted: '2026-06-01T00:01:00Z' });
    await call('StopLogging', { Name: arnOf('new-trail') });
    expect(await call('GetTrailStatus', { Name: 'new-trail' })).toMatchObject({ IsLogging: false, StartLoggingTime: (T + 60_000) / 1000, StopLoggingTime: (T + 120_000) / 1000, TimeLoggingStopped: '2026-06-01T00:02:00Z' });
    expect(store.active().map((t) => t.name)).toEqual(['configured']);
  });

  it('makes a configured trail the API\'s when its definition changes, not when logging or tags do', async () => {
    await call('StopLogging', { Name: 'configured' });
    await call('AddTags', { ResourceId: arnOf('configured'), TagsList: [{ Key: 'k' }] });
    expect(store.get('configured')!.origin).toBe('config');
    await call('PutEventSelectors', { TrailName: 'configured', EventSelectors: [{ ReadWriteType: 'WriteOnly' }] });
    expect(store.get('configured')!).toMatchObject({ origin: 'api', isLogging: false, tags: [{ key: 'k' }] });
  });

  it('deletes a trail', async () => {
    await call('DeleteTrail', { Name: 'configured' });
    expect(store.get('configured')).toBeUndefined();
    expect(await code('DeleteTrail', { Name: 'configured' })).toBe('TrailNotFoundException');
  });
});

describe('UpdateTrail', () => {
  it('changes only the members given, re-checking the bucket when the bucket or prefix changes', async () => {
    resources.buckets.add('other');
    await call('UpdateTrail', { Name: 'configured', IsMultiRegionTrail: true, EnableLogFileValidation: false });
    expect(resources.bucketChecks).toEqual([]);
    const out = await call('UpdateTrail', { Name: 'configured', S3BucketName: 'other', S3KeyPrefix: 'p' });
    expect(out).toMatchObject({ S3BucketName: 'other', S3KeyPrefix: 'p', IsMultiRegionTrail: true, LogFileValidationEnabled: false });
    expect(resources.bucketChecks).toEqual(['other/p']);
    await call('UpdateTrail', { Name: 'configured', S3KeyPrefix: '', IsMultiRegionTrail: false });
    expect(store.get('configured')!.definition).toMatchObject({ bucket: 'other', regions: ['us-east-1'] });
    expect(store.get('configured')!.definition.prefix).toBeUndefined();
  });

  it('sets and clears the KMS key, the SNS topic and CloudWatch Logs', async () => {
    await call('UpdateTrail', { Name: 'configured', KmsKeyId: '1234abcd-12ab-34cd-56ef-1234567890ab', SnsTopicName: `arn:aws:sns:us-east-1:${ACCOUNT}:alerts`, CloudWatchLogsLogGroupArn: 'arn:aws:logs:us-east-1:111122223333:log-group:g:*', CloudWatchLogsRoleArn: 'arn:aws:iam::111122223333:role/r' });
    expect(((await call('GetTrail', { Name: 'configured' })) as { Trail: object }).Trail).toMatchObject({ KmsKeyId: expect.stringContaining(':key/'), SnsTopicName: `arn:aws:sns:us-east-1:${ACCOUNT}:alerts`, CloudWatchLogsRoleArn: 'arn:aws:iam::111122223333:role/r' });
    await call('UpdateTrail', { Name: 'configured', KmsKeyId: '', SnsTopicName: '', CloudWatchLogsLogGroupArn: '', CloudWatchLogsRoleArn: '' });
    const trail = ((await call('GetTrail', { Name: 'configured' })) as { Trail: Record<string, unknown> }).Trail;
    expect(Object.keys(trail).filter((k) => /Kms|Sns|CloudWatch/.test(k))).toEqual([]);
  });

  it('refuses what CreateTrail refuses, and changes nothing then', async () => {
    const before = store.get('configured');
    for (const [input, expected] of [
      [{ S3BucketName: '' }, 'InvalidS3BucketNameException'],
      [{ S3BucketName: 'missing' }, 'S3BucketDoesNotExistException'],
      [{ S3KeyPrefix: '/x' }, 'InvalidS3PrefixException'],
      [{ IsMultiRegionTrail: true, IncludeGlobalServiceEvents: false }, 'InvalidParameterCombinationException'],
      [{ KmsKeyId: 'alias/none' }, 'KmsKeyNotFoundException'],
      [{ Name: 'nope-trail' }, 'TrailNotFoundException'],
    ] as const) {
      expect(await code('UpdateTrail', { Name: 'configured', ...input })).toBe(expected);
    }
    expect(store.get('configured')).toBe(before);
  });
});

describe('event selectors', () => {
  it('shows the default selector until selectors are put, then what was put', async () => {
    expect(await call('GetEventSelectors', { TrailName: 'configured' })).toEqual({ TrailARN: arnOf('configured'), EventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: [] }] });
    const advanced = [{ Name: 'writes', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }, { Field: 'readOnly', Equals: ['false'] }] }];
    expect(await call('PutEventSelectors', { TrailName: 'configured', AdvancedEventSelectors: advanced })).toEqual({ TrailARN: arnOf('configured'), AdvancedEventSelectors: advanced });
    expect(store.get('configured')!.definition.advancedEventSelectors).toEqual([{ name: 'writes', fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }, { field: 'readOnly', equals: ['false'] }] }]);
    // Basic selectors replace advanced ones, with CloudTrail's defaults filled in.
    expect(await call('PutEventSelectors', { TrailName: 'configured', EventSelectors: [{ ReadWriteType: 'ReadOnly' }] })).toEqual({ TrailARN: arnOf('configured'), EventSelectors: [{ ReadWriteType: 'ReadOnly', IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: [] }] });
    expect(store.get('configured')!.definition.advancedEventSelectors).toBeUndefined();
  });

  it.each([
    [{ EventSelectors: [{}], AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] }] }, 'InvalidParameterCombinationException'],
    [{}, 'InvalidParameterCombinationException'],
    [{ EventSelectors: Array.from({ length: 6 }, () => ({})) }, 'InvalidEventSelectorsException'],
    [{ EventSelectors: [{ ReadWriteType: 'Sometimes' }] }, 'InvalidEventSelectorsException'],
    [{ EventSelectors: [{ ExcludeManagementEventSources: ['s3.amazonaws.com'] }] }, 'InvalidEventSelectorsException'],
    [{ EventSelectors: [{ DataResources: [{ Type: 'AWS::EC2::Snapshot', Values: ['arn:aws:ec2'] }] }] }, 'InvalidEventSelectorsException'],
    [{ EventSelectors: [{ DataResources: [{ Type: 'AWS::S3::Object', Values: Array.from({ length: 251 }, (_, i) => `arn:aws:s3:::b/${i}`) }] }] }, 'InvalidEventSelectorsException'],
    [{ EventSelectors: ['x'] }, 'InvalidEventSelectorsException'],
    [{ AdvancedEventSelectors: [] }, 'InvalidEventSelectorsException'],
    [{ AdvancedEventSelectors: [{ FieldSelectors: [] }] }, 'InvalidEventSelectorsException'],
    [{ AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'userIdentity.arn', Equals: ['x'] }] }] }, 'InvalidEventSelectorsException'],
    [{ AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', StartsWith: ['Man'] }] }] }, 'InvalidEventSelectorsException'],
    [{ AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: [] }] }] }, 'InvalidEventSelectorsException'],
    [{ AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: 'Management' }] }] }, 'InvalidEventSelectorsException'],
    [{ EventSelectors: {} }, 'SerializationException'],
  ])('refuses %j with %s', async (input, expected) => {
    expect(await code('PutEventSelectors', { TrailName: 'configured', ...input })).toBe(expected);
    expect(store.get('configured')!.definition.eventSelectors).toBeUndefined();
  });

  it('names the member at fault in the API\'s terms', async () => {
    await expect(call('PutEventSelectors', { TrailName: 'configured', AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }, { Field: 'eventTime', Equals: ['x'] }] }] })).rejects.toMatchObject({
      message: expect.stringMatching(/^AdvancedEventSelectors\[0\]\.FieldSelectors\[1\]\.Field: /),
    });
  });
});

describe('Insights selectors', () => {
  it('puts, gets and turns off Insights', async () => {
    expect(await code('GetInsightSelectors', { TrailName: 'configured' })).toBe('InsightNotEnabledException');
    const selectors = [{ InsightType: 'ApiErrorRateInsight', EventCategories: ['Management', 'Data'] }, { InsightType: 'ApiCallRateInsight' }];
    expect(await call('PutInsightSelectors', { TrailName: 'configured', InsightSelectors: selectors })).toEqual({ TrailARN: arnOf('configured'), InsightSelectors: selectors });
    expect(await call('GetInsightSelectors', { TrailName: arnOf('configured') })).toEqual({ TrailARN: arnOf('configured'), InsightSelectors: selectors });
    expect(await call('PutInsightSelectors', { TrailName: 'configured', InsightSelectors: [] })).toEqual({ TrailARN: arnOf('configured'), InsightSelectors: [] });
    expect(await code('GetInsightSelectors', { TrailName: 'configured' })).toBe('InsightNotEnabledException');
  });

  it.each([
    [{ InsightSelectors: [{ InsightType: 'Other' }] }, 'InvalidInsightSelectorsException'],
    [{ InsightSelectors: [{ InsightType: 'ApiCallRateInsight' }, { InsightType: 'ApiCallRateInsight' }] }, 'InvalidInsightSelectorsException'],
    [{ InsightSelectors: [{ InsightType: 'ApiCallRateInsight', EventCategories: ['Network'] }] }, 'InvalidInsightSelectorsException'],
    [{}, 'InvalidInsightSelectorsException'],
    [{ TrailName: undefined, InsightSelectors: [] }, 'InvalidParameterCombinationException'],
    [{ EventDataStore: 'arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/x', InsightSelectors: [] }, 'UnsupportedOperationException'],
  ])('refuses %j with %s', async (input, expected) => {
    expect(await code('PutInsightSelectors', { TrailName: 'configured', ...input })).toBe(expected);
  });
});

describe('tags', () => {
  it('adds (replacing values by key), removes and lists tags by trail ARN', async () => {
    await call('AddTags', { ResourceId: arnOf('configured'), TagsList: [{ Key: 'a', Value: '1' }, { Key: 'b' }] });
    await call('AddTags', { ResourceId: arnOf('configured'), TagsList: [{ Key: 'a', Value: '2' }] });
    await call('RemoveTags', { ResourceId: arnOf('configured'), TagsList: [{ Key: 'b' }] });
    expect(await call('ListTags', { ResourceIdList: [arnOf('configured')] })).toEqual({ ResourceTagList: [{ ResourceId: arnOf('configured'), TagsList: [{ Key: 'a', Value: '2' }] }] });
  });

  it.each([
    ['AddTags', { ResourceId: 'configured', TagsList: [] }, 'CloudTrailARNInvalidException'],
    ['AddTags', { ResourceId: arnOf('missing-trail'), TagsList: [] }, 'ResourceNotFoundException'],
    ['AddTags', { ResourceId: arnOf('configured') }, 'InvalidTagParameterException'],
    ['AddTags', { ResourceId: arnOf('configured'), TagsList: [{ Key: 'k', Value: 'x'.repeat(257) }] }, 'InvalidTagParameterException'],
    ['AddTags', { ResourceId: arnOf('configured'), TagsList: [{ Key: 'k', Value: 'a' }, { Key: 'k', Value: 'b' }] }, 'InvalidTagParameterException'],
    ['RemoveTags', { ResourceId: 7, TagsList: [] }, 'CloudTrailARNInvalidException'],
    ['ListTags', { ResourceIdList: [] }, 'InvalidTrailNameException'],
    ['ListTags', { ResourceIdList: [arnOf('missing-trail')] }, 'ResourceNotFoundException'],
    ['ListTags', { ResourceIdList: [arnOf('configured')], NextToken: 'x' }, 'InvalidTokenException'],
  ] as const)('%s %j: %s', async (operation, input, expected) => {
    expect(await code(operation, input)).toBe(expected);
  });

  it('holds 50 tags per trail', async () => {
    await call('AddTags', { ResourceId: arnOf('configured'), TagsList: Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}` })) });
    expect(await code('AddTags', { ResourceId: arnOf('configured'), TagsList: [{ Key: 'one-more' }] })).toBe('TagsLimitExceededException');
    expect(await code('AddTags', { ResourceId: arnOf('configured'), TagsList: [{ Key: 'k1', Value: 'replaced' }] })).toBe('ok');
  });
});

describe('quotas', () => {
  it('throttles writes at 1 TPS and reads at 10 TPS per account, region and operation', async () => {
    let clock = T;
    ops = new Operations({ store, keys: { keys: new Map() }, activity: { activity: () => ({}) }, maxTrailsPerRegion: 5, now: () => clock, limits: { reads: new RateLimiter(10, () => clock), writes: new RateLimiter(1, () => clock) } });
    expect(await code('StartLogging', { Name: 'configured' })).toBe('ok');
    expect(await code('StartLogging', { Name: 'configured' })).toBe('ThrottlingException');
    expect(await code('StopLogging', { Name: 'configured' })).toBe('ok');
    expect(await code('StartLogging', { Name: 'configured' }, west)).toBe('TrailNotFoundException');
    const reads = await Promise.all(Array.from({ length: 11 }, () => code('GetTrail', { Name: 'configured' })));
    expect(reads.filter((r) => r === 'ThrottlingException')).toHaveLength(1);
    clock += 1000;
    expect(await code('StartLogging', { Name: 'configured' })).toBe('ok');
  });
});

describe('hostile input', () => {
  const operations = ['CreateTrail', 'UpdateTrail', 'DeleteTrail', 'GetTrail', 'DescribeTrails', 'ListTrails', 'StartLogging', 'StopLogging', 'GetTrailStatus', 'PutEventSelectors', 'GetEventSelectors', 'PutInsightSelectors', 'GetInsightSelectors', 'AddTags', 'RemoveTags', 'ListTags', 'ListPublicKeys'];

  it('answers any JSON body with a CloudTrail error or a result, never anything else', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...operations), fc.dictionary(fc.constantFrom('Name', 'TrailName', 'S3BucketName', 'S3KeyPrefix', 'EventSelectors', 'AdvancedEventSelectors', 'InsightSelectors', 'TagsList', 'ResourceId', 'ResourceIdList', 'trailNameList', 'NextToken', 'KmsKeyId', '__proto__', 'constructor'), fc.jsonValue({ maxDepth: 4 })), async (operation, input) => {
        try {
          await call(operation, input);
        } catch (err) {
          expect(err).toBeInstanceOf(ApiError);
          expect((err as ApiError).status).toBe(400);
        }
      }),
      { numRuns: 400 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
