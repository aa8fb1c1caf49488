import { describe, expect, it } from 'vitest';
import { createLogger, ServiceMetrics } from '@opentrail/observability';
import { readDeadLetter, type BatchContext, type InputRecord } from '@opentrail/runtime';
import type { Delivery } from '@opentrail/serde';
import type { DeliveryOutcome, WebhookMessage, WebhookSender } from '@opentrail/webhooks';
import { OutboundError } from '@opentrail/webhooks';
import { notifierMetrics } from '../src/metrics.js';
import type { SendResult } from '../src/sendResult.js';
import type { SnsPublisher } from '../src/snsPublisher.js';
import { TargetNotifier, type TargetChannel } from '../src/targetNotifier.js';
import type { TargetSpec } from '../src/targets.js';
import { sampleDelivery } from './fixtures.js';

const TP = { topic: 'deliveries', partition: 0 };
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A webhook sender whose requests the test answers one by one. */
class ScriptedSender {
  readonly calls: { message: WebhookMessage; answer: (outcome: Partial<DeliveryOutcome>) => void }[] = [];
  send(_target: unknown, message: WebhookMessage): Promise<DeliveryOutcome> {
    return new Promise((resolve) => this.calls.push({ message, answer: (o) => resolve({ target: 'hook', messageId: message.id, ok: true, attempts: 1, ...o }) }));
  }
  breakerState() {
    return 'closed' as const;
  }
}

function record(offset: number, delivery: Delivery): InputRecord<Delivery> {
  return { topic: TP.topic, partition: 0, offset: String(offset), key: Buffer.from(`${delivery.trailName}/a/r`), value: delivery, headers: { origin: 'archiver' }, timestamp: '0', bytes: 10, raw: Buffer.from(`raw-${offset}`) };
}

function context(signal = new AbortController().signal): BatchContext {
  return { ...TP, highWatermark: '100', heartbeat: async () => undefined, signal };
}

function setup(options: { channel?: TargetChannel; maxInFlight?: number; kinds?: Delivery['kind'][] } = {}) {
  const sender = new ScriptedSender();
  const metricsRegistry = new ServiceMetrics('notifiertest');
  const metrics = notifierMetrics(metricsRegistry, () => []);
  const channel = options.channel ?? { kind: 'webhook', sender: sender as unknown as WebhookSender, webhook: { name: 'hook', url: 'http://127.0.0.1:1/x', secret: 'a-secret-of-16-chars' } };
  const target: TargetSpec =
    channel.kind === 'webhook'
      ? { kind: 'webhook', id: 'webhook.hook', label: 'webhook:hook', webhook: { name: 'hook', url: 'http://127.0.0.1:1/x', secret: 'a-secret-of-16-chars' }, trails: new Set(['audit']) }
      : channel.kind === 'sns'
        ? { kind: 'sns', id: 'sns', label: 'sns:t', topicArn: 'arn:aws:sns:us-east-1:123456789012:t', trails: new Set(['audit']) }
        : { kind: 'kafka', id: 'kafka', label: 'kafka', trails: new Set(['audit']) };
  const abort = new AbortController();
  const notifier = new TargetNotifier({
    target,
    channel,
    knownTrails: new Set(['audit', 'other']),
    kinds: new Set(options.kinds ?? ['LOG', 'INSIGHT']),
    concurrency: 8,
    maxInFlight: options.maxInFlight ?? 100,
    shutdownGraceMs: 50,
    deadLetterTopic: 'notifications.dlq',
    abort,
    metrics,
    logger: createLogger('notifier', 'silent'),
  });
  notifier.onAssigned([TP]);
  return { notifier, sender, metricsRegistry, abort };
}

const deliveries = (n: number, trailName = 'audit') => Array.from({ length: n }, (_, i) => sampleDelivery({ trailName, deliveryId: `${trailName}-${i}`.padEnd(32, '0'), key: `AWSLogs/111122223333/CloudTrail/us-east-2/2026/12/01/111122223333_CloudTrail_us-east-2_20261201T1200Z_${String(i).padStart(16, 'K')}.json.gz` }));

