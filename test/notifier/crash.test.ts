import { describe, expect, it } from 'vitest';
import { testKafka, uniquePrefix } from '../helpers/env.js';
import { startService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { collect, delivery, DeliveryWriter, notificationsOf, notifierEnv, notifierTopics, SECRET, trail, webhookReceiver } from './helpers.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach();

describe('notifier: SIGKILL and restart (a real process)', () => {
  it('loses no notification of the deliveries made before the kill; repeats carry the same id and body', async () => {
    const prefix = uniquePrefix('notifier-kill');
    const kafka = testKafka();
    const topics = await notifierTopics(prefix, kafka);
    // A slow receiver, one request at a time: when the notifier dies most notifications are still queued or in flight.
    const slow = await webhookReceiver(() => 200, { delayMs: 300 });
    cleanups.push(() => slow.close());
    const notifications = await collect(kafka, topics.notifications);
    cleanups.push(() => notifications.stop());
    const writer = await DeliveryWriter.create(kafka, topics.deliveries);
    cleanups.push(() => writer.close());

    const webhooks = [{ name: 'slow', url: slow.url, secret: SECRET }];
    const env = notifierEnv(prefix, [trail('crash-a', { webhooks, kafka: true }), trail('crash-b', { webhooks, kafka: true })], { OPENTRAIL_NOTIFIER_DELIVERY_CONCURRENCY: '1' });
    const before = Array.from({ length: 20 }, (_, i) => delivery(i % 2 === 0 ? 'crash-a' : 'crash-b'));
    await writer.write(before);

    const first = await startService('notifier', env);
    cleanups.push(() => first.kill());
    await waitFor(() => slow.accepted().length >= 4, 'a few notifications before the kill');
    await first.kill();
    const acceptedBeforeKill = new Set(slow.accepted().map((r) => String(r.headers['webhook-id'])));
    expect(acceptedBeforeKill.size).toBeLessThan(before.length);

    // Delivered while the notifier is down: announced after the restart as well.
    const during = Array.from({ length: 4 }, (_, i) => delivery(i % 2 === 0 ? 'crash-a' : 'crash-b'));
    await writer.write(during);

    const second = await startService('notifier', env);
    cleanups.push(() => second.kill());
    const expected = [...before, ...during].map((d) => d.deliveryId).sort();
    const webhookIds = () => new Set(slow.accepted().map((r) => String(r.headers['webhook-id'])));
    await waitFor(() => expected.every((id) => webhookIds().has(id)), `all ${expected.length} deliveries announced to the webhook`, 90_000);
    await waitFor(async () => new Set((await notificationsOf(notifications)).map((n) => n.deliveryId)).size === expected.length, 'every delivery on the notifications topic', 60_000);

    expect([...webhookIds()].sort()).toEqual(expected);
    expect([...new Set((await notificationsOf(notifications)).map((n) => n.deliveryId))].sort()).toEqual(expected);
    // At least once: a repeat is the same notification (same id, same body), so a receiver can drop it.
    const bodies = new Map<string, string>();
    for (const r of slow.accepted()) {
      const id = String(r.headers['webhook-id']);
      const body = r.body.toString();
      expect(bodies.get(id) ?? body).toBe(body);
      bodies.set(id, body);
    }
    // And a clean stop: SIGTERM finishes, commits and exits 0.
    expect(await second.stop()).toEqual({ code: 0, signal: null });
  });
});
