import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RuleLibrary, RuleSet } from '@opentrail/rules';
import { toCloudTrailRecord, validateRecord, writeRecordJson } from '@opentrail/cloudtrail';
import type { EnrichedEvent } from '@opentrail/serde';
import { insightMessage, insightRecord } from '../src/insightRecord.js';
import type { InsightEvent } from '../src/insights.js';
import { PartitionEvaluator, type EvaluatorOptions, type StateChange } from '../src/partitionEvaluator.js';
import { builtinPackDirectory } from '../src/rulePacks.js';
import { at, enriched } from './events.js';

const options: EvaluatorOptions = {
  suppressionMs: 0,
  allowedLatenessMs: 30_000,
  insights: { baselineMinutes: 10_080, minBaselineMinutes: 20, minCount: 10, zScore: 4, ratio: 3, maxSeries: 1000 },
};

let counter = 0;
/** `perMinute` write calls (RunInstances) in each of the given minutes, spread over the minute. */
function writes(fromMinute: number, minutes: number, perMinute: number, extra: Record<string, unknown> = {}): EnrichedEvent[] {
  const out: EnrichedEvent[] = [];
  for (let m = fromMinute; m < fromMinute + minutes; m++) {
    for (let i = 0; i < perMinute; i++) {
      out.push(
        enriched({
          eventID: `w-${counter++}`,
          eventTime: at(m * 60 + Math.floor((i * 60) / perMinute)),
          eventSource: 'ec2.amazonaws.com',
          eventName: 'RunInstances',
          readOnly: false,
          managementEvent: true,
          eventCategory: 'Management',
          userAgent: i % 10 === 0 ? 'terraform/1.7' : 'aws-cli/2.15',
          userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/deployer', accountId: '111122223333' },
          ...extra,
        }),
      );
    }
  }
  return out;
}

function run(events: EnrichedEvent[], evaluator = new PartitionEvaluator(options), rules = RuleSet.empty()) {
  const result = evaluator.process(events, rules, 1);
  return { evaluator, ...result };
}

describe('Insights: call-rate anomalies', () => {
  it('a write burst of 50 times the baseline gives a Start record, and an End record with statistics when it ends', () => {
    // 30 minutes at 2/min, 3 minutes at 100/min, 3 minutes back at 2/min, then one event to pass the watermark.
    const events = [...writes(0, 30, 2), ...writes(30, 3, 100), ...writes(33, 3, 2), ...writes(40, 1, 1)];
    const { insights } = run(events);
    const calls = insights.filter((i) => i.insightType === 'ApiCallRateInsight');
    expect(calls.map((i) => i.state)).toEqual(['Start', 'End']);
    const [start, end] = calls as [InsightEvent, InsightEvent];
    expect(start.sharedEventID).toBe(end.sharedEventID);
    expect(start.eventTime).toBe(Date.parse(at(30 * 60)));
    expect(end.eventTime).toBe(Date.parse(at(33 * 60)));
    expect(start.statistics).toEqual({ baseline: { average: 2 }, insight: { average: 100 }, insightDuration: 1, baselineDuration: 30 });
    expect(end.statistics).toEqual({ baseline: { average: 2 }, insight: { average: 100 }, insightDuration: 3, baselineDuration: 30 });
    expect(start.attributions.map((a) => a.attribute)).toEqual(['userIdentityArn', 'userAgent', 'errorCode']);
    expect(start.attributions[1]).toEqual({
      attribute: 'userAgent',
      insight: [
        { value: 'aws-cli/2.15', average: 90 },
        { value: 'terraform/1.7', average: 10 },
      ],
      baseline: [
        { value: 'aws-cli/2.15', average: 1 },
        { value: 'terraform/1.7', average: 1 },
      ],
    });
    expect(start.attributions[2]).toEqual({ attribute: 'errorCode', insight: [{ value: 'null', average: 100 }], baseline: [{ value: 'null', average: 2 }] });
  });

  it('steady traffic, a small rise, or a burst before the baseline is long enough raise nothing', () => {
    expect(run(writes(0, 60, 5)).insights).toEqual([]);
    expect(run([...writes(0, 30, 5), ...writes(30, 2, 9), ...writes(40, 1, 1)]).insights).toEqual([]);
    expect(run([...writes(0, 10, 2), ...writes(10, 2, 100), ...writes(20, 1, 1)]).insights).toEqual([]);
  });

  it('read calls do not count toward call rate', () => {
    expect(run([...writes(0, 30, 2), ...writes(30, 2, 100, { readOnly: true, eventName: 'DescribeInstances' }), ...writes(40, 1, 1)]).insights).toEqual([]);
  });

  it('uses the enrichment readOnly when the record has none', () => {
    const events = [...writes(0, 30, 2), ...writes(30, 2, 100, { readOnly: undefined }).map((e) => ({ ...e, enrichment: { ...e.enrichment, service: { name: 'ec2', accessLevel: 'Write', readOnly: false } } })), ...writes(40, 1, 1)];
    expect(run(events).insights.map((i) => i.state)).toEqual(['Start', 'End']);
  });

  it('an episode open at a restart ends with the same shared id after the state is restored', () => {
    const first = run([...writes(0, 30, 2), ...writes(30, 2, 100), ...writes(32, 1, 100)]);
    expect(first.insights.map((i) => i.state)).toEqual(['Start']);
    const log = new Map<string, { kind: StateChange['kind']; key: string; state: string }>();
    for (const c of first.changes) if (c.state !== null) log.set(`${c.kind}${c.key}`, { kind: c.kind, key: c.key, state: c.state });
    const restored = PartitionEvaluator.restore(log.values(), options);
    const second = run([...writes(33, 2, 2), ...writes(40, 1, 1)], restored);
    expect(second.insights.map((i) => [i.state, i.sharedEventID, i.statistics.insightDuration])).toEqual([['End', first.insights[0]!.sharedEventID, 3]]);
  });
});

