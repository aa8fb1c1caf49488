import { describe, expect, it } from 'vitest';
import { validateRecord, withDefaults, routingKey, recordAccountId } from '../src/index.js';

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
