import { describe, expect, it } from 'vitest';
import { parseRuleFile, RuleSet } from '@opentrail/rules';
import type { EnrichedEvent } from '@opentrail/serde';
import { PartitionEvaluator, type EvaluatorOptions, type StateChange } from '../src/partitionEvaluator.js';
import { builtinPackDirectory } from '../src/rulePacks.js';
import { RuleLibrary } from '@opentrail/rules';
import { at, enriched } from './events.js';

const thresholdRules = RuleSet.build(parseRuleFile('t.yml', [
  'id: failed-logins',
  'title: Repeated console sign-in failures',
  'severity: high',
  "filterPattern: '{ ($.eventName = ConsoleLogin) && ($.errorMessage = \"Failed authentication\") }'",
  'groupBy: [recipientAccountId, userIdentity.userName]',
  'alarm: {threshold: 5, period: 60s}',
].join('\n')).definitions).ruleSet;

const options: EvaluatorOptions = { suppressionMs: 300_000, allowedLatenessMs: 60_000, insights: null };

const failedLogin = (seconds: number, user = 'alice', id = `${user}-${seconds}`): EnrichedEvent =>
  enriched({
    eventID: id,
    eventTime: at(seconds),
    eventSource: 'signin.amazonaws.com',
    eventName: 'ConsoleLogin',
    errorMessage: 'Failed authentication',
    responseElements: { ConsoleLogin: 'Failure' },
    userIdentity: { type: 'IAMUser', accountId: '111122223333', accessKeyId: '', userName: user },
  });

/** What a changelog holds after these changes: the latest value of each key. */
function compact(changes: StateChange[], into = new Map<string, { kind: StateChange['kind']; key: string; state: string }>()) {
  for (const c of changes) {
    const k = `${c.kind}\u0000${c.key}`;
    if (c.state === null) into.delete(k);
    else into.set(k, { kind: c.kind, key: c.key, state: c.state });
  }
  return into;
}

