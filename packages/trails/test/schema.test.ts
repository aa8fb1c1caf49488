import { describe, expect, it } from 'vitest';
import { loadConfig, z } from '@opentrail/config';
import { MAX_LOG_FILE_BYTES, parseTrail, trailsSchema, type TrailInput } from '../src/index.js';

const minimal: TrailInput = { name: 'audit', accountId: '111122223333', homeRegion: 'us-east-1', bucket: 'audit-logs' };

/** Every problem zod reports for a `trails:` list, as `path: message`. */
function problems(trails: unknown[]): string[] {
  const result = z.strictObject({ trails: trailsSchema }).safeParse({ trails });
  return result.success ? [] : result.error.issues.map((i) => `${i.path.slice(1).join('.')}: ${i.message}`);
}

describe('the trails: configuration section', () => {
  it('applies CloudTrail-like defaults to a minimal trail', () => {
    const trail = parseTrail(minimal);
    expect(trail).toMatchObject({
      accounts: 'all',
      regions: 'all',
      includeGlobalServiceEvents: true,
      insightSelectors: [],
      encryption: { mode: 'SSE_S3' },
      roll: { intervalSeconds: 60, maxCompressedBytes: MAX_LOG_FILE_BYTES },
      notifications: { webhooks: [], kafka: false },
      digests: { enabled: true, periodMinutes: 60 },
      includeEnrichment: false,
    });
    expect(trail.eventSelectors).toBeUndefined();
    expect(trail.advancedEventSelectors).toBeUndefined();
    expect(trail.roll.intervalSeconds).toBeLessThan(300);
  });

  it('accepts a full trail', () => {
    expect(
      problems([
        {
          ...minimal,
          prefix: 'org/audit',
          organizationId: 'o-exampleorg1',
          accounts: ['111122223333', '444455556666'],
          regions: ['us-east-1', 'eu-west-1'],
          advancedEventSelectors: [
            { name: 'writes', fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }, { field: 'readOnly', equals: ['false'] }] },
            { fieldSelectors: [{ field: 'eventCategory', equals: ['Data'] }, { field: 'resources.type', equals: ['AWS::S3::Object'] }, { field: 'resources.ARN', startsWith: ['arn:aws:s3:::secret/'] }] },
          ],
          insightSelectors: [{ insightType: 'ApiCallRateInsight' }],
          encryption: { mode: 'CSE_KMS', kmsKeyId: 'alias/trail-key' },
          roll: { intervalSeconds: 5, maxCompressedBytes: 1048576 },
          notifications: { snsTopicArn: 'arn:aws:sns:us-east-1:111122223333:trail-topic', webhooks: [{ url: 'https://hooks.example.com/ct', secret: 'a-very-long-secret-1', name: 'siem' }], kafka: true },
          digests: { enabled: false, periodMinutes: 15 },
          lifecycle: { expireAfterDays: 365, archiveAfterDays: 30, archiveStorageClass: 'GLACIER_IR' },
          includeEnrichment: true,
        },
      ]),
    ).toEqual([]);
  });

  it('names the trail and the key of every mistake', () => {
    expect(problems([minimal, { ...minimal, name: 'second', accountId: '12345', bucket: 'Bad_Bucket' }])).toEqual([
      '1.accountId: trail "second": must be a 12-digit account id',
      '1.bucket: trail "second": must be an S3 bucket name: 3-63 lower-case letters, digits, "." and "-"',
    ]);
    expect(problems([{ ...minimal, name: 'a..b' }])[0]).toMatch(/^0\.name: trail "a\.\.b": may hold ASCII letters/);
    expect(problems([{ ...minimal, name: '-x-' }])).toHaveLength(1);
    expect(problems([{ ...minimal, color: 'red' }])[0]).toMatch(/^0: trail "audit": Unrecognized key: "color"/);
    expect(problems([{ homeRegion: 'us-east-1' }])[0]).toMatch(/^0\.name: trail #1: /);
  });

  it('refuses duplicate trail names', () => {
    expect(problems([minimal, minimal])).toEqual(['1.name: trail "audit": the name is already used by trail #1']);
  });

  it('validates encryption, roll, notifications and lifecycle', () => {
    expect(problems([{ ...minimal, encryption: { mode: 'SSE_KMS' } }])).toEqual(['0.encryption.kmsKeyId: trail "audit": is required']);
    expect(problems([{ ...minimal, encryption: { mode: 'SSE_KMS', kmsKeyId: 'not a key' } }])).toEqual([expect.stringMatching(/^0\.encryption\.kmsKeyId: .*KMS key id/)]);
    expect(problems([{ ...minimal, roll: { intervalSeconds: 0 } }])).toEqual([expect.stringMatching(/^0\.roll\.intervalSeconds: /)]);
    expect(problems([{ ...minimal, roll: { maxCompressedBytes: MAX_LOG_FILE_BYTES + 1 } }])).toEqual([expect.stringMatching(/^0\.roll\.maxCompressedBytes: .*50 MB/)]);
    expect(problems([{ ...minimal, notifications: { snsTopicArn: 'my-topic' } }])).toEqual([expect.stringMatching(/^0\.notifications\.snsTopicArn: .*SNS topic ARN/)]);
    expect(problems([{ ...minimal, notifications: { webhooks: [{ url: 'ftp://x.example.com' }] } }])).toEqual([expect.stringMatching(/^0\.notifications\.webhooks\.0\.url: .*http\(s\) URL/)]);
    expect(problems([{ ...minimal, lifecycle: { expireAfterDays: 10, archiveAfterDays: 30 } }])).toEqual([expect.stringMatching(/^0\.lifecycle\.expireAfterDays: .*greater than archiveAfterDays/)]);
    expect(problems([{ ...minimal, lifecycle: { archiveAfterDays: 5, archiveStorageClass: 'STANDARD_IA' } }])).toEqual([expect.stringMatching(/^0\.lifecycle\.archiveAfterDays: .*at least 30/)]);
    expect(problems([{ ...minimal, lifecycle: { archiveStorageClass: 'GLACIER' } }])).toEqual([expect.stringMatching(/^0\.lifecycle\.archiveAfterDays: .*required/)]);
    expect(problems([{ ...minimal, prefix: '/x' }])).toEqual([expect.stringMatching(/^0\.prefix: .*must not start or end/)]);
  });

  it('enforces the basic selector rules (spec §6.1)', () => {
    const six = Array.from({ length: 6 }, () => ({}));
    expect(problems([{ ...minimal, eventSelectors: six }])).toEqual([expect.stringMatching(/^0\.eventSelectors: .*at most 5/)]);
    expect(problems([{ ...minimal, eventSelectors: [{ excludeManagementEventSources: ['s3.amazonaws.com'] }] }])).toEqual([expect.stringMatching(/^0\.eventSelectors\.0\.excludeManagementEventSources\.0: /)]);
    expect(problems([{ ...minimal, eventSelectors: [{ dataResources: [{ type: 'AWS::S3::AccessPoint', values: ['arn:aws:s3'] }] }] }])).toEqual([expect.stringMatching(/^0\.eventSelectors\.0\.dataResources\.0\.type: .*use advanced selectors/)]);
    const many = Array.from({ length: 251 }, (_, i) => `arn:aws:s3:::bucket-${i}/`);
    expect(problems([{ ...minimal, eventSelectors: [{ dataResources: [{ type: 'AWS::S3::Object', values: many }] }] }])).toEqual([expect.stringMatching(/^0\.eventSelectors: .*251 data resource values/)]);
    expect(problems([{ ...minimal, eventSelectors: [{}], advancedEventSelectors: [{ fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }] }] }])).toEqual([
      expect.stringMatching(/^0\.advancedEventSelectors: .*cannot be used together with eventSelectors/),
    ]);
  });

  it('enforces the advanced selector rules (spec §6.2)', () => {
    const advanced = (...fieldSelectors: unknown[]) => problems([{ ...minimal, advancedEventSelectors: [{ fieldSelectors }] }]);
    const category = (value: string) => ({ field: 'eventCategory', equals: [value] });
    expect(advanced({ field: 'readOnly', equals: ['true'] })).toEqual([expect.stringMatching(/^0\.advancedEventSelectors\.0\.fieldSelectors: .*eventCategory field selector .* is required/)]);
    expect(advanced({ field: 'eventCategory', startsWith: ['Man'] })).toEqual([
      expect.stringMatching(/fieldSelectors\.0\.startsWith: .*eventCategory allows only equals/),
      expect.stringMatching(/fieldSelectors\.0\.equals: .*eventCategory needs equals/),
    ]);
    expect(advanced(category('Insight'))).toEqual([expect.stringMatching(/fieldSelectors\.0\.equals: .*cannot be selected by a trail/)]);
    expect(advanced(category('Management'), { field: 'readOnly', equals: ['yes'] })).toEqual([expect.stringMatching(/fieldSelectors\.1\.equals: .*"true" or "false"/)]);
    expect(advanced(category('Management'), { field: 'readOnly', notEquals: ['true'] })).toEqual([expect.stringMatching(/fieldSelectors\.1\.notEquals: .*readOnly allows only equals/)]);
    expect(advanced(category('Data'))).toEqual([expect.stringMatching(/fieldSelectors: .*need a resources\.type/)]);
    expect(advanced(category('Data'), { field: 'resources.type', equals: ['AWS::S3::Object', 'AWS::Lambda::Function'] })).toEqual([expect.stringMatching(/fieldSelectors\.1\.equals: .*exactly one resource type/)]);
    expect(advanced(category('Data'), { field: 'resources.type', equals: ['AWS::S3::Object'] }, { field: 'resources.ARN', equals: ['mybucket'] })).toEqual([expect.stringMatching(/fieldSelectors\.2\.equals: .*full ARNs/)]);
    expect(advanced(category('Management'), { field: 'resources.type', equals: ['AWS::S3::Object'] })).toEqual([expect.stringMatching(/fieldSelectors\.1\.field: .*data events only/)]);
    expect(advanced(category('Management'), { field: 'eventSource', equals: ['ec2.amazonaws.com'] })).toEqual([expect.stringMatching(/fieldSelectors\.1: .*only exclude kms\.amazonaws\.com or rdsdata/)]);
    expect(advanced(category('Management'), { field: 'eventSource', notEquals: ['kms.amazonaws.com'] })).toEqual([]);
    expect(advanced(category('Management'), { field: 'eventName', equals: ['RunInstances'] })).toEqual([expect.stringMatching(/fieldSelectors\.1\.field: .*not management events/)]);
    expect(advanced(category('NetworkActivity'))).toEqual([expect.stringMatching(/fieldSelectors: .*need an eventSource/)]);
    expect(advanced(category('NetworkActivity'), { field: 'eventSource', equals: ['kms.amazonaws.com'] }, { field: 'errorCode', equals: ['AccessDenied'] })).toEqual([expect.stringMatching(/fieldSelectors\.2\.equals: .*only VpceAccessDenied/)]);
    expect(advanced(category('Management'), { field: 'vpcEndpointId', equals: ['vpce-1'] })).toEqual([expect.stringMatching(/fieldSelectors\.1\.field: .*network activity events only/)]);
    expect(advanced(category('Management'), { field: 'userIdentity.arn', equals: ['arn:aws:iam::111122223333:user/x'] })).toEqual([expect.stringMatching(/fieldSelectors\.1\.field: .*event data stores, not by trails/)]);
    expect(advanced(category('Management'), { field: 'color', equals: ['red'] })).toEqual([expect.stringMatching(/fieldSelectors\.1\.field: .*unknown field "color"/)]);
    expect(advanced(category('Management'), { field: 'eventCategory', equals: ['Management'] })).toEqual([expect.stringMatching(/fieldSelectors\.1\.field: .*appears twice/)]);
    expect(advanced(category('Management'), { field: 'readOnly' })).toEqual([expect.stringMatching(/fieldSelectors\.1: .*needs an operator/)]);
    expect(advanced(category('Management'), { field: 'readOnly', equals: [] })).toEqual([expect.stringMatching(/fieldSelectors\.1\.equals: .*at least one value/)]);
    const values = Array.from({ length: 501 }, (_, i) => `arn:aws:s3:::b${i}/`);
    expect(advanced(category('Data'), { field: 'resources.type', equals: ['AWS::S3::Object'] }, { field: 'resources.ARN', startsWith: values })).toEqual([expect.stringMatching(/^0\.advancedEventSelectors: .*at most 500/)]);
  });

  it('reports through the config loader with the full key path and the file', () => {
    const schema = z.strictObject({ trails: trailsSchema });
    let message = '';
    try {
      loadConfig(schema, {
        env: { OPENTRAIL_TRAILS: JSON.stringify([minimal, { ...minimal, name: 'data', advancedEventSelectors: [{ fieldSelectors: [{ field: 'eventCategory', equals: ['Data'] }, { field: 'resources.type', equals: ['AWS::S3::Object'] }, { field: 'eventTime', equals: ['x'] }] }] }]) },
        bindings: [{ env: 'OPENTRAIL_TRAILS', path: 'trails', as: 'json' }],
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('trails.1.advancedEventSelectors.0.fieldSelectors.2.field (env OPENTRAIL_TRAILS): trail "data": unknown field "eventTime"');
  });
});
