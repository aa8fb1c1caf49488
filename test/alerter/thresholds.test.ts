import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { ACCOUNT, alerterEnv, alerterStage, at, failedConsoleLogin, tempRulesDir, waitForCommitted } from './helpers.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach();

const RULE = 'console-signin-failures-per-user';

describe('alerter thresholds (a real process on the real stack)', () => {
  it('five failed sign-ins by one user within 60 s give one alert, four give none, and a crash mid-window still yields exactly one alert id', async () => {
    const { prefix, kafka, topics, writer, alerts } = await alerterStage(cleanups, 'alerter-thr');
    const rules = tempRulesDir(cleanups);
    const env = alerterEnv(prefix, { OPENTRAIL_ALERTER_BUILTIN_PACKS: 'thresholds', OPENTRAIL_ALERTER_RULE_DIRECTORIES: rules.dir });
    const groupId = `${prefix}alerter`;

    let alerter: ServiceProcess = await startService('alerter', env);
    cleanups.push(() => alerter.stop().then(() => undefined));

    // Four by bob and five by alice, all within a minute of event time.
    await writer.write([0, 10, 20, 30].map((s) => failedConsoleLogin('bob', s, `bob-${s}`)));
    await writer.write([0, 10, 20, 30, 40].map((s) => failedConsoleLogin('alice', s, `alice-${s}`)));
    await waitFor(async () => (await alerts.values()).length >= 1, 'the alert for alice');
    await waitForCommitted(kafka, groupId, topics.enriched);
    const first = (await alerts.values());
    expect(first.map((a) => [a.ruleId, a.ruleKind, a.groupKey, a.count, a.eventIds])).toEqual([[RULE, 'THRESHOLD', '111122223333|alice', 5, ['alice-0', 'alice-10', 'alice-20', 'alice-30', 'alice-40']]]);
    expect(await alerter.metric('opentrail_alerter_alerts_total', { rule: RULE })).toBe(1);
    expect(await alerter.metric('opentrail_alerter_rule_matches_total', { rule: RULE })).toBe(9);
    // The index offers the sign-ins to the sign-in rule only: the other two thresholds name other calls.
    expect(await alerter.metric('opentrail_alerter_rule_evaluations_total', { rule: RULE })).toBe(9);
    expect(await alerter.metric('opentrail_alerter_rule_evaluations_total', { rule: 'security-group-change-burst' })).toBe(0);
    expect(await alerter.metric('opentrail_alerter_rule_evaluation_seconds_count')).toBe(9);
    expect(await alerter.metric('opentrail_alerter_rules_loaded', { kind: 'THRESHOLD' })).toBe(3);

    // A rule file added while the process runs is loaded, and its rule alerts.
    const trailFile = join(rules.dir, 'trail.yml');
    const deleteTrail = (eventID: string, seconds: number, userName: string) => ({
      eventVersion: '1.08',
      eventID,
      eventTime: at(seconds),
      eventSource: 'cloudtrail.amazonaws.com',
      eventName: 'DeleteTrail',
      eventType: 'AwsApiCall',
      userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/${userName}`, accountId: ACCOUNT, userName },
    });
    // Alerts are keyed by id, so two of them may sit in different partitions: compare them sorted.
    const trailAlerts = async () =>
      (await alerts.values())
        .filter((a) => a.ruleId === 'trail-deleted')
        .map((a) => [a.ruleKind, a.severity, a.eventIds])
        .sort((a, b) => String(a[2]).localeCompare(String(b[2])));
    writeFileSync(trailFile, "id: trail-deleted\ntitle: Trail deleted\nseverity: high\nfilterPattern: '{ $.eventName = DeleteTrail }'\n");
    await waitFor(async () => (await alerter.metric('opentrail_alerter_rules_loaded', { kind: 'FILTER_PATTERN' })) === 1, 'the new rule file to be loaded');
    await writer.write([deleteTrail('trail-1', 50, 'erin')]);
    await waitFor(async () => (await trailAlerts()).length >= 1, 'the alert of the reloaded rule');
    expect(await trailAlerts()).toEqual([['FILTER_PATTERN', 'HIGH', ['trail-1']]]);

    // A broken edit of that file is reported with its file and line, and its running rule stays active.
    writeFileSync(trailFile, "id: trail-deleted\ntitle: Trail deleted\nfilterPattern: '{ $.eventName = DeleteTrail && }'\n");
    const problemLine = () => alerter.logs().find((l) => typeof l.file === 'string' && l.file.endsWith('trail.yml'));
    await waitFor(problemLine, 'the rule file problem in the log');
    expect(problemLine()).toMatchObject({ level: 'error', line: 3, problem: expect.stringContaining('filterPattern: expected a condition') });
    expect(await alerter.metric('opentrail_alerter_rule_file_problems')).toBe(1);
    expect(await alerter.metric('opentrail_alerter_rules_loaded', { kind: 'FILTER_PATTERN' })).toBe(1);
    expect(await alerter.metric('opentrail_alerter_rules_loaded', { kind: 'THRESHOLD' })).toBe(3);
    await writer.write([deleteTrail('trail-2', 55, 'frank')]);
    await waitFor(async () => (await trailAlerts()).length >= 2, 'the alert of the rule whose file is now broken');
    expect(await trailAlerts()).toEqual([['FILTER_PATTERN', 'HIGH', ['trail-1']], ['FILTER_PATTERN', 'HIGH', ['trail-2']]]);
    expect(await alerter.metric('opentrail_alerter_rule_reloads_total', { outcome: 'with_problems' })).toBeGreaterThanOrEqual(1);

    // Mid-window: three by carol are processed and committed (with the window state), then the process is killed.
    await writer.write([100, 110, 120].map((s) => failedConsoleLogin('carol', s, `carol-${s}`)));
    await waitForCommitted(kafka, groupId, topics.enriched);
    expect(await alerter.metric('opentrail_alerter_rule_matches_total', { rule: RULE })).toBe(12);
    await alerter.kill();

    alerter = await startService('alerter', env);
    await writer.write([130, 140].map((s) => failedConsoleLogin('carol', s, `carol-${s}`)));
    await waitFor(async () => (await alerts.values()).some((a) => a.groupKey === '111122223333|carol'), 'the alert for carol after the restart', 90_000);
    await waitForCommitted(kafka, groupId, topics.enriched, 90_000);

    const all = (await alerts.values()).filter((a) => a.ruleId === RULE);
    const carol = all.filter((a) => a.groupKey === '111122223333|carol');
    expect(carol).toHaveLength(1);
    expect(carol[0]).toMatchObject({ count: 5, eventIds: ['carol-100', 'carol-110', 'carol-120', 'carol-130', 'carol-140'] });
    expect(new Set(all.map((a) => a.alertId)).size).toBe(2);
    expect(all.filter((a) => a.groupKey === '111122223333|bob')).toEqual([]);
    // The new process restored the window rather than starting from nothing.
    expect(alerter.logs().some((l) => l.msg === 'window state restored' && Number(l.entries) > 0)).toBe(true);
  });

  it('windows survive a rebalance to a second instance: one alert per user, none missed, none repeated', async () => {
    const { prefix, kafka, topics, writer, alerts } = await alerterStage(cleanups, 'alerter-reb');
    const env = alerterEnv(prefix, { OPENTRAIL_ALERTER_BUILTIN_PACKS: 'thresholds' });
    const groupId = `${prefix}alerter`;
    // Eight accounts: their account/region keys spread over the three partitions.
    const accounts = Array.from({ length: 8 }, (_, i) => String(200000000000 + i * 104729));
    const logins = (seconds: number[]) => accounts.flatMap((accountId) => seconds.map((s) => ({ ...failedConsoleLogin('dave', s, `${accountId}-${s}`), recipientAccountId: accountId, userIdentity: { type: 'IAMUser', accountId, userName: 'dave' } })));

    const first = await startService('alerter', env);
    cleanups.push(() => first.stop().then(() => undefined));
    await writer.write(logins([0, 10, 20]));
    await waitForCommitted(kafka, groupId, topics.enriched);

    // A second instance joins: partitions move while windows are open.
    const second = await startService('alerter', env);
    cleanups.push(() => second.stop().then(() => undefined));
    await waitFor(async () => (await second.metric('opentrail_alerter_assigned_partitions')) > 0 && (await first.metric('opentrail_alerter_assigned_partitions')) < 3, 'the partitions to be shared');
    await writer.write(logins([30, 40]));
    await waitFor(async () => (await alerts.values()).length >= accounts.length, `${accounts.length} alerts`, 90_000);
    await waitForCommitted(kafka, groupId, topics.enriched, 90_000);

    const all = await alerts.values();
    expect(all.map((a) => a.groupKey).sort()).toEqual(accounts.map((a) => `${a}|dave`).sort());
    expect(all.every((a) => a.count === 5 && a.eventIds[0]!.endsWith('-0'))).toBe(true);
    expect((await first.metric('opentrail_alerter_alerts_total')) + (await second.metric('opentrail_alerter_alerts_total'))).toBe(accounts.length);
    expect(second.logs().some((l) => l.msg === 'window state restored' && Number(l.entries) > 0)).toBe(true);
  });
});