describe('Insights: error-rate anomalies', () => {
  it('a burst of errors (reads included) gives an ApiErrorRateInsight without errorCode attribution', () => {
    const errors = (from: number, minutes: number, n: number) => writes(from, minutes, n, { eventName: 'GetObject', eventSource: 's3.amazonaws.com', readOnly: true, errorCode: 'AccessDenied' });
    const { insights } = run([...errors(0, 30, 1), ...errors(30, 1, 60), ...errors(31, 1, 1), ...errors(40, 1, 1)]);
    expect(insights.map((i) => [i.insightType, i.state, i.series.eventName])).toEqual([
      ['ApiErrorRateInsight', 'Start', 'GetObject'],
      ['ApiErrorRateInsight', 'End', 'GetObject'],
    ]);
    expect(insights[0]!.attributions.map((a) => a.attribute)).toEqual(['userIdentityArn', 'userAgent']);
  });
});

describe('Insights records', () => {
  const sample: InsightEvent = {
    state: 'Start',
    insightType: 'ApiCallRateInsight',
    series: { accountId: '111122223333', region: 'eu-west-1', eventSource: 'ec2.amazonaws.com', eventName: 'RunInstances' },
    sharedEventID: '11111111-2222-8333-8444-555555555555',
    eventID: '66666666-7777-8888-9999-000000000000',
    eventTime: Date.parse('2026-03-01T10:30:00Z'),
    statistics: { baseline: { average: 2 }, insight: { average: 100 }, insightDuration: 1, baselineDuration: 30 },
    attributions: [{ attribute: 'userIdentityArn', insight: [{ value: 'arn:aws:iam::111122223333:user/deployer', average: 100 }], baseline: [{ value: 'arn:aws:iam::111122223333:user/deployer', average: 2 }] }],
  };

  it('are in CloudTrail format: no userIdentity / eventSource / eventName at the top level', () => {
    const record = insightRecord(sample);
    expect(Object.keys(record)).toEqual(['eventVersion', 'eventTime', 'awsRegion', 'eventID', 'eventType', 'recipientAccountId', 'sharedEventID', 'insightDetails', 'eventCategory']);
    expect(record).toMatchObject({ eventVersion: '1.08', eventTime: '2026-03-01T10:30:00Z', eventType: 'AwsCloudTrailInsight', eventCategory: 'Insight', recipientAccountId: '111122223333' });
    expect(record.insightDetails).toEqual({
      state: 'Start',
      eventSource: 'ec2.amazonaws.com',
      eventName: 'RunInstances',
      insightType: 'ApiCallRateInsight',
      insightContext: { statistics: sample.statistics, attributions: sample.attributions },
    });
    expect(validateRecord(record)).toEqual([]);
  });

  it('travel as enriched events keyed by account and region, and round-trip', () => {
    const message = insightMessage(sample);
    expect(message.key).toBe('111122223333/eu-west-1');
    expect(toCloudTrailRecord(message.value.event)).toEqual(insightRecord(sample));
    // As the archiver writes it (the record's JSON text): members in the order of §7.2's example.
    expect(Object.keys(JSON.parse(writeRecordJson(message.value.event)) as object)).toEqual(Object.keys(insightRecord(sample)));
  });

  it('are not counted in baselines, and the insights pack alerts on a Start with kind INSIGHT', () => {
    const insightsPack = new RuleLibrary({ directories: [builtinPackDirectory('insights')] }).load().ruleSet;
    const evaluator = new PartitionEvaluator(options);
    const start = insightMessage(sample).value;
    const end = insightMessage({ ...sample, state: 'End', eventID: '77777777-7777-8888-9999-000000000000', eventTime: sample.eventTime + 180_000 }).value;
    const result = evaluator.process([start, start, end], insightsPack, 1);
    expect(evaluator.sizes.series).toBe(0);
    // The Start record delivered twice alerts once (the second falls in the rule's suppression); End does not alert.
    expect(result.alerts.map((a) => [a.ruleId, a.ruleKind, a.groupKey])).toEqual([['insight-started', 'INSIGHT', '111122223333|eu-west-1|ec2.amazonaws.com|RunInstances|ApiCallRateInsight']]);
    // …and the same record evaluated afresh (a restart) names the same alert.
    expect(new PartitionEvaluator(options).process([start], insightsPack, 2).alerts[0]!.alertId).toBe(result.alerts[0]!.alertId);
  });
});