describe('a target\'s commit position', () => {
  it('stays at the first delivery not yet announced, whatever order the notifications finish in', async () => {
    const { notifier, sender } = setup();
    const work = await notifier.processBatch(deliveries(3).map((d, i) => record(10 + i, d)), context());
    expect(work.outputs).toEqual([]);
    await settle();
    expect(sender.calls).toHaveLength(3);
    expect(notifier.heldFrom(TP)).toBe(10n);
    sender.calls[1]!.answer({ ok: true });
    await settle();
    expect(notifier.heldFrom(TP)).toBe(10n);
    sender.calls[0]!.answer({ ok: true });
    await settle();
    expect(notifier.heldFrom(TP)).toBe(12n);
    sender.calls[2]!.answer({ ok: true });
    await settle();
    expect(notifier.heldFrom(TP)).toBeUndefined();
  });

  it('passes a dead-lettered delivery only once its dead letter is handed to the runtime', async () => {
    const { notifier, sender, metricsRegistry } = setup();
    const [d] = deliveries(1);
    await notifier.processBatch([record(7, d!)], context());
    await settle();
    sender.calls[0]!.answer({ ok: false, attempts: 6, error: new OutboundError('HTTP_RETRIABLE', 'hook answered 503', { status: 503 }) });
    await settle();
    // Given up on, but the dead letter is not produced yet: the commit must not pass it.
    expect(notifier.heldFrom(TP)).toBe(7n);
    const { outputs } = await notifier.flush(TP, 'tick');
    expect(notifier.heldFrom(TP)).toBeUndefined();
    expect(outputs).toHaveLength(1);
    const letter = outputs![0]!;
    expect(letter.topic).toBe('notifications.dlq');
    expect(letter.value).toEqual(Buffer.from('raw-7'));
    expect(letter.headers).toMatchObject({ origin: 'archiver', 'opentrail-notifier-target': 'webhook:hook', 'opentrail-notification-id': d!.deliveryId, 'opentrail-notifier-attempts': '6' });
    expect(readDeadLetter(letter.headers)).toMatchObject({ reason: 'DELIVERY_FAILED', sourceOffset: '7', service: 'notifier' });
    expect(readDeadLetter(letter.headers).detail).toContain('hook answered 503 after 6 attempt(s)');
    const text = await metricsRegistry.registry.metrics();
    expect(text).toContain('opentrail_notifiertest_notifications_dead_lettered_total{target="webhook:hook",code="HTTP_RETRIABLE"} 1');
    expect(text).toContain('opentrail_notifiertest_notification_retries_total{target="webhook:hook"} 5');
  });

  it('keeps a notification aborted by shutdown uncommitted, for the next owner', async () => {
    const { notifier, sender } = setup();
    await notifier.processBatch([record(3, deliveries(1)[0]!)], context());
    await settle();
    sender.calls[0]!.answer({ ok: false, attempts: 1, error: new OutboundError('ABORTED', 'delivery aborted') });
    await settle();
    expect((await notifier.flush(TP, 'tick')).outputs).toEqual([]);
    expect(notifier.heldFrom(TP)).toBe(3n);
  });

  it('on shutdown waits for what is in flight for the grace period, then aborts it', async () => {
    const { notifier, sender, abort } = setup();
    await notifier.processBatch([record(3, deliveries(1)[0]!)], context());
    abort.signal.addEventListener('abort', () => sender.calls[0]!.answer({ ok: false, attempts: 1, error: new OutboundError('ABORTED', 'delivery aborted') }));
    const { outputs } = await notifier.flush(TP, 'shutdown');
    expect(abort.signal.aborted).toBe(true);
    expect(outputs).toEqual([]);
    expect(notifier.heldFrom(TP)).toBe(3n);
  });

  it('does not hold deliveries of other trails, nor kinds this target does not announce', async () => {
    const { notifier, sender, metricsRegistry } = setup();
    const digest = sampleDelivery({ kind: 'DIGEST', deliveryId: 'd'.repeat(32) });
    const stranger = sampleDelivery({ trailName: 'unconfigured', deliveryId: 'u'.repeat(32) });
    await notifier.processBatch([record(1, deliveries(1, 'other')[0]!), record(2, digest), record(3, stranger)], context());
    await settle();
    expect(sender.calls).toHaveLength(0);
    expect(notifier.heldFrom(TP)).toBeUndefined();
    const text = await metricsRegistry.registry.metrics();
    expect(text).toContain('opentrail_notifiertest_deliveries_skipped_total{target="webhook:hook",reason="kind"} 1');
    expect(text).toContain('opentrail_notifiertest_deliveries_skipped_total{target="webhook:hook",reason="unknown_trail"} 1');
  });

  it('stops reading the partition while the target has maxInFlight notifications outstanding', async () => {
    const { notifier, sender } = setup({ maxInFlight: 2 });
    let returned = false;
    const processing = notifier.processBatch(deliveries(3).map((d, i) => record(i, d)), context()).then(() => (returned = true));
    await settle();
    expect(returned).toBe(false);
    sender.calls[0]!.answer({ ok: true });
    await settle();
    // Two of the three still outstanding: still full.
    expect(returned).toBe(false);
    sender.calls[1]!.answer({ ok: true });
    await processing;
    expect(returned).toBe(true);
  });

  it('forgets a revoked partition: late results change nothing and produce no dead letters', async () => {
    const { notifier, sender } = setup();
    await notifier.processBatch([record(5, deliveries(1)[0]!)], context());
    await settle();
    notifier.onRevoked([TP]);
    sender.calls[0]!.answer({ ok: false, attempts: 1, error: new OutboundError('HTTP_REJECTED', 'hook answered 400', { status: 400 }) });
    await settle();
    expect(notifier.heldFrom(TP)).toBeUndefined();
    expect(await notifier.flush(TP, 'tick')).toEqual({});
  });
});