describe('thresholds in the partition evaluator', () => {
  it('five failed sign-ins by one user within 60 s give one alert', () => {
    const evaluator = new PartitionEvaluator(options);
    const result = evaluator.process([0, 10, 20, 30, 40].map((s) => failedLogin(s)), thresholdRules, 1);
    expect(result.alerts).toHaveLength(1);
    expect(result.alerts[0]).toMatchObject({
      ruleId: 'failed-logins',
      ruleKind: 'THRESHOLD',
      severity: 'HIGH',
      groupKey: '111122223333|alice',
      count: 5,
      windowStart: Date.parse(at(0)),
      windowEnd: Date.parse(at(60)),
      firstSeen: Date.parse(at(0)),
      lastSeen: Date.parse(at(40)),
      eventIds: ['alice-0', 'alice-10', 'alice-20', 'alice-30', 'alice-40'],
      accountId: '111122223333',
      region: 'us-east-1',
    });
    expect(JSON.parse(result.alerts[0]!.sampleEvent!)).toMatchObject({ eventID: 'alice-40', eventName: 'ConsoleLogin' });
  });

  it('four give none, nor do five spread over more than a minute, nor five by different users', () => {
    expect(new PartitionEvaluator(options).process([0, 10, 20, 30].map((s) => failedLogin(s)), thresholdRules, 1).alerts).toEqual([]);
    expect(new PartitionEvaluator(options).process([0, 30, 61, 92, 123].map((s) => failedLogin(s)), thresholdRules, 1).alerts).toEqual([]);
    expect(new PartitionEvaluator(options).process(['a', 'b', 'c', 'd', 'e'].map((u, i) => failedLogin(i, u)), thresholdRules, 1).alerts).toEqual([]);
  });

  it('a restart mid-window (state restored from the changelog) yields the same single alert id', () => {
    const straight = new PartitionEvaluator(options).process([0, 10, 20, 30, 40].map((s) => failedLogin(s)), thresholdRules, 1).alerts;

    const first = new PartitionEvaluator(options);
    const before = first.process([0, 10, 20].map((s) => failedLogin(s)), thresholdRules, 1);
    expect(before.alerts).toEqual([]);
    const restored = PartitionEvaluator.restore(compact(before.changes).values(), options);
    const after = restored.process([30, 40].map((s) => failedLogin(s)), thresholdRules, 2);
    expect(after.alerts.map((a) => a.alertId)).toEqual(straight.map((a) => a.alertId));
    expect(after.alerts[0]!.eventIds).toEqual(straight[0]!.eventIds);
  });

  it('suppresses repeats for the same group, and alerts again after the suppression', () => {
    const evaluator = new PartitionEvaluator(options);
    const burst = (from: number, tag: string) => [0, 1, 2, 3, 4].map((i) => failedLogin(from + i, 'alice', `${tag}-${i}`));
    expect(evaluator.process(burst(0, 'a'), thresholdRules, 1).alerts).toHaveLength(1);
    expect(evaluator.process(burst(100, 'b'), thresholdRules, 1).alerts).toHaveLength(0);
    const later = evaluator.process(burst(400, 'c'), thresholdRules, 1).alerts;
    expect(later).toHaveLength(1);
    expect(later[0]!.eventIds[0]).toBe('c-0');
  });

  it('ignores late events for thresholds, and expires windows and suppressions behind the watermark', () => {
    const evaluator = new PartitionEvaluator(options);
    const result = evaluator.process([failedLogin(0), failedLogin(10), enriched({ eventTime: at(1000), eventName: 'DescribeInstances' }), failedLogin(20), failedLogin(30), failedLogin(40)], thresholdRules, 1);
    expect(result.alerts).toEqual([]);
    // The window of 0 and 10 went when the watermark passed it (a tombstone in the changelog).
    expect(result.changes.filter((c) => c.kind === 'THRESHOLD')).toEqual([{ kind: 'THRESHOLD', key: 'failed-logins\u0000111122223333|alice', state: null }]);
    expect(evaluator.sizes.thresholds).toBe(0);
  });

  it('single-event rules alert per match, with an id from the rule, group, time and event', () => {
    const cis = new RuleLibrary({ directories: [builtinPackDirectory('cis')] }).load().ruleSet;
    const rootCall = (s: number, id: string) => enriched({ eventID: id, eventTime: at(s), eventSource: 'iam.amazonaws.com', eventName: 'CreateUser', eventType: 'AwsApiCall', userIdentity: { type: 'Root', arn: 'arn:aws:iam::111122223333:root', accountId: '111122223333' } });
    const evaluator = new PartitionEvaluator({ ...options, suppressionMs: 0 });
    const alerts = evaluator.process([rootCall(0, 'r1'), rootCall(1, 'r2')], cis, 1).alerts;
    expect(alerts.map((a) => [a.ruleId, a.ruleKind, a.count, a.eventIds])).toEqual([
      ['cis-4.3-root-account-usage', 'FILTER_PATTERN', 1, ['r1']],
      ['cis-4.3-root-account-usage', 'FILTER_PATTERN', 1, ['r2']],
    ]);
    expect(alerts[0]!.alertId).not.toBe(alerts[1]!.alertId);
    const again = new PartitionEvaluator({ ...options, suppressionMs: 0 }).process([rootCall(0, 'r1')], cis, 99).alerts;
    expect(again[0]!.alertId).toBe(alerts[0]!.alertId);
  });

  it('a rule that throws is skipped and reported, and the others still run', () => {
    const set = RuleSet.build(parseRuleFile('x.yml', "id: ok\ntitle: ok\nfilterPattern: '{ $.eventName = A }'\n---\nid: bad\ntitle: bad\nfilterPattern: '{ $.eventName = A }'").definitions).ruleSet;
    const bad = set.rules.find((r) => r.id === 'bad')!;
    bad.matches = () => {
      throw new Error('boom');
    };
    const errors: string[] = [];
    const result = new PartitionEvaluator(options, { onRuleError: (r) => errors.push(r.id) }).process([enriched({ eventName: 'A', eventTime: at(0) })], set, 1);
    expect(result.alerts.map((a) => a.ruleId)).toEqual(['ok']);
    expect(errors).toEqual(['bad']);
  });
});
