import { describe, expect, it } from 'vitest';
import { acceptedRegions, validateRecord, withDefaults, routingKey } from '../src/index.js';
import { parseEventTime } from '../src/record.js';
import { recordAccountId } from '../src/validate.js';

const good = withDefaults({ awsRegion: 'us-east-1', eventSource: 'iam.amazonaws.com', eventName: 'CreateUser', recipientAccountId: '123456789012' });

describe('validateRecord', () => {
  it('accepts a complete record', () => {
    expect(validateRecord(good)).toEqual([]);
  });

  it('names each bad member', () => {
    const problems = validateRecord({ ...good, eventTime: '2024-01-01 00:00:00', awsRegion: 'Mars', recipientAccountId: '1234', readOnly: 'true' });
    expect(problems.map((p) => p.member)).toEqual(['eventTime', 'awsRegion', 'readOnly', 'recipientAccountId']);
  });

  it('requires eventSource and eventName except on Insights records', () => {
    const { eventName: _n, eventSource: _s, ...rest } = good;
    expect(validateRecord(rest).map((p) => p.member)).toEqual(['eventSource', 'eventName']);
    expect(validateRecord({ ...rest, eventType: 'AwsCloudTrailInsight', insightDetails: { insightType: 'ApiCallRateInsight' } })).toEqual([]);
  });

  it('refuses records over 256 KB', () => {
    const big = { ...good, requestParameters: { blob: 'x'.repeat(262_144) } };
    expect(validateRecord(big)[0]?.problem).toMatch(/256 KB/);
  });

  it('refuses what is not an object', () => {
    expect(validateRecord([1])).toEqual([{ member: '(record)', problem: 'expected a JSON object, got an array' }]);
    expect(validateRecord(null)).toEqual([{ member: '(record)', problem: 'expected a JSON object, got null' }]);
  });
});

describe('routing', () => {
  it('keys by account and region, the account being the recipient or else the caller', () => {
    expect(routingKey('123456789012', 'eu-west-1')).toBe('123456789012/eu-west-1');
    expect(recordAccountId({ userIdentity: { accountId: '111122223333' } })).toBe('111122223333');
    expect(recordAccountId({ recipientAccountId: '444455556666', userIdentity: { accountId: '111122223333' } })).toBe('444455556666');
  });
});

describe('withDefaults', () => {
  it('fills eventID, eventVersion and eventTime only when absent', () => {
    const filled = withDefaults({ awsRegion: 'us-east-1' }, new Date('2025-02-03T04:05:06.789Z'));
    expect(filled.eventTime).toBe('2025-02-03T04:05:06Z');
    expect(filled.eventVersion).toBe('1.11');
    expect(filled.eventID).toMatch(/^[0-9a-f-]{36}$/);
    const given = { awsRegion: 'us-east-1', eventID: 'x', eventVersion: '1.08', eventTime: '2020-01-01T00:00:00Z' };
    expect(withDefaults(given)).toBe(given);
  });
});

describe('precise validation (issue 19, class 6)', () => {
  it('says what was expected and what came', () => {
    expect(validateRecord({ ...good, eventSource: ['s3'], readOnly: 'yes', userIdentity: 'alice' })).toEqual([
      { member: 'eventSource', problem: 'expected a non-empty string, got an array' },
      { member: 'readOnly', problem: 'expected a boolean (or null, or no member), got the string "yes"' },
      { member: 'userIdentity', problem: 'expected an object (or null, or no member), got the string "alice"' },
    ]);
  });

  it.each(['2025-02-30T00:00:00Z', '2025-02-29T00:00:00Z', '2025-01-01T24:00:00Z', '0000-01-01T00:00:00Z', '2025-13-01T00:00:00Z', '2025-01-01T00:60:00Z', '2025-01-01T00:00:60Z', '2025-01-01T00:00:00.000Z', '2025-1-01T00:00:00Z'])(
    'refuses eventTime %s',
    (eventTime) => {
      expect(validateRecord({ ...good, eventTime })).toEqual([{ member: 'eventTime', problem: `expected a real UTC instant as yyyy-MM-ddTHH:mm:ssZ (years 0001-9999), got the string ${JSON.stringify(eventTime)}` }]);
    },
  );

  it.each(['2024-02-29T00:00:00Z', '2000-02-29T12:00:00Z', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '0099-06-30T00:00:00Z'])('accepts eventTime %s, and reads it as that instant', (eventTime) => {
    expect(validateRecord({ ...good, eventTime })).toEqual([]);
    expect(new Date(parseEventTime(eventTime)!).toISOString().replace('.000Z', 'Z')).toBe(eventTime);
  });

  it('checks regions against the known list, with an explicit allowance for new ones', () => {
    expect(validateRecord({ ...good, awsRegion: 'ap-southeast-7' })).toEqual([]);
    expect(validateRecord({ ...good, awsRegion: 'us-east-7' })).toEqual([{ member: 'awsRegion', problem: 'expected a known AWS region (or one allowed by additionalRegions), got the string "us-east-7"' }]);
    expect(validateRecord({ ...good, awsRegion: 'us-east-7' }, acceptedRegions({ additionalRegions: ['us-east-7'] }))).toEqual([]);
    expect(() => acceptedRegions({ additionalRegions: ['Mars'] })).toThrow('additionalRegions: "Mars" is not a region name such as us-east-1');
  });

  it('treats null like absence in the optional members, and carries the null', () => {
    for (const member of ['userAgent', 'errorCode', 'errorMessage', 'readOnly', 'managementEvent', 'requestParameters', 'responseElements', 'userIdentity']) {
      expect(validateRecord({ ...good, [member]: null }), member).toEqual([]);
    }
    expect(validateRecord({ ...good, eventName: null }).map((p) => p.problem)).toEqual(['expected a non-empty string, got null']);
  });

  it('refuses an explicit null eventID instead of replacing it', () => {
    const filled = withDefaults({ ...good, eventID: null as never });
    expect(filled.eventID).toBeNull();
    expect(validateRecord(filled)).toEqual([{ member: 'eventID', problem: 'expected a non-empty string, or no member at all to have one filled in, got null' }]);
  });

  it('refuses an Insights record without an insightType a trail can select', () => {
    const insight = { eventVersion: '1.08', eventTime: '2023-07-10T01:42:00Z', awsRegion: 'us-east-1', eventID: 'e', eventType: 'AwsCloudTrailInsight', recipientAccountId: '123456789012', eventCategory: 'Insight' };
    expect(validateRecord({ ...insight, insightDetails: { state: 'Start', insightType: 'ApiCallRateInsight' } })).toEqual([]);
    expect(validateRecord({ ...insight, insightDetails: { state: 'Start' } }).map((p) => p.member)).toEqual(['insightDetails.insightType']);
    expect(validateRecord(insight).map((p) => p.member)).toEqual(['insightDetails.insightType']);
  });
});
