import { describe, expect, it } from 'vitest';
import { toApiCallEvent, validateApiCallEvent, validateRecord, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { TrafficGenerator } from '@opentrail/testing';

const FIXED = new Date('2026-12-01T18:00:00Z');
const clock = () => FIXED;

function take(generator: TrafficGenerator, count: number): CloudTrailRecord[] {
  return Array.from({ length: count }, () => generator.next());
}

describe('TrafficGenerator', () => {
  const sample = take(new TrafficGenerator({ seed: 7, accounts: 12, clock }), 5000);

  it('is deterministic for a seed and a clock, and different for another seed', () => {
    expect(take(new TrafficGenerator({ seed: 7, accounts: 12, clock }), 5000)).toEqual(sample);
    const other = take(new TrafficGenerator({ seed: 8, accounts: 12, clock }), 50);
    expect(other).not.toEqual(sample.slice(0, 50));
  });

  it('makes only records the producer client and the pipeline accept', () => {
    for (const record of sample) {
      expect(validateRecord(record)).toEqual([]);
      expect(validateApiCallEvent(toApiCallEvent(record), 0)).toBeUndefined();
    }
  });

  it('averages about 1.5 KB of JSON per record', () => {
    const bytes = sample.reduce((sum, r) => sum + Buffer.byteLength(JSON.stringify(r)), 0) / sample.length;
    expect(bytes).toBeGreaterThan(1200);
    expect(bytes).toBeLessThan(1900);
  });

  it('spreads over many accounts, regions, services and every identity type', () => {
    const accounts = new Set(sample.map((r) => r.recipientAccountId));
    expect(accounts.size).toBe(12);
    expect(new Set(sample.map((r) => r.awsRegion)).size).toBeGreaterThanOrEqual(10);
    expect(new Set(sample.map((r) => r.eventSource)).size).toBeGreaterThanOrEqual(12);
    expect(new Set(sample.map((r) => r.userIdentity?.type))).toEqual(
      new Set(['IAMUser', 'AssumedRole', 'Root', 'AWSService', 'FederatedUser', 'SAMLUser', 'WebIdentityUser', 'IdentityCenterUser']),
    );
    expect(new Set(sample.map((r) => r.eventCategory))).toEqual(new Set(['Management', 'Data']));
  });

  it('mixes in refused calls and console sign-ins that succeed and fail, with and without MFA', () => {
    const codes = new Set(sample.map((r) => r.errorCode).filter(Boolean));
    expect(codes).toContain('AccessDenied');
    expect(codes).toContain('Client.UnauthorizedOperation');
    const errors = sample.filter((r) => r.errorCode).length / sample.length;
    expect(errors).toBeGreaterThan(0.02);
    expect(errors).toBeLessThan(0.12);

    const signIns = sample.filter((r) => r.eventName === 'ConsoleLogin');
    expect(signIns.every((r) => r.eventType === 'AwsConsoleSignIn' && r.eventSource === 'signin.amazonaws.com')).toBe(true);
    const outcomes = new Set(signIns.map((r) => `${(r.responseElements as { ConsoleLogin: string }).ConsoleLogin}/${(r.additionalEventData as { MFAUsed: string }).MFAUsed}`));
    expect(outcomes).toEqual(new Set(['Success/Yes', 'Success/No', 'Failure/Yes', 'Failure/No']));
    for (const failed of signIns.filter((r) => (r.responseElements as { ConsoleLogin: string }).ConsoleLogin === 'Failure')) {
      expect(failed.errorMessage).toBe('Failed authentication');
    }
  });

  it('uses the temporary key of each AssumeRole in later calls of the same session', () => {
    const issued = new Map<string, { index: number; sessionArn: string }>();
    sample.forEach((r, index) => {
      if (r.eventSource === 'sts.amazonaws.com' && r.eventName?.startsWith('AssumeRole') && !r.errorCode) {
        const response = r.responseElements as { credentials: { accessKeyId: string; expiration: string }; assumedRoleUser: { arn: string } };
        expect(response.credentials.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
        expect(response.credentials.expiration).toMatch(/^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2} [AP]M$/);
        issued.set(response.credentials.accessKeyId, { index, sessionArn: response.assumedRoleUser.arn });
      }
    });
    expect(issued.size).toBeGreaterThan(100);
    let used = 0;
    sample.forEach((r, index) => {
      const key = r.userIdentity?.accessKeyId;
      const session = key ? issued.get(key) : undefined;
      if (!session) return;
      used++;
      expect(index).toBeGreaterThan(session.index);
      expect(r.userIdentity?.type).toBe('AssumedRole');
      expect(r.userIdentity?.arn).toBe(session.sessionArn);
    });
    // Most sessions make several calls after they are issued.
    expect(used).toBeGreaterThan(issued.size * 2);
  });

  it('builds an AssumeRole chain whose second hop is called with the first session key', () => {
    const generator = new TrafficGenerator({ seed: 3, accounts: 2, clock });
    const chain = generator.assumeRoleChain();
    const hops = chain.filter((r) => r.eventName === 'AssumeRole');
    expect(hops).toHaveLength(2);
    const firstKey = (hops[0]!.responseElements as { credentials: { accessKeyId: string } }).credentials.accessKeyId;
    expect(hops[0]!.userIdentity?.type).toBe('IAMUser');
    expect(hops[1]!.userIdentity?.type).toBe('AssumedRole');
    expect(hops[1]!.userIdentity?.accessKeyId).toBe(firstKey);
    const secondKey = (hops[1]!.responseElements as { credentials: { accessKeyId: string } }).credentials.accessKeyId;
    expect(chain.slice(chain.indexOf(hops[1]!) + 1).some((r) => r.userIdentity?.accessKeyId === secondKey)).toBe(true);
    for (const record of chain) expect(validateRecord(record)).toEqual([]);
  });

  it('makes the records the alert rules look for on request', () => {
    const generator = new TrafficGenerator({ seed: 5, accountIds: ['123456789012'], clock });
    const failure = generator.consoleSignIn({ userName: 'mallory', outcome: 'Failure', mfa: false });
    expect(failure).toMatchObject({ eventName: 'ConsoleLogin', errorMessage: 'Failed authentication', recipientAccountId: '123456789012', userIdentity: { userName: 'mallory' } });
    const root = generator.rootActivity();
    expect(root.userIdentity).toMatchObject({ type: 'Root', arn: 'arn:aws:iam::123456789012:root' });
    expect(root.userIdentity?.invokedBy).toBeUndefined();
    expect(root.eventType).toBe('AwsApiCall');
    expect(generator.securityGroupChange()).toMatchObject({ eventSource: 'ec2.amazonaws.com', eventName: 'AuthorizeSecurityGroupIngress' });
    expect(generator.deniedCall().errorCode).toMatch(/AccessDenied|UnauthorizedOperation/);
    expect(() => generator.rootActivity({ accountId: '999999999999' })).toThrow(/not one of/);
  });

  it('refuses account ids that are not 12 digits', () => {
    expect(() => new TrafficGenerator({ accountIds: ['12345'] })).toThrow(/12 digits/);
  });
});
