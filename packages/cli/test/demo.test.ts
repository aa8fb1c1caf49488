import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig, type EnvBinding } from '@opentrail/config';
import { validateRecord } from '@opentrail/cloudtrail';
import { TrafficGenerator } from '@opentrail/testing';
import { parseTrail, type TrailInput } from '@opentrail/trails';
import { DEMO_BUCKET, DEMO_TRAIL, DEMO_WRITES_TRAIL, demoConfig, mergeConfig, type DemoContext } from '../src/demo/setup.js';
import { alertScene, scenarioTraffic } from '../src/demo/traffic.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const endpoints = { kafkaBrokers: '127.0.0.1:9092,127.0.0.1:9093', schemaRegistryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7', awsEndpoint: 'http://127.0.0.1:5000', databaseUrl: 'postgres://opentrail:opentrail@127.0.0.1:5432/opentrail' };
const context: DemoContext = {
  resources: { bucket: DEMO_BUCKET, deliveryTopicArn: 'arn:aws:sns:us-east-1:123456789012:opentrail-demo-deliveries', deliveryQueueUrl: 'http://127.0.0.1:5000/123456789012/q', alertTopicArn: 'arn:aws:sns:us-east-1:123456789012:opentrail-demo-alerts' },
  apiPort: 8090,
  dir: mkdtempSync(join(tmpdir(), 'opentrail-demo-test-')),
};

const services = readdirSync(join(ROOT, 'services')).filter((name) => existsSync(join(ROOT, 'services', name, 'src', 'config.ts')));

describe('the demo configuration', () => {
  const config = demoConfig(endpoints, context);
  const file = join(context.dir, 'opentrail.yaml');
  writeFileSync(file, stringify(config));

  // Every service the demo discovers must start on this one file: a section it requires but the
  // demo lacks would stop it with exit code 78 (as the api did before it had a section).
  it.each(services)('is valid for %s', async (name) => {
    const module = (await import(join(ROOT, 'services', name, 'src', 'config.ts'))) as { configSchema: Parameters<typeof loadConfig>[0]; bindings?: EnvBinding[] };
    const loaded = loadConfig(module.configSchema, { env: {}, file, bindings: module.bindings ?? [] });
    expect((loaded.config as { kafka: { brokers: string[] } }).kafka.brokers).toEqual(['127.0.0.1:9092', '127.0.0.1:9093']);
  });

  it('has a demo trail that rolls fast, digests every minute and notifies SNS and Kafka, and a write-only trail', () => {
    const trails = (config.trails as TrailInput[]).map((t) => parseTrail(t));
    const main = trails.find((t) => t.name === DEMO_TRAIL)!;
    expect(main.bucket).toBe('opentrail-demo-logs');
    expect(main.roll.intervalSeconds).toBeLessThanOrEqual(30);
    expect(main.digests).toEqual({ enabled: true, periodMinutes: 1 });
    expect(main.notifications).toMatchObject({ snsTopicArn: context.resources.deliveryTopicArn, kafka: true });
    const writes = trails.find((t) => t.name === DEMO_WRITES_TRAIL)!;
    expect(writes.prefix).toBeTruthy();
    expect(writes.advancedEventSelectors?.[0]?.fieldSelectors).toContainEqual({ field: 'readOnly', equals: ['false'] });
  });

  it('lets --config change any key without losing the others', () => {
    const merged = mergeConfig(config, { alerter: { suppressionSeconds: 5 }, topics: { partitions: 6 } });
    expect(merged.alerter).toMatchObject({ suppressionSeconds: 5, sns: { topicArn: context.resources.alertTopicArn } });
    expect(merged.topics).toEqual({ prefix: 'opentrail.', partitions: 6 });
  });
});

describe('the demo traffic', () => {
  it('opens with a scene of what the alert rules catch', () => {
    const generator = new TrafficGenerator({ seed: 9, accounts: 3 });
    const traffic = scenarioTraffic(generator, 20);
    const first = Array.from({ length: 40 }, () => traffic.next());
    for (const record of first) expect(validateRecord(record)).toEqual([]);

    const failures = first.filter((r) => r.eventName === 'ConsoleLogin' && r.errorMessage === 'Failed authentication');
    const byUser = new Map<string, number>();
    for (const r of failures) byUser.set(`${r.recipientAccountId}/${r.userIdentity?.userName}`, (byUser.get(`${r.recipientAccountId}/${r.userIdentity?.userName}`) ?? 0) + 1);
    expect(Math.max(...byUser.values())).toBeGreaterThanOrEqual(5); // thresholds: 5 in 60 s per user
    expect(new Set(failures.map((r) => r.sourceIPAddress)).size).toBe(1);
    expect(failures.length).toBeGreaterThanOrEqual(10); // sigma: 10 from one address

    expect(first.some((r) => r.userIdentity?.type === 'Root')).toBe(true);
    const groupChanges = first.filter((r) => r.eventName === 'AuthorizeSecurityGroupIngress');
    expect(groupChanges.length).toBeGreaterThanOrEqual(10);
    // One partition (account/region) and one address: the burst rule counts them together.
    expect(new Set(groupChanges.map((r) => `${r.recipientAccountId}/${r.awsRegion}/${r.sourceIPAddress}`)).size).toBe(1);
    expect(first.filter((r) => r.eventName === 'AssumeRole').length).toBeGreaterThanOrEqual(2);
  });

  it('repeats the scene at the given interval, for another user each time', () => {
    const generator = new TrafficGenerator({ seed: 9, accounts: 3 });
    const traffic = scenarioTraffic(generator, 10, { everySeconds: 5 });
    const records = Array.from({ length: 120 }, () => traffic.next());
    const scenes = records.filter((r, i) => r.userIdentity?.type === 'Root' && records[i - 1]?.eventName === 'ConsoleLogin');
    expect(scenes.length).toBeGreaterThanOrEqual(2);
    expect(alertScene(generator, 0, '81.2.69.142')[0]!.userIdentity?.userName).not.toBe(alertScene(generator, 1, '81.2.69.142')[0]!.userIdentity?.userName);
  });
});
