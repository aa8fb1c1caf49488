import { describe, expect, it } from 'vitest';
import { createLogger, ServiceMetrics } from '@opentrail/observability';
import type { BatchContext, InputRecord } from '@opentrail/runtime';
import type { Delivery } from '@opentrail/serde';
import { configTrailRecord, InMemoryTrailStore, parseTrail, type TrailInput } from '@opentrail/trails';
import { classifySnsError, type OutboundResult } from '@opentrail/webhooks';
import { LiveTargets, type RunningTarget } from '../src/liveTargets.js';
import { notifierMetrics } from '../src/metrics.js';
import type { SnsPublisher } from '../src/snsPublisher.js';
import { TargetNotifier } from '../src/targetNotifier.js';
import type { TargetSpec } from '../src/targets.js';
import { sampleDelivery } from './fixtures.js';

const topic = (name: string) => `arn:aws:sns:us-east-1:111122223333:${name}`;
const trail = (name: string, notifications: TrailInput['notifications']) => configTrailRecord(parseTrail({ name, accountId: '111122223333', homeRegion: 'us-east-1', bucket: 'b-bucket', notifications }), 1);
const settle = () => new Promise((resolve) => setImmediate(resolve));

function live(records = [trail('one', { snsTopicArn: topic('shared') }), trail('two', { snsTopicArn: topic('shared') })]) {
  const catalog = new InMemoryTrailStore(records);
  const events: string[] = [];
  const targets = new LiveTargets({
    catalog,
    logger: createLogger('notifier', 'silent'),
    start: async (spec): Promise<RunningTarget> => {
      events.push(`start ${spec.label}`);
      return { stop: async () => void events.push(`stop ${spec.label}`), ready: () => true, healthy: () => true };
    },
  });
  return { catalog, events, targets };
}

const trailsOf = (targets: LiveTargets) => Object.fromEntries(targets.targets.map((t) => [t.label, [...t.trails].sort()]));

