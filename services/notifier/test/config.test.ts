import { describe, expect, it } from 'vitest';
import { commonBindings, ConfigError, loadConfig } from '@opentrail/config';
import { bindings, configSchema } from '../src/config.js';
import { resolveTargets } from '../src/targets.js';

const base = { OPENTRAIL_KAFKA_BROKERS: '127.0.0.1:9092', OPENTRAIL_SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081' };
const load = (env: Record<string, string>) => loadConfig(configSchema, { env: { ...base, ...env }, bindings: [...commonBindings, ...bindings] }).config;
const problems = (env: Record<string, string>) => {
  try {
    load(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};
const trail = (name: string, notifications: unknown) => ({ name, accountId: '111122223333', homeRegion: 'us-east-1', bucket: `${name}-logs`, notifications });
const SECRET = 'a-secret-of-16-chars';

describe('notifier configuration', () => {
  it('has working defaults without a notifier section', () => {
    const config = load({ OPENTRAIL_TRAILS: JSON.stringify([trail('audit', { snsTopicArn: 'arn:aws:sns:us-east-1:111122223333:ct' })]) });
    expect(config.notifier).toMatchObject({ groupId: 'opentrail-notifier', kinds: ['LOG', 'INSIGHT'], newTargetsStartAt: 'latest', commitIntervalMs: 500 });
    expect(config.notifier.sns).toEqual({ batchWindowMs: 1000, maxMessageBytes: 229_376, createTopics: false });
    expect(config.notifier.delivery).toMatchObject({ retries: 5, breakerFailures: 5, concurrency: 4, maxInFlight: 256 });
  });

  it('refuses a webhook without a secret and one name for two receivers, naming the keys', () => {
    const found = problems({
      OPENTRAIL_TRAILS: JSON.stringify([
        trail('audit', { webhooks: [{ url: 'https://a.example.com/hook' }, { name: 'siem', url: 'https://siem.example.com/x', secret: SECRET }] }),
        trail('other', { webhooks: [{ name: 'siem', url: 'https://elsewhere.example.com/x', secret: SECRET }] }),
      ]),
    });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^trails\.0\.notifications\.webhooks\.0\.secret.*signs every webhook/),
        expect.stringMatching(/^trails\.1\.notifications\.webhooks\.0\.name.*"siem" is already defined/),
      ]),
    );
  });

  it('refuses an SNS message limit above SNS\'s own', () => {
    expect(problems({ OPENTRAIL_NOTIFIER_SNS_MAX_MESSAGE_BYTES: '300000' })).toEqual([expect.stringMatching(/^notifier\.sns\.maxMessageBytes \(env OPENTRAIL_NOTIFIER_SNS_MAX_MESSAGE_BYTES\).*262144/)]);
  });
});

describe('targets', () => {
  it('one per SNS topic, webhook and the notifications topic, shared by the trails that name them', () => {
    const config = load({
      OPENTRAIL_TRAILS: JSON.stringify([
        trail('audit', { snsTopicArn: 'arn:aws:sns:us-east-1:111122223333:ct', webhooks: [{ name: 'siem', url: 'https://siem.example.com/x', secret: SECRET }], kafka: true }),
        trail('data', { snsTopicArn: 'arn:aws:sns:us-east-1:111122223333:ct', webhooks: [{ name: 'siem', url: 'https://siem.example.com/x', secret: SECRET }, { url: 'https://ops.example.com/hooks/ct', secret: SECRET }] }),
        trail('quiet', {}),
      ]),
    });
    const targets = resolveTargets(config.trails);
    expect(targets.map((t) => [t.kind, t.id, t.label, [...t.trails]])).toEqual([
      ['sns', 'sns.us-east-1.111122223333.ct', 'sns:arn:aws:sns:us-east-1:111122223333:ct', ['audit', 'data']],
      ['webhook', 'webhook.siem', 'webhook:siem', ['audit', 'data']],
      ['kafka', 'kafka', 'kafka', ['audit']],
      ['webhook', 'webhook.https_ops.example.com_hooks_ct', 'webhook:https://ops.example.com/hooks/ct', ['data']],
    ]);
  });
});
