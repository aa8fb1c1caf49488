import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { readDeadLetter } from '@opentrail/runtime';
import { verifyWebhook } from '@opentrail/webhooks';
import { uniquePrefix } from '../helpers/env.js';
import { collect } from '../helpers/kafka.js';
import { startService } from '../helpers/service.js';
import { snsTopicWithQueue, testAws } from '../helpers/snsQueue.js';
import { waitFor } from '../helpers/wait.js';
import { webhookReceiver } from '../helpers/webhookReceiver.js';
import { ACCOUNT, alerterEnv, alerterStage, at } from './helpers.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

const cleanups = cleanupAfterEach();

const SECRET = 'whsec_c2VjcmV0LWZvci1vcGVudHJhaWwtdGVzdHM=';

describe('alerter outputs (a real process on the real stack)', () => {
  it('sends each alert as a signed webhook and to SNS, and dead-letters what a target refuses', async () => {
    const { prefix, kafka, topics, writer, alerts } = await alerterStage(cleanups, 'alerter-out');
    const aws = testAws(cleanups);
    const name = prefix.replace(/\W/g, '');
    const { TopicArn, QueueUrl } = await snsTopicWithQueue(aws, `${name}alerts`);

    const good = await webhookReceiver(() => 200);
    const refusing = await webhookReceiver(() => 400);
    cleanups.push(() => good.close(), () => refusing.close());
    const dlq = await collect(kafka, topics.dlq);
    cleanups.push(() => dlq.stop());

    const alerter = await startService(
      'alerter',
      alerterEnv(prefix, {
        OPENTRAIL_ALERTER_BUILTIN_PACKS: 'cis',
        OPENTRAIL_ALERTER_WEBHOOKS: JSON.stringify([
          { name: 'siem', url: good.url, secret: SECRET },
          { name: 'refusing', url: refusing.url, secret: SECRET, minSeverity: 'high' },
        ]),
        OPENTRAIL_ALERTER_SNS_TOPIC_ARN: TopicArn,
        OPENTRAIL_ALERTER_DELIVERY_RETRIES: '2',
      }),
    );
    cleanups.push(() => alerter.stop().then(() => undefined));

    // Root uses the account (CIS 4.3, high) and alice changes a security group (CIS 4.10, medium).
    await writer.write([
      { eventID: 'root-1', eventTime: at(0), eventSource: 'iam.amazonaws.com', eventName: 'CreateAccessKey', eventType: 'AwsApiCall', userIdentity: { type: 'Root', principalId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT } },
      { eventID: 'sg-1', eventTime: at(5), eventSource: 'ec2.amazonaws.com', eventName: 'AuthorizeSecurityGroupIngress', eventType: 'AwsApiCall', userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/alice`, accountId: ACCOUNT, userName: 'alice' } },
    ]);

    await waitFor(() => good.requests.length >= 2, 'two webhooks to the good receiver');
    const sent = await alerts.values();
    expect(sent.map((a) => a.ruleId).sort()).toEqual(['cis-4.10-security-group-changes', 'cis-4.3-root-account-usage']);
    for (const request of good.requests) {
      const verified = verifyWebhook(SECRET, request.headers, request.body);
      expect(verified.ok).toBe(true);
      const body = JSON.parse(request.body.toString()) as { alertId: string; ruleId: string; sampleEvent: { eventID: string } };
      expect(request.headers['webhook-id']).toBe(body.alertId);
      expect(sent.find((a) => a.alertId === body.alertId)?.ruleId).toBe(body.ruleId);
    }
    // Forged: the same body signed with another secret is refused by the receiver's check.
    expect(verifyWebhook('whsec_b3RoZXI=', good.requests[0]!.headers, good.requests[0]!.body)).toMatchObject({ ok: false, reason: 'NO_MATCHING_SIGNATURE' });

    // The refusing target only takes high alerts: the root alert, once (a 400 is not retried), then dead-lettered.
    await waitFor(() => dlq.messages.length >= 1, 'the dead letter of the refused webhook');
    expect(refusing.requests.map((r) => (JSON.parse(r.body.toString()) as { ruleId: string }).ruleId)).toEqual(['cis-4.3-root-account-usage']);
    const letter = readDeadLetter(dlq.messages[0]!.headers);
    expect(letter).toMatchObject({ reason: 'DELIVERY_FAILED', service: 'alerter', sourceTopic: topics.alerts });
    expect(letter.detail).toContain('webhook refusing: refusing answered 400 after 1 attempt(s)');

    // SNS → SQS: both alerts, with the alert id as a message attribute.
    const received: { Message: string; MessageAttributes: Record<string, { Value: string }> }[] = [];
    await waitFor(async () => {
      const { Messages } = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      for (const m of Messages ?? []) received.push(JSON.parse(m.Body!) as (typeof received)[number]);
      return received.length >= 2;
    }, 'two SNS notifications in the subscribed queue');
    expect(received.map((n) => n.MessageAttributes.alertId!.Value).sort()).toEqual(sent.map((a) => a.alertId).sort());
    expect(await alerter.metric('opentrail_alerter_sns_published_total', { outcome: 'sent' })).toBe(2);
    expect(await alerter.metric('opentrail_alerter_webhook_deliveries_total', { target: 'siem', outcome: 'sent' })).toBe(2);
    expect(await alerter.metric('opentrail_alerter_webhook_deliveries_total', { target: 'refusing', outcome: 'failed' })).toBe(1);
  });

  it('stops at start-up naming a bad configuration key', async () => {
    const prefix = uniquePrefix('alerter-cfg');
    const alerter = await startService('alerter', alerterEnv(prefix, { OPENTRAIL_ALERTER_SNS_TOPIC_ARN: 'not-an-arn', OPENTRAIL_ALERTER_SUPPRESSION_SECONDS: '-5' }), { ready: false }).catch((err: Error) => err);
    const output = alerter instanceof Error ? alerter.message : (await alerter.exited, alerter.output());
    expect(output).toContain('alerter.sns.topicArn (env OPENTRAIL_ALERTER_SNS_TOPIC_ARN): must be an SNS topic ARN');
    expect(output).toContain('alerter.suppressionSeconds (env OPENTRAIL_ALERTER_SUPPRESSION_SECONDS)');
    if (!(alerter instanceof Error)) expect((await alerter.exited).code).toBe(78);
  });
});
