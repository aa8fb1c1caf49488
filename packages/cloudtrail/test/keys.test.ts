import { describe, expect, it } from 'vitest';
import { LOG_FILE_KEY_PATTERN, deterministicUniqueString, digestFileKey, logFileKey } from '../src/index.js';
import { accountIdOfKey } from '../src/keys.js';

describe('S3 keys (cloudtrail-spec.md §2.1)', () => {
  it('lays out a log file key like the documented example', () => {
    const key = logFileKey({ accountId: '111122223333', region: 'us-east-2' }, new Date('2015-08-01T02:10:59Z'), 'Mu0KsOhtH1ar15ZZ');
    expect(key).toBe('AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz');
    expect(LOG_FILE_KEY_PATTERN.test(key)).toBe(true);
    expect(accountIdOfKey(key)).toBe('111122223333');
  });

  it('adds the prefix and organization id', () => {
    const key = logFileKey({ prefix: 'audit/', organizationId: 'o-fxozgwu6rc', accountId: '123456789015', region: 'ca-central-1' }, new Date('2020-09-23T05:16:00Z'), 'KL5e9VCV2SS7IqzB', 'CloudTrail-Insight');
    expect(key).toBe('audit/AWSLogs/o-fxozgwu6rc/123456789015/CloudTrail-Insight/ca-central-1/2020/09/23/123456789015_CloudTrail-Insight_ca-central-1_20200923T0516Z_KL5e9VCV2SS7IqzB.json.gz');
  });

  it('lays out a digest key with seconds', () => {
    const key = digestFileKey({ accountId: '111122223333', region: 'us-east-2' }, 'your-trail-name', 'us-east-2', new Date('2015-08-17T15:01:31Z'));
    expect(key).toBe('AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz');
  });

  it('derives the unique string from data', () => {
    const a = deterministicUniqueString('trail', 3, 1234n);
    expect(a).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(deterministicUniqueString('trail', 3, 1234n)).toBe(a);
    expect(deterministicUniqueString('trail', 3, 1235n)).not.toBe(a);
  });
});
