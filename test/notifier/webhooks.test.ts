import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDeadLetter } from '@opentrail/runtime';
import { serdeFor } from '@opentrail/serde';
import { verifyWebhook } from '@opentrail/webhooks';
import { testKafka, testRegistry, uniquePrefix } from '../helpers/env.js';
import type { Collected } from '../helpers/kafka.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { collect, deadUrl, delivery, DeliveryWriter, notificationsOf, notifierEnv, notifierTopics, SECRET, trail, waitForCommitted, webhookReceiver } from './helpers.js';

const kafka = testKafka();
const prefix = uniquePrefix('notifier-wh');
const cleanups: (() => Promise<unknown> | void)[] = [];
let topics: Awaited<ReturnType<typeof notifierTopics>>;
let writer: DeliveryWriter;
let notifier: ServiceProcess;
let dlq: Collected;
let notifications: Collected;
let flaky: Awaited<ReturnType<typeof webhookReceiver>>;
let good: Awaited<ReturnType<typeof webhookReceiver>>;
let slow: Awaited<ReturnType<typeof webhookReceiver>>;
let prompt: Awaited<ReturnType<typeof webhookReceiver>>;

/** Attempts per notification: the first and four retries. */
const ATTEMPTS = 5;

beforeAll(async () => {
  topics = await notifierTopics(prefix, kafka);
  // Fails the first three attempts (a receiver being deployed), then accepts.
  flaky = await webhookReceiver((n) => (n <= 3 ? 503 : 200));
  good = await webhookReceiver(() => 204);
  // Answers after 4 s (within the 10 s attempt timeout): slow, not failing.
  slow = await webhookReceiver(() => 200, { delayMs: 4_000 });
  prompt = await webhookReceiver(() => 200);
  cleanups.push(() => flaky.close(), () => good.close(), () => slow.close(), () => prompt.close());
  dlq = await collect(kafka, topics.dlq);
  notifications = await collect(kafka, topics.notifications);
  cleanups.push(() => dlq.stop(), () => notifications.stop());
  writer = await DeliveryWriter.create(kafka, topics.deliveries);
  cleanups.push(() => writer.close());
  notifier = await startService(
    'notifier',
    notifierEnv(
      prefix,
      [
        trail('flaky-trail', { webhooks: [{ name: 'flaky', url: flaky.url, secret: SECRET }] }),
        trail('slow-trail', { webhooks: [{ name: 'slow', url: slow.url, secret: SECRET }, { name: 'prompt', url: prompt.url, secret: SECRET }] }),
        trail('mixed-trail', { webhooks: [{ name: 'down', url: await deadUrl(), secret: SECRET }, { name: 'good', url: good.url, secret: SECRET }], kafka: true }),
      ],
      { OPENTRAIL_NOTIFIER_DELIVERY_RETRIES: String(ATTEMPTS - 1) },
    ),
  );
  cleanups.push(() => notifier.stop());
});

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('notifier: signed webhooks (a real process, receivers on 127.0.0.1)', () => {
  it('retries a receiver that fails three times; the notification arrives once accepted, signed', async () => {
    const d = delivery('flaky-trail');
    await writer.write([d]);
    await waitFor(() => flaky.accepted().length === 1, 'the flaky receiver to accept the notification');

    expect(flaky.requests.map((r) => r.status)).toEqual([503, 503, 503, 200]);
    // One notification: the same id on every attempt, the delivery's idempotency key.
    expect(new Set(flaky.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([d.deliveryId]));
    const accepted = flaky.accepted()[0]!;
    expect(verifyWebhook(SECRET, accepted.headers, accepted.body)).toMatchObject({ ok: true, id: d.deliveryId });
    // A forgery (another secret) and a tampered body are refused by the same check.
    expect(verifyWebhook('whsec_c29tZW9uZS1lbHNlcy1zZWNyZXQ=', accepted.headers, accepted.body)).toMatchObject({ ok: false, reason: 'NO_MATCHING_SIGNATURE' });
    expect(verifyWebhook(SECRET, accepted.headers, accepted.body.toString().replace('flaky-trail', 'other-trail'))).toMatchObject({ ok: false, reason: 'NO_MATCHING_SIGNATURE' });
    const body = JSON.parse(accepted.body.toString()) as Record<string, unknown>;
    expect(body).toMatchObject({ type: 'opentrail.delivery', notificationId: d.deliveryId, kind: 'LOG', s3Bucket: d.bucket, s3ObjectKey: [d.key], trailName: 'flaky-trail', accountId: d.accountId, region: d.region, sha256: d.sha256 });

    // Once accepted it is committed and not sent again.
    await waitForCommitted(kafka, `${prefix}notifier.webhook.flaky`, topics.deliveries);
    expect(flaky.accepted()).toHaveLength(1);
    expect(await notifier.metric('opentrail_notifier_notification_retries_total', { target: 'webhook:flaky' })).toBe(3);
    expect(await notifier.metric('opentrail_notifier_notification_attempts_failed_total', { target: 'webhook:flaky', result: '503' })).toBe(3);
    expect(await notifier.metric('opentrail_notifier_notifications_sent_total', { target: 'webhook:flaky' })).toBe(1);
    expect(await notifier.metric('opentrail_notifier_notifications_dead_lettered_total', { target: 'webhook:flaky' })).toBe(0);
  });

  it('dead-letters what a receiver that is down for good cannot take, after N attempts, and keeps serving the other targets', async () => {
    const deliverySerde = serdeFor(testRegistry(), 'Delivery');
    const first = delivery('mixed-trail');
    await writer.write([first]);
    await waitFor(() => dlq.messages.length >= 1, 'the dead letter of the first notification to the dead receiver');
    const letter = dlq.messages[0]!;
    expect(readDeadLetter(letter.headers)).toMatchObject({ reason: 'DELIVERY_FAILED', service: 'notifier', sourceTopic: topics.deliveries });
    expect(letter.headers?.['opentrail-notifier-target']?.toString()).toBe('webhook:down');
    expect(letter.headers?.['opentrail-notifier-attempts']?.toString()).toBe(String(ATTEMPTS));
    expect(letter.headers?.['opentrail-notification-id']?.toString()).toBe(first.deliveryId);
    expect(readDeadLetter(letter.headers).detail).toContain('NETWORK');
    // The dead letter is the delivery record itself, ready to be replayed.
    await deliverySerde.prepare([letter.value]);
    expect(deliverySerde.decode(letter.value).deliveryId).toBe(first.deliveryId);

    // The other targets of the same trail got it, and the service is healthy and ready.
    await waitFor(() => good.accepted().length >= 1, 'the good receiver to get the first notification');
    await waitFor(() => notifications.messages.length >= 1, 'the first record on the notifications topic');
    expect((await fetch(`${notifier.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${notifier.url}/readyz`)).status).toBe(200);

    // The dead receiver's circuit is open now: the next notifications fail fast to the dead-letter
    // topic instead of queueing behind it, and the other targets keep up.
    const later = [delivery('mixed-trail'), delivery('mixed-trail'), delivery('mixed-trail')];
    await writer.write(later);
    await waitFor(() => dlq.messages.length >= 4, 'the dead letters of the later notifications');
    await waitFor(() => good.accepted().length >= 4, 'the good receiver to get all four');
    await waitFor(() => notifications.messages.length >= 4, 'four records on the notifications topic');
    const lateLetters = dlq.messages.slice(1);
    expect(lateLetters.map((m) => m.headers?.['opentrail-notification-id']?.toString()).sort()).toEqual(later.map((d) => d.deliveryId).sort());
    expect(lateLetters.every((m) => readDeadLetter(m.headers).detail?.includes('CIRCUIT_OPEN'))).toBe(true);
    expect(good.accepted().map((r) => r.headers['webhook-id']).sort()).toEqual([first, ...later].map((d) => d.deliveryId).sort());
    expect((await notificationsOf(notifications)).map((n) => n.deliveryId).sort()).toEqual([first, ...later].map((d) => d.deliveryId).sort());
    // Not stuck: the dead target's group committed past everything it gave up on.
    await waitForCommitted(kafka, `${prefix}notifier.webhook.down`, topics.deliveries);

    expect(await notifier.metric('opentrail_notifier_notifications_dead_lettered_total', { target: 'webhook:down' })).toBe(4);
    expect(await notifier.metric('opentrail_notifier_notifications_dead_lettered_total', { target: 'webhook:down', code: 'CIRCUIT_OPEN' })).toBe(3);
    expect(await notifier.metric('opentrail_notifier_notification_attempts_failed_total', { target: 'webhook:down', result: 'NETWORK' })).toBe(ATTEMPTS);
    expect(await notifier.metric('opentrail_notifier_breaker_state', { target: 'webhook:down' })).toBe(2);
    expect(await notifier.metric('opentrail_notifier_breaker_state', { target: 'webhook:good' })).toBe(0);
    expect(await notifier.metric('opentrail_notifier_notifications_sent_total', { target: 'webhook:good' })).toBe(4);
    expect((await fetch(`${notifier.url}/healthz`)).status).toBe(200);
  });

  it('a slow receiver holds back only its own target: the other target of the trail is served and committed at once', async () => {
    const batch = [delivery('slow-trail'), delivery('slow-trail')];
    await writer.write(batch);
    await waitFor(() => prompt.accepted().length >= 2, 'the prompt receiver to get both');
    await waitForCommitted(kafka, `${prefix}notifier.webhook.prompt`, topics.deliveries);
    // Meanwhile the slow receiver has the requests but has not answered: its target's commit stays
    // before them, so a crash now would re-send them to it (and only to it).
    await waitFor(() => slow.requests.length >= 2, 'the slow receiver to have both requests');
    expect(slow.answered()).toBe(0);
    expect(await notifier.metric('opentrail_notifier_notifications_in_flight', { target: 'webhook:slow' })).toBe(2);
    expect(await notifier.metric('opentrail_notifier_target_lag', { target: 'webhook:slow' })).toBeGreaterThan(0);
    // Then it catches up on its own.
    await waitForCommitted(kafka, `${prefix}notifier.webhook.slow`, topics.deliveries, 30_000);
    expect(slow.accepted().map((r) => r.headers['webhook-id']).sort()).toEqual(batch.map((d) => d.deliveryId).sort());
    expect(await notifier.metric('opentrail_notifier_notifications_sent_total', { target: 'webhook:slow' })).toBe(2);
  });
});
