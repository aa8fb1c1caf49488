import { describe, expect, it } from 'vitest';
import { toCloudTrailRecord, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { startService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { ACCOUNT, alerterEnv, alerterStage, at, DecodedTopic, REGION } from './helpers.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach();

/** `perMinute` RunInstances calls in each of `minutes` minutes from `fromMinute` (event time). */
function writes(fromMinute: number, minutes: number, perMinute: number): CloudTrailRecord[] {
  const out: CloudTrailRecord[] = [];
  for (let m = fromMinute; m < fromMinute + minutes; m++) {
    for (let i = 0; i < perMinute; i++) {
      out.push({
        eventVersion: '1.08',
        eventTime: at(m * 60 + Math.floor((i * 60) / perMinute)),
        eventSource: 'ec2.amazonaws.com',
        eventName: 'RunInstances',
        eventType: 'AwsApiCall',
        readOnly: false,
        managementEvent: true,
        eventCategory: 'Management',
        userAgent: 'terraform/1.7',
        sourceIPAddress: '203.0.113.10',
        userIdentity: { type: 'AssumedRole', arn: `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/ci`, accountId: ACCOUNT },
      });
    }
  }
  return out;
}

describe('alerter Insights (a real process on the real stack)', () => {
  it('a write burst of 50x the baseline puts a Start and, when it ends, an End Insights record with statistics on the enriched topic, and alerts on it', async () => {
    const { prefix, kafka, topics, writer, alerts } = await alerterStage(cleanups, 'alerter-ins');
    const enriched = await DecodedTopic.open(kafka, topics.enriched, 'EnrichedEvent');
    cleanups.push(() => enriched.stop());

    const alerter = await startService(
      'alerter',
      alerterEnv(prefix, {
        OPENTRAIL_ALERTER_BUILTIN_PACKS: 'insights',
        OPENTRAIL_ALERTER_INSIGHTS_ENABLED: 'true',
        OPENTRAIL_ALERTER_INSIGHTS_MIN_BASELINE_MINUTES: '20',
        OPENTRAIL_ALERTER_ALLOWED_LATENESS_SECONDS: '30',
      }),
    );
    cleanups.push(() => alerter.stop().then(() => undefined));

    // 30 minutes at 2 writes a minute, 3 minutes at 100 (50x), 3 minutes at 2, then one event that moves the watermark on.
    await writer.write([...writes(0, 30, 2), ...writes(30, 3, 100), ...writes(33, 3, 2), ...writes(40, 1, 1)]);

    const insightRecords = async () =>
      ((await enriched.values())).filter((e) => e.event.eventType === 'AwsCloudTrailInsight').map((e) => toCloudTrailRecord(e.event));
    await waitFor(async () => (await insightRecords()).length >= 2, 'Start and End insight records on the enriched topic');
    const [start, end] = await insightRecords();
    expect(start).toMatchObject({
      eventVersion: '1.08',
      eventTime: at(30 * 60),
      awsRegion: REGION,
      eventType: 'AwsCloudTrailInsight',
      eventCategory: 'Insight',
      recipientAccountId: ACCOUNT,
      insightDetails: {
        state: 'Start',
        eventSource: 'ec2.amazonaws.com',
        eventName: 'RunInstances',
        insightType: 'ApiCallRateInsight',
        insightContext: { statistics: { baseline: { average: 2 }, insight: { average: 100 }, insightDuration: 1, baselineDuration: 30 } },
      },
    });
    for (const member of ['userIdentity', 'eventSource', 'eventName', 'sourceIPAddress', 'userAgent']) expect(start).not.toHaveProperty(member);
    expect(end).toMatchObject({
      eventTime: at(33 * 60),
      sharedEventID: start!.sharedEventID,
      insightDetails: { state: 'End', insightType: 'ApiCallRateInsight', insightContext: { statistics: { baseline: { average: 2 }, insight: { average: 100 }, insightDuration: 3, baselineDuration: 30 } } },
    });
    expect((start!.insightDetails as { insightContext: { attributions: unknown[] } }).insightContext.attributions).toContainEqual({
      attribute: 'userIdentityArn',
      insight: [{ value: `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/ci`, average: 100 }],
      baseline: [{ value: `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/ci`, average: 2 }],
    });

    // The alerter reads its own Start record back and alerts on it; it does not count it in a baseline.
    await waitFor(async () => (await alerts.values()).length >= 1, 'the Insights alert');
    const [alert] = (await alerts.values());
    expect(alert).toMatchObject({ ruleId: 'insight-started', ruleKind: 'INSIGHT', groupKey: `${ACCOUNT}|${REGION}|ec2.amazonaws.com|RunInstances|ApiCallRateInsight` });
    expect(await alerter.metric('opentrail_alerter_insights_total', { type: 'ApiCallRateInsight' })).toBe(2);
  });
});
