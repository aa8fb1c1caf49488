import type { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import { createLogger, ServiceMetrics } from '@opentrail/observability';
import { readDeadLetter, type BatchContext, type InputRecord } from '@opentrail/runtime';
import type { Alert } from '@opentrail/serde';
import { RuleSet } from '@opentrail/rules';
import { AlertOutputs } from '../src/alertOutputs.js';
import { alerterMetrics } from '../src/metrics.js';

const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:alerts';

function alert(n: number): Alert {
  return { alertId: `alert-${n}`, ruleId: 'cis-4.3-root-account-usage', ruleKind: 'FILTER_PATTERN', title: 'Root account usage', description: null, severity: 'HIGH', tags: [], groupKey: null, count: 1, windowStart: 0, windowEnd: 0, firstSeen: 0, lastSeen: 0, eventIds: [`e-${n}`], accountId: '111122223333', region: 'us-east-1', sampleEvent: null, firedAt: 0 };
}

function record(offset: number): InputRecord<Alert> {
  return { topic: 'alerts', partition: 0, offset: String(offset), key: null, value: alert(offset), headers: {}, timestamp: '0', bytes: 1 };
}

/** An SNS endpoint that is down: every Publish answers 503, as the SDK reports it. */
function unavailableSns() {
  const published: string[] = [];
  const client = {
    send(command: PublishCommand): Promise<never> {
      published.push(command.input.MessageAttributes!.alertId!.StringValue!);
      return Promise.reject(Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }));
    },
  };
  return { client: client as unknown as SNSClient, published };
}

describe('AlertOutputs: the SNS output', () => {
  it('has a circuit breaker: once SNS failed breakerFailures times, later alerts are dead-lettered without a Publish', async () => {
    const sns = unavailableSns();
    const registry = new ServiceMetrics(`alerteroutputs${Math.random().toString(36).slice(2, 8)}`);
    const outputs = new AlertOutputs({
      webhooks: [],
      sns: { client: sns.client, topicArn: TOPIC_ARN, minSeverity: 'LOW' },
      delivery: { retries: 0, initialDelayMs: 1, maxDelayMs: 1, timeoutMs: 1_000, breakerFailures: 2, breakerResetMs: 60_000 },
      deadLetterTopic: 'alerts.dlq',
      encode: (a) => Buffer.from(a.alertId),
      logger: createLogger('alerter', 'silent'),
      metrics: alerterMetrics(registry, () => RuleSet.empty()),
    });
    const context: BatchContext = { topic: 'alerts', partition: 0, highWatermark: '4', heartbeat: async () => undefined, signal: new AbortController().signal };
    const work = await outputs.processBatch([record(1), record(2), record(3), record(4)], context);
    expect(sns.published).toEqual(['alert-1', 'alert-2']);
    const letters = (work.outputs ?? []).map((m) => ({ topic: m.topic, value: m.value?.toString(), ...readDeadLetter(m.headers) }));
    expect(letters.map((l) => [l.topic, l.value, l.reason])).toEqual([1, 2, 3, 4].map((n) => ['alerts.dlq', `alert-${n}`, 'DELIVERY_FAILED']));
    expect(letters[0]!.detail).toContain(`sns: SNS ${TOPIC_ARN}: ServiceUnavailable: Service Unavailable`);
    expect(letters[0]!.detail).toMatch(/after 1 attempt\(s\) \[HTTP_RETRIABLE\]$/);
    expect(letters[2]!.detail).toMatch(/circuit open .* after 0 attempt\(s\) \[CIRCUIT_OPEN\]$/);
    const text = await registry.registry.metrics();
    expect(text).toContain(`outbound_breaker_state{destination="sns:${TOPIC_ARN}"} 2`);
    expect(text).toContain(`outbound_results_total{destination="sns:${TOPIC_ARN}",outcome="CIRCUIT_OPEN"} 2`);
    expect(text).toMatch(/sns_published_total\{outcome="failed"\} 4/);
  });
});
