import type { Trail } from '@opentrail/trails';
import { targetName, type WebhookTarget } from '@opentrail/webhooks';

interface Common {
  /** Suffix of the target's consumer group: stable across restarts, so the target resumes where it stopped. */
  id: string;
  /** The `target` label of its metrics and the `opentrail-notifier-target` header of its dead letters. */
  label: string;
  /** Names of the trails announced to it. */
  trails: Set<string>;
}

export type TargetSpec =
  | (Common & { kind: 'sns'; topicArn: string })
  | (Common & { kind: 'webhook'; webhook: WebhookTarget & { secret: string } })
  | (Common & { kind: 'kafka' });

const slug = (text: string) => text.replace(/[^A-Za-z0-9._-]+/g, '_');

/**
 * The notification targets of the trails: one per SNS topic, per webhook (by name, or by URL when
 * it has none) and the notifications topic, each with the trails it serves. Two trails naming the
 * same topic or webhook share one target: one consumer group, one circuit breaker.
 */
export function resolveTargets(trails: readonly Trail[]): TargetSpec[] {
  const targets = new Map<string, TargetSpec>();
  const add = (spec: TargetSpec, trail: string) => {
    const existing = targets.get(spec.id);
    if (existing) existing.trails.add(trail);
    else targets.set(spec.id, spec);
  };
  for (const trail of trails) {
    const { snsTopicArn, webhooks, kafka } = trail.notifications;
    if (snsTopicArn) {
      // arn:aws:sns:<region>:<account>:<name>
      const [, , , region, account, name] = snsTopicArn.split(':');
      add({ kind: 'sns', id: slug(`sns.${region}.${account}.${name}`), label: `sns:${snsTopicArn}`, topicArn: snsTopicArn, trails: new Set([trail.name]) }, trail.name);
    }
    for (const webhook of webhooks) {
      // The configuration refuses webhooks without a secret (config.ts).
      if (!webhook.secret) continue;
      const name = targetName({ url: webhook.url, secret: webhook.secret, ...(webhook.name ? { name: webhook.name } : {}) });
      add({ kind: 'webhook', id: slug(`webhook.${name}`), label: `webhook:${name}`, webhook: { name, url: webhook.url, secret: webhook.secret }, trails: new Set([trail.name]) }, trail.name);
    }
    if (kafka) add({ kind: 'kafka', id: 'kafka', label: 'kafka', trails: new Set([trail.name]) }, trail.name);
  }
  return [...targets.values()];
}