describe('Insights: attribute values named like members of Object.prototype (issue 19, class 1)', () => {
  const prototypeNames = fc.constantFrom(...Object.getOwnPropertyNames(Object.prototype), 'prototype');

  it('are counted and attributed like any other value, before and after a restore', () => {
    fc.assert(
      fc.property(prototypeNames, prototypeNames, fc.boolean(), (agent, errorCode, restart) => {
        const odd = { userAgent: agent, errorCode, userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::111122223333:user/${agent}`, accountId: '111122223333' } };
        const baseline = writes(0, 30, 2, odd);
        const burst = [...writes(30, 2, 100, odd), ...writes(32, 1, 100, odd)];
        let evaluator = new PartitionEvaluator(options);
        let result = run([...baseline, ...burst], evaluator);
        if (restart) {
          const log = new Map<string, { kind: StateChange['kind']; key: string; state: string }>();
          for (const c of result.changes) if (c.state !== null) log.set(`${c.kind}${c.key}`, { kind: c.kind, key: c.key, state: c.state });
          evaluator = PartitionEvaluator.restore(log.values(), options);
          result = { ...result, insights: [...result.insights, ...run([...writes(33, 1, 100, odd)], evaluator).insights] };
        }
        const all = [...result.insights, ...run([...writes(34, 2, 2, odd), ...writes(40, 1, 1, odd)], evaluator).insights];
        const calls = all.filter((i) => i.insightType === 'ApiCallRateInsight');
        expect(calls.map((i) => i.state)).toEqual(['Start', 'End']);
        const [start, end] = calls as [InsightEvent, InsightEvent];
        const byAttribute = (i: InsightEvent, a: string) => i.attributions.find((x) => x.attribute === a)!;
        expect(byAttribute(start, 'userAgent').insight).toEqual([{ value: agent, average: 100 }]);
        expect(byAttribute(start, 'userAgent').baseline).toEqual([{ value: agent, average: 2 }]);
        expect(byAttribute(start, 'errorCode').insight).toEqual([{ value: errorCode, average: 100 }]);
        expect(byAttribute(end, 'userAgent').insight).toEqual([{ value: agent, average: 100 }]);
        expect(end.statistics.insightDuration).toBe(restart ? 4 : 3);
      }),
      { numRuns: 30 },
    );
  });
});
