import { describe, expect, it } from 'vitest';
import { readDeadLetter } from '@opentrail/runtime';
import { testKafka, uniquePrefix } from '../helpers/env.js';
import { startService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { collect, delivery, DeliveryWriter, notificationsOf, notifierEnv, notifierTopics, SECRET, trail, waitForCommitted, webhookReceiver } from './helpers.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach();

describe('notifier: poison deliveries (issue 19, class 2)', () => {
  it('dead-letters a delivery it cannot format as a notification, with its reason, and announces the good ones around it', async () => {
    const kafka = testKafka();
    const prefix = uniquePrefix('notifier-poison');
    const topics = await notifierTopics(prefix, kafka);
    const hook = await webhookReceiver(() => 204);
    cleanups.push(() => hook.close());
    const dlq = await collect(kafka, topics.dlq);
    const notifications = await collect(kafka, topics.notifications);
    cleanups.push(() => dlq.stop(), () => notifications.stop());
    const writer = await DeliveryWriter.create(kafka, topics.deliveries);
    cleanups.push(() => writer.close());
    const notifier = await startService('notifier', notifierEnv(prefix, [trail('audit', { webhooks: [{ name: 'hook', url: hook.url, secret: SECRET }], kafka: true })]));
    cleanups.push(() => notifier.stop());

    // One trail, account and region: one partition holds them in turn.
    const good = [delivery('audit'), delivery('audit'), delivery('audit'), delivery('audit')];
    // Times no Date can hold: the webhook body (ISO-8601 times) cannot be written.
    const poison = { ...delivery('audit'), newestEventTime: 9e15 };
    // A trail named like a member of Object.prototype: not configured here, skipped.
    const stranger = { ...delivery('audit'), trailName: 'constructor' };
    await writer.write([good[0]!, poison, good[1]!, stranger, good[2]!]);
    await writer.write([good[3]!]);

    await waitFor(() => hook.accepted().length >= good.length, `the webhook to get ${good.length} notifications (has ${hook.accepted().length})`, 60_000);
    expect(hook.accepted().map((r) => r.headers['webhook-id']).sort()).toEqual(good.map((d) => d.deliveryId).sort());
    const letters = await waitFor(() => (dlq.messages.length >= 1 ? dlq.messages : undefined), 'the dead letter of the poison delivery');
    expect(letters).toHaveLength(1);
    expect(readDeadLetter(letters[0]!.headers)).toMatchObject({ reason: 'NOTIFICATION_FAILED', service: 'notifier', sourceTopic: topics.deliveries, detail: expect.stringMatching(/^webhook:hook: RangeError: /) });
    // The Kafka channel formats no ISO time: it announces the poison delivery like the others.
    await waitFor(() => notifications.messages.length >= good.length + 1, 'the notifications topic');
    expect((await notificationsOf(notifications)).map((n) => n.deliveryId).sort()).toEqual([...good, poison].map((d) => d.deliveryId).sort());
    // Every target's partition is committed to its end.
    await waitForCommitted(kafka, `${prefix}notifier.webhook.hook`, topics.deliveries);
    await waitForCommitted(kafka, `${prefix}notifier.kafka`, topics.deliveries);
    expect(await notifier.metric('opentrail_notifier_events_dead_lettered_total', { reason: 'NOTIFICATION_FAILED' })).toBe(1);
    expect(notifier.child.exitCode).toBeNull();
  });
});
