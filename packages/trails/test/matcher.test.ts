import { describe, expect, it } from 'vitest';
import { compileTrails, describeTrail, eventSelectorsView, insightSelectorsView, parseTrail, trailArn, type TrailInput } from '../src/index.js';
import { event, insightEvent, s3DataEvent } from './events.js';

const base: TrailInput = { name: 'audit', accountId: '111122223333', homeRegion: 'us-east-1', bucket: 'audit-logs' };

describe('compileTrails', () => {
  const matcher = compileTrails([
    parseTrail(base),
    parseTrail({ ...base, name: 'writes-eu', regions: ['eu-west-1'], advancedEventSelectors: [{ fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }, { field: 'readOnly', equals: ['false'] }] }] }),
    parseTrail({ ...base, name: 'one-account', accounts: ['444455556666'], eventSelectors: [{ dataResources: [{ type: 'AWS::S3::Object', values: ['arn:aws:s3'] }] }] }),
    parseTrail({ ...base, name: 'no-global', includeGlobalServiceEvents: false, insightSelectors: [{ insightType: 'ApiErrorRateInsight' }] }),
  ]);
  const names = (e: Parameters<typeof matcher.select>[0], hint?: boolean) => matcher.select(e, hint).map((t) => t.trail.name);

  it('returns every trail whose scope and selectors take the event', () => {
    expect(names(event({ readOnly: true }))).toEqual(['audit', 'no-global']);
    expect(names(event({ awsRegion: 'eu-west-1', readOnly: false }))).toEqual(['audit', 'writes-eu', 'no-global']);
    expect(names(event({ awsRegion: 'eu-west-1', readOnly: true }))).toEqual(['audit', 'no-global']);
    const other = '444455556666';
    expect(names(s3DataEvent('b', 'k', { recipientAccountId: other, userIdentity: { type: 'IAMUser', accountId: other } }))).toEqual(['one-account']);
    expect(names(s3DataEvent('b', 'k'))).toEqual([]);
  });

  it('uses the account of the recipient, else of the caller', () => {
    expect(names(event({ recipientAccountId: undefined, userIdentity: { type: 'IAMUser', accountId: '444455556666' } }))).toEqual(['audit', 'one-account', 'no-global']);
  });

  it('passes the enricher\'s readOnly hint to the selectors', () => {
    expect(names(event({ awsRegion: 'eu-west-1', readOnly: undefined }))).toEqual(['audit', 'no-global']);
    expect(names(event({ awsRegion: 'eu-west-1', readOnly: undefined }), false)).toEqual(['audit', 'writes-eu', 'no-global']);
  });

  it('leaves global service events out of trails that exclude them', () => {
    expect(names(event({ eventSource: 'iam.amazonaws.com', eventName: 'CreateUser' }))).toEqual(['audit']);
  });

  it('sends Insights records to trails with a matching insight selector only', () => {
    expect(names(insightEvent('ApiErrorRateInsight'))).toEqual(['no-global']);
    expect(names(insightEvent('ApiCallRateInsight'))).toEqual([]);
    expect(names(insightEvent('ApiErrorRateInsight', { insightDetails: undefined }))).toEqual([]);
  });

  it('finds a trail by name and exposes its ARN', () => {
    expect(matcher.byName('writes-eu')?.arn).toBe('arn:aws:cloudtrail:us-east-1:111122223333:trail/writes-eu');
    expect(matcher.byName('nope')).toBeUndefined();
  });
});

describe('CloudTrail-shaped views', () => {
  it('trail ARN', () => {
    expect(trailArn(parseTrail(base))).toBe('arn:aws:cloudtrail:us-east-1:111122223333:trail/audit');
  });

  it('DescribeTrails view (spec §5.2) omits unset optional members', () => {
    expect(describeTrail(parseTrail(base))).toStrictEqual({
      Name: 'audit',
      S3BucketName: 'audit-logs',
      IncludeGlobalServiceEvents: true,
      IsMultiRegionTrail: true,
      HomeRegion: 'us-east-1',
      TrailARN: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/audit',
      LogFileValidationEnabled: true,
      HasCustomEventSelectors: false,
      HasInsightSelectors: false,
      IsOrganizationTrail: false,
    });
    const full = parseTrail({
      ...base,
      prefix: 'p',
      regions: ['us-east-1'],
      organizationId: 'o-exampleorg1',
      encryption: { mode: 'SSE_KMS', kmsKeyId: 'alias/k' },
      notifications: { snsTopicArn: 'arn:aws:sns:us-east-1:111122223333:ct-topic' },
      eventSelectors: [{ readWriteType: 'WriteOnly' }],
      insightSelectors: [{ insightType: 'ApiCallRateInsight' }],
      digests: { enabled: false },
    });
    expect(describeTrail(full)).toMatchObject({
      S3KeyPrefix: 'p',
      SnsTopicName: 'ct-topic',
      SnsTopicARN: 'arn:aws:sns:us-east-1:111122223333:ct-topic',
      IsMultiRegionTrail: false,
      LogFileValidationEnabled: false,
      KmsKeyId: 'alias/k',
      HasCustomEventSelectors: true,
      HasInsightSelectors: true,
      IsOrganizationTrail: true,
    });
  });

  it('GetEventSelectors and GetInsightSelectors views', () => {
    expect(eventSelectorsView(parseTrail(base))).toEqual({
      TrailARN: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/audit',
      EventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: [] }],
    });
    const advanced = parseTrail({ ...base, advancedEventSelectors: [{ name: 'w', fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }, { field: 'eventSource', notEquals: ['kms.amazonaws.com'] }] }] });
    expect(eventSelectorsView(advanced).AdvancedEventSelectors).toEqual([
      { Name: 'w', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }, { Field: 'eventSource', NotEquals: ['kms.amazonaws.com'] }] },
    ]);
    expect(insightSelectorsView(parseTrail(base))).toBeUndefined();
    expect(insightSelectorsView(parseTrail({ ...base, insightSelectors: [{ insightType: 'ApiCallRateInsight' }] }))?.InsightSelectors).toEqual([{ InsightType: 'ApiCallRateInsight' }]);
  });
});
