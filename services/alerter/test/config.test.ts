import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commonBindings, ConfigError, loadConfig } from '@opentrail/config';
import { bindings, configSchema } from '../src/config.js';
import { builtinPackDirectory, ruleDirectories } from '../src/rulePacks.js';

const base = { OPENTRAIL_KAFKA_BROKERS: '127.0.0.1:9092', OPENTRAIL_SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081' };
const load = (env: Record<string, string>) => loadConfig(configSchema, { env: { ...base, ...env }, bindings: [...commonBindings, ...bindings] }).config;

describe('alerter configuration', () => {
  it('has working defaults', () => {
    const config = load({});
    expect(config.alerter).toMatchObject({ groupId: 'opentrail-alerter', builtinPacks: ['cis', 'sigma', 'thresholds', 'insights'], suppressionSeconds: 300, allowedLatenessSeconds: 60, webhooks: [] });
    expect(config.alerter.insights).toMatchObject({ enabled: true, baselineMinutes: 10_080, minBaselineMinutes: 60 });
    expect(ruleDirectories(config.alerter)).toEqual(['cis', 'sigma', 'thresholds', 'insights'].map((p) => builtinPackDirectory(p as 'cis')));
  });

  it('reads the environment: packs, webhooks as JSON, SNS topic', () => {
    const config = load({
      OPENTRAIL_ALERTER_BUILTIN_PACKS: 'none',
      OPENTRAIL_ALERTER_WEBHOOKS: JSON.stringify([{ url: 'https://hooks.example.com/x', secret: 'a-secret-of-16-chars', minSeverity: 'high' }]),
      OPENTRAIL_ALERTER_SNS_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:alerts',
    });
    expect(ruleDirectories(config.alerter)).toEqual([]);
    expect(config.alerter.webhooks[0]).toMatchObject({ url: 'https://hooks.example.com/x', minSeverity: 'high' });
    expect(config.alerter.sns).toEqual({ topicArn: 'arn:aws:sns:us-east-1:111122223333:alerts', minSeverity: 'informational' });
  });

  it('reads its section of the shared configuration file and ignores the others', () => {
    const dir = mkdtempSync(join(tmpdir(), 'alerter-config-'));
    try {
      const file = join(dir, 'opentrail.yaml');
      writeFileSync(
        file,
        [
          'kafka: {brokers: ["127.0.0.1:9092"]}',
          'schemaRegistry: {url: "http://127.0.0.1:8081"}',
          'archiver: {groupId: other}',
          'alerter:',
          '  suppressionSeconds: 60',
          '  insights: {minBaselineMinutes: 5}',
          '  sns: {topicArn: "arn:aws:sns:us-east-1:111122223333:alerts", minSeverity: medium}',
        ].join('\n'),
      );
      const { config } = loadConfig(configSchema, { env: {}, file, bindings: [...commonBindings, ...bindings] });
      expect(config.alerter).toMatchObject({ suppressionSeconds: 60, insights: { minBaselineMinutes: 5, enabled: true }, sns: { minSeverity: 'medium' } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names every bad key and where it came from', () => {
    try {
      load({ OPENTRAIL_ALERTER_RULE_DIRECTORIES: '/does/not/exist', OPENTRAIL_ALERTER_SNS_TOPIC_ARN: 'alerts', OPENTRAIL_ALERTER_BUILTIN_PACKS: 'cis,nist' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toContain('alerter.ruleDirectories.0 (env OPENTRAIL_ALERTER_RULE_DIRECTORIES): is not a directory');
      expect(problems).toContain('alerter.sns.topicArn (env OPENTRAIL_ALERTER_SNS_TOPIC_ARN): must be an SNS topic ARN');
      expect(problems).toContain('alerter.builtinPacks.1 (env OPENTRAIL_ALERTER_BUILTIN_PACKS)');
    }
  });
});
