import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, commonBindings, commonShape, loadConfig, topicName, z } from '../src/index.js';

const schema = z.strictObject({ ...commonShape, archiver: z.strictObject({ rollSeconds: z.number().int().min(1).default(30) }).default({ rollSeconds: 30 }) });
const bindings = [...commonBindings, { env: 'OPENTRAIL_ARCHIVER_ROLL_SECONDS', path: 'archiver.rollSeconds', as: 'number' as const }];
const env = { OPENTRAIL_KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093', OPENTRAIL_SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081' };

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('reads the environment and applies defaults', () => {
    const { config } = loadConfig(schema, { env, bindings });
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092', '127.0.0.1:9093']);
    expect(config.topics.prefix).toBe('opentrail.');
    expect(config.archiver.rollSeconds).toBe(30);
    expect(topicName(config, 'enriched')).toBe('opentrail.events.enriched');
  });

  it('names every bad key and where its value came from', () => {
    const found = problems(() => loadConfig(schema, { env: { ...env, OPENTRAIL_KAFKA_BROKERS: 'nohost', OPENTRAIL_HTTP_PORT: 'eighty', OPENTRAIL_KAFKA_SASL_MECHANISM: 'kerberos' }, bindings }));
    expect(found).toContain('http.port (env OPENTRAIL_HTTP_PORT): expected a number, got "eighty"');
    expect(found.some((p) => p.startsWith('kafka.brokers.0 (env OPENTRAIL_KAFKA_BROKERS): must be host:port'))).toBe(true);
    expect(found.some((p) => p.startsWith('kafka.sasl.mechanism (env OPENTRAIL_KAFKA_SASL_MECHANISM):'))).toBe(true);
    expect(found.some((p) => p.startsWith('kafka.sasl.username'))).toBe(true);
  });

  it('reports missing required keys', () => {
    const found = problems(() => loadConfig(schema, { env: {}, bindings }));
    expect(found).toEqual(['kafka: is required', 'schemaRegistry: is required']);
  });

  it('reads a YAML file, lets the environment override it, and rejects unknown keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'opentrail.yaml');
    writeFileSync(file, 'archiver:\n  rollSeconds: 5\ntopics:\n  prefix: prod.\n');
    const { config } = loadConfig(schema, { env: { ...env, OPENTRAIL_CONFIG_FILE: file, OPENTRAIL_TOPIC_PREFIX: 'stage.' }, bindings });
    expect(config.archiver.rollSeconds).toBe(5);
    expect(config.topics.prefix).toBe('stage.');

    writeFileSync(file, 'archiver:\n  rollSecs: 5\n');
    expect(problems(() => loadConfig(schema, { env: { ...env, OPENTRAIL_CONFIG_FILE: file }, bindings }))).toEqual([`archiver (file ${file}): unknown key rollSecs`]);
  });

  it('ignores the sections of other services in a shared file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'opentrail.yaml');
    writeFileSync(file, 'archiver:\n  rollSeconds: 7\nalerter:\n  rules: []\nnotarealsection: 1\n');
    expect(problems(() => loadConfig(schema, { env: { ...env, OPENTRAIL_CONFIG_FILE: file }, bindings }))).toEqual([`(root) (file ${file}): unknown key notarealsection`]);
    writeFileSync(file, 'archiver:\n  rollSeconds: 7\nalerter:\n  rules: []\n');
    expect(loadConfig(schema, { env: { ...env, OPENTRAIL_CONFIG_FILE: file }, bindings }).config.archiver.rollSeconds).toBe(7);
  });

  it('warns about OPENTRAIL_ variables nothing reads', () => {
    const { warnings } = loadConfig(schema, { env: { ...env, OPENTRAIL_KAFKA_BROKER: 'x' }, bindings });
    expect(warnings).toEqual(['environment variable OPENTRAIL_KAFKA_BROKER is not read by this service']);
  });

  it('names an unreadable file', () => {
    expect(problems(() => loadConfig(schema, { env: { ...env, OPENTRAIL_CONFIG_FILE: '/nope.yaml' }, bindings }))[0]).toMatch(/^OPENTRAIL_CONFIG_FILE=\/nope.yaml: cannot read it/);
  });
});