describe('channels', () => {
  it('the notifications topic: records are outputs of the batch, nothing is held', async () => {
    const encoded: string[] = [];
    const { notifier } = setup({ channel: { kind: 'kafka', topic: 'notifications', encode: (n) => (encoded.push(n.notificationId), Buffer.from(n.notificationId)) } });
    const ds = deliveries(2);
    const { outputs } = await notifier.processBatch(ds.map((d, i) => record(i, d)), context());
    expect(outputs!.map((o) => [o.topic, o.key?.toString(), o.headers?.['opentrail-notification-id']])).toEqual(ds.map((d) => ['notifications', 'audit/a/r', d.deliveryId]));
    expect(encoded).toEqual(ds.map((d) => d.deliveryId));
    expect(notifier.heldFrom(TP)).toBeUndefined();
  });

  it('SNS: log files only, several keys in one CloudTrail message whose id derives from the deliveries', async () => {
    const published: { message: string; id: string; trail: string }[] = [];
    const publisher = {
      publish: (message: string, id: string, trail: string): Promise<SendResult> => {
        published.push({ message, id, trail });
        return Promise.resolve({ ok: true, attempts: 1 });
      },
      breakerState: 'closed',
    } as unknown as SnsPublisher;
    const { notifier } = setup({ channel: { kind: 'sns', publisher, batchWindowMs: 60_000, maxMessageBytes: 262_144 } });
    const ds = deliveries(3);
    const insight = sampleDelivery({ kind: 'INSIGHT', deliveryId: 'i'.repeat(32) });
    await notifier.processBatch([...ds, insight].map((d, i) => record(i, d)), context());
    expect(notifier.heldFrom(TP)).toBe(0n);
    // Shutdown seals the open batch at once instead of waiting out the window.
    await notifier.flush(TP, 'shutdown');
    expect(published).toHaveLength(1);
    expect(JSON.parse(published[0]!.message)).toEqual({ s3Bucket: 'audit-bucket', s3ObjectKey: ds.map((d) => d.key) });
    expect(published[0]!.id).toMatch(/^[0-9a-f]{32}$/);
    expect(published[0]!.trail).toBe('audit');
    expect(notifier.heldFrom(TP)).toBeUndefined();
  });
});