describe('LiveTargets', () => {
  it('starts the targets the trails name, shares one between trails, and follows adds, changes and deletes', async () => {
    const { catalog, events, targets } = live();
    await targets.start();
    expect(events).toEqual([`start sns:${topic('shared')}`]);
    const shared = targets.targets[0]!;
    expect([...shared.trails].sort()).toEqual(['one', 'two']);

    // A trail moves to its own topic: the shared target keeps running with one trail, read in place.
    await catalog.put(trail('two', { snsTopicArn: topic('own') }));
    await targets.sync();
    expect(events.slice(1)).toEqual([`start sns:${topic('own')}`]);
    expect(targets.targets[0]).toBe(shared);
    expect(trailsOf(targets)).toEqual({ [`sns:${topic('shared')}`]: ['one'], [`sns:${topic('own')}`]: ['two'] });

    // Deleting the last trail of a target stops it; the other goes on.
    await catalog.delete('one');
    await targets.sync();
    expect(events.slice(2)).toEqual([`stop sns:${topic('shared')}`]);
    expect(targets.knownTrails).toEqual(new Set(['two']));

    // A webhook whose secret changes is a new sender: restarted.
    await catalog.put(trail('hooked', { webhooks: [{ url: 'https://siem.example.com/h', secret: 'a-secret-of-16-chars', name: 'siem' }] }));
    await targets.sync();
    await catalog.put(trail('hooked', { webhooks: [{ url: 'https://siem.example.com/h', secret: 'another-secret-16-chars', name: 'siem' }] }));
    await targets.sync();
    expect(events.slice(3)).toEqual(['start webhook:siem', 'stop webhook:siem', 'start webhook:siem']);
    await targets.stop();
    expect(events.slice(6).sort()).toEqual([`stop sns:${topic('own')}`, 'stop webhook:siem']);
  });

  it('tries a target whose start failed again, without waiting for another change', async () => {
    const catalog = new InMemoryTrailStore([trail('one', { snsTopicArn: topic('flaky') })]);
    let attempts = 0;
    const targets = new LiveTargets({
      catalog,
      logger: createLogger('notifier', 'silent'),
      retryMs: 10,
      start: async () => {
        if (++attempts < 3) throw new Error('SNS unreachable');
        return { stop: async () => undefined, ready: () => true, healthy: () => true };
      },
    });
    await targets.start();
    expect(targets.targets).toEqual([]);
    for (let i = 0; i < 50 && targets.targets.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(attempts).toBe(3);
    expect(targets.targets.map((t) => t.label)).toEqual([`sns:${topic('flaky')}`]);
    await targets.stop();
  });

  it('reports readiness of every target by name', async () => {
    const catalog = new InMemoryTrailStore([trail('one', { snsTopicArn: topic('slow') })]);
    const targets = new LiveTargets({ catalog, logger: createLogger('notifier', 'silent'), start: async () => ({ stop: async () => undefined, ready: () => 'joining the group', healthy: () => true }) });
    await targets.start();
    expect(targets.ready()).toBe(`target sns:${topic('slow')}: joining the group`);
    expect(targets.healthy()).toBe(true);
    await targets.stop();
  });
});

describe('notification activity', () => {
  it('tells each trail of an SNS message that it was sent, or the code SNS answered', async () => {
    const reports: string[] = [];
    // What the SDK throws for a missing topic (query protocol: the code is NotFound), classified as the publisher does.
    const notFound = classifySnsError(topic('t'), { name: 'NotFoundException', Code: 'NotFound', message: 'Topic does not exist', $metadata: { httpStatusCode: 404 } });
    let answer: OutboundResult = { ok: false, aborted: false, attempts: 1, error: notFound };
    const publisher = { publish: async () => answer } as unknown as SnsPublisher;
    const target: TargetSpec = { kind: 'sns', id: 'sns', label: 'sns:t', topicArn: topic('t'), trails: new Set(['audit', 'other']) };
    const notifier = new TargetNotifier({
      target,
      channel: { kind: 'sns', publisher, batchWindowMs: 0, maxMessageBytes: 200_000 },
      knownTrails: new Set(['audit', 'other']),
      kinds: new Set(['LOG']),
      concurrency: 2,
      maxInFlight: 100,
      shutdownGraceMs: 50,
      deadLetterTopic: 'dlq',
      abort: new AbortController(),
      metrics: notifierMetrics(new ServiceMetrics(`notifieractivity${Math.random().toString(36).slice(2, 8)}`), () => []),
      logger: createLogger('notifier', 'silent'),
      activity: { succeeded: (t, k) => reports.push(`${t}/${k} ok`), failed: (t, k, err) => reports.push(`${t}/${k} ${(err as { Code: string }).Code}`) },
    });
    const tp = { topic: 'deliveries', partition: 0 };
    notifier.onAssigned([tp]);
    const context: BatchContext = { ...tp, highWatermark: '10', heartbeat: async () => undefined, signal: new AbortController().signal };
    const record = (offset: number, delivery: Delivery): InputRecord<Delivery> => ({ topic: 'deliveries', partition: 0, offset: String(offset), key: null, value: delivery, headers: {}, timestamp: '0', bytes: 1 });
    await notifier.processBatch([record(0, sampleDelivery({ trailName: 'audit' })), record(1, sampleDelivery({ trailName: 'other', deliveryId: 'f'.repeat(32) }))], context);
    await notifier.flush(tp, 'tick');
    await settle();
    expect(reports.sort()).toEqual(['audit/NOTIFICATION NotFound', 'other/NOTIFICATION NotFound']);
    answer = { ok: true, attempts: 1 };
    await notifier.processBatch([record(2, sampleDelivery({ trailName: 'audit', deliveryId: 'e'.repeat(32) }))], context);
    await settle();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(reports.at(-1)).toBe('audit/NOTIFICATION ok');
  });
});
