import { describe, expect, it } from 'vitest';
import { commonBindings, loadConfig } from '@opentrail/config';
import { bindings, configSchema } from '../src/config.js';

const base = { OPENTRAIL_KAFKA_BROKERS: 'localhost:9092', OPENTRAIL_SCHEMA_REGISTRY_URL: 'http://localhost:8081' };
const load = (env: Record<string, string>) => loadConfig(configSchema, { env: { ...base, ...env }, bindings: [...commonBindings, ...bindings] }).config;

describe('api configuration for the trail operations', () => {
  it('reads an access key\'s account from ID:SECRET:ACCOUNT, and leaves ID:SECRET without one', () => {
    const c = load({ OPENTRAIL_API_ACCESS_KEYS: 'AKIA1:se/cr+et:111122223333,AKIA2:plain-secret,AKIA3:with:colon' });
    expect(c.api.accessKeys).toEqual([
      { accessKeyId: 'AKIA1', secretAccessKey: 'se/cr+et', accountId: '111122223333' },
      { accessKeyId: 'AKIA2', secretAccessKey: 'plain-secret' },
      { accessKeyId: 'AKIA3', secretAccessKey: 'with:colon' },
    ]);
  });

  it('has CloudTrail\'s quotas and checks by default', () => {
    const c = load({});
    expect(c.api).toMatchObject({ defaultAccountId: '000000000000', maxTrailsPerRegion: 5, trailReadsPerSecond: 10, trailWritesPerSecond: 1, checkTrailResources: true });
    expect(c.api.organizationId).toBeUndefined();
  });

  it('takes the organization, the default account and the quotas from the environment', () => {
    const c = load({ OPENTRAIL_API_ORGANIZATION_ID: 'o-abcdefghij', OPENTRAIL_API_DEFAULT_ACCOUNT_ID: '123456789012', OPENTRAIL_API_MAX_TRAILS_PER_REGION: '7', OPENTRAIL_API_CHECK_TRAIL_RESOURCES: 'false', OPENTRAIL_AWS_ENDPOINT: 'http://127.0.0.1:5000' });
    expect(c.api).toMatchObject({ organizationId: 'o-abcdefghij', defaultAccountId: '123456789012', maxTrailsPerRegion: 7, checkTrailResources: false });
    expect(c.aws.endpoint).toBe('http://127.0.0.1:5000');
  });

  it('refuses a malformed organization or account', () => {
    expect(() => load({ OPENTRAIL_API_ORGANIZATION_ID: 'org-1' })).toThrow(/api\.organizationId/);
    expect(() => load({ OPENTRAIL_API_DEFAULT_ACCOUNT_ID: '12345' })).toThrow(/api\.defaultAccountId/);
  });
});
