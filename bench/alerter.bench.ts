/**
 * The alerter's figure (issue 7): throughput per core with the CIS pack, 60 Sigma rules and 10
 * thresholds loaded, beside the same run with no rules (aim: at least 50% of it).
 *
 * What is timed is the alerter's own work per event, on one thread: decoding the EnrichedEvent from
 * Avro, evaluating it (rule index, matchers, threshold windows, suppressions, Insights series and
 * watermark, as in production), and encoding what a batch outputs (alerts, Insights records, state
 * changes). Kafka I/O is left out: it is the same with and without rules and would hide the
 * difference. Per core = events / CPU seconds (user + system) of the process.
 *
 * `npx tsx bench/alerter.bench.ts`. BENCH_EVENTS (default 100000), BENCH_ROUNDS (5), BENCH_BATCH (500).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toApiCallEvent, validateApiCallEvent, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { parseRuleFile, RuleSet, type RuleDefinition } from '@opentrail/rules';
import { loadSchemas, type EnrichedEvent } from '@opentrail/serde';
import { deterministicUuid } from '../services/alerter/src/alert.js';
import { insightMessage } from '../services/alerter/src/insightRecord.js';
import { PartitionEvaluator, type EvaluatorOptions } from '../services/alerter/src/partitionEvaluator.js';
import { builtinPackDirectory } from '../services/alerter/src/rulePacks.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);

const schemas = loadSchemas();
const ACCOUNTS = Array.from({ length: 20 }, (_, i) => String(310000000000 + i * 7919));
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-southeast-2'];

/**
 * The input: the valid real CloudTrail records of test/fixtures (varied services and identities)
 * moved over 20 accounts and 4 regions, ten events a second of event time, and one event in fifty a
 * security-relevant one (failed sign-ins, root use, security group changes) so that rules fire.
 * The fixtures are rich in such calls themselves (AccessDenied, IAM and trail changes): about one
 * event in twelve raises an alert, far more than production would, so the alert path is stressed.
 */
function workload(n: number): Buffer[] {
  const fixtures = readFileSync(new URL('../test/fixtures/cloudtrail-records.ndjson', import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as CloudTrailRecord);
  const start = Date.UTC(2026, 2, 1);
  const type = schemas.EnrichedEvent.type;
  const out: Buffer[] = [];
  for (let i = 0; out.length < n; i++) {
    const account = ACCOUNTS[i % ACCOUNTS.length]!;
    const base: CloudTrailRecord = { ...fixtures[i % fixtures.length]!, awsRegion: REGIONS[Math.floor(i / ACCOUNTS.length) % REGIONS.length]!, recipientAccountId: account };
    const special = i % 50 === 7 ? (['ConsoleLogin', 'CreateAccessKey', 'AuthorizeSecurityGroupIngress'] as const)[i % 3] : undefined;
    const record: CloudTrailRecord = {
      ...base,
      eventID: deterministicUuid('bench', i),
      eventTime: `${new Date(start + i * 100).toISOString().slice(0, 19)}Z`,
      ...(special === 'ConsoleLogin' ? { eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', errorMessage: 'Failed authentication', userIdentity: { type: 'IAMUser', accountId: account, userName: `user${i % 3}` } } : {}),
      ...(special === 'CreateAccessKey' ? { eventSource: 'iam.amazonaws.com', eventName: 'CreateAccessKey', eventType: 'AwsApiCall', userIdentity: { type: 'Root', accountId: account, arn: `arn:aws:iam::${account}:root` } } : {}),
      ...(special === 'AuthorizeSecurityGroupIngress' ? { eventSource: 'ec2.amazonaws.com', eventName: 'AuthorizeSecurityGroupIngress' } : {}),
    };
    let event;
    try {
      event = toApiCallEvent(record);
    } catch {
      continue;
    }
    if (validateApiCallEvent(event, 0) !== undefined) continue;
    const value: EnrichedEvent = { event, enrichment: { enrichedAt: start, identity: null, geo: null, service: null } };
    out.push(type.toBuffer(value));
  }
  return out;
}

const SERVICES = ['ec2', 's3', 'iam', 'kms', 'lambda', 'sts', 'rds', 'dynamodb', 'ssm', 'secretsmanager', 'cloudtrail', 'organizations'];
const VERBS = ['Create', 'Delete', 'Put', 'Update', 'Attach', 'Detach', 'Modify', 'Start', 'Stop', 'Get', 'List', 'Describe'];
const NOUNS = ['Bucket', 'User', 'Role', 'Key', 'Function', 'Instance', 'Snapshot', 'Secret', 'Parameter', 'Trail', 'Policy', 'Table'];

/** 45 Sigma rules in SigmaHQ's format beside the 15 of the pack (60), with the mix of modifiers real packs use. */
function generatedSigma(count: number): RuleDefinition[] {
  const docs: string[] = [];
  for (let i = 0; i < count; i++) {
    const service = SERVICES[i % SERVICES.length]!;
    const names = [0, 1, 2].map((k) => `${VERBS[(i + k * 5) % VERBS.length]}${NOUNS[(i * 7 + k) % NOUNS.length]}`);
    const selection =
      i % 6 === 0
        ? // Unindexed: tested against every event, as rules on user agents and identities are.
          `    selection:\n      userAgent|contains:\n        - 'tool${i}'\n        - 'scanner${i}'\n    filter:\n      userIdentity.type: AWSService\n    condition: selection and not filter`
        : i % 6 === 1
          ? `    selection:\n      eventSource: ${service}.amazonaws.com\n      eventName|startswith: '${VERBS[i % VERBS.length]}'\n      requestParameters|contains: 'prod-${i}'\n    condition: selection`
          : i % 6 === 2
            ? `    selection:\n      eventName:\n${names.map((n) => `        - ${n}`).join('\n')}\n      userIdentity.arn|re: ':assumed-role/admin-${i}/'\n    condition: selection`
            : `    selection_source:\n      eventSource: ${service}.amazonaws.com\n    selection_name:\n      eventName:\n${names.map((n) => `        - ${n}`).join('\n')}\n    filter_failed:\n      errorCode|exists: true\n    condition: all of selection_* and not filter_failed`;
    docs.push(`title: Generated rule ${i}\nid: ${deterministicUuid('sigma', i)}\nstatus: test\nlevel: low\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n${selection.replace(/^ {4}/gm, '    ')}\n`);
  }
  const parsed = parseRuleFile('generated-sigma.yml', docs.join('---\n'));
  if (parsed.problems.length) throw new Error(parsed.problems.map((p) => p.message).join('\n'));
  return parsed.definitions;
}

/** Filter-pattern thresholds beside the pack's three and its correlation (10), grouped by several fields. */
function generatedThresholds(count: number): RuleDefinition[] {
  const groupBys = ['[recipientAccountId, userIdentity.arn]', '[recipientAccountId, sourceIPAddress]', '[recipientAccountId]'];
  const docs = Array.from(
    { length: count },
    (_, i) =>
      `id: bench-threshold-${i}\ntitle: Threshold ${i}\nfilterPattern: '{ ($.eventSource = ${SERVICES[i % SERVICES.length]}.amazonaws.com) && ($.errorCode = "*") }'\ngroupBy: ${groupBys[i % groupBys.length]}\nalarm:\n  threshold: ${10 + i}\n  period: 5m\n`,
  );
  const parsed = parseRuleFile('generated-thresholds.yml', docs.join('---\n'));
  if (parsed.problems.length) throw new Error(parsed.problems.map((p) => p.message).join('\n'));
  return parsed.definitions;
}

/** The CIS pack (15), the Sigma pack (14 + a correlation), the thresholds pack (3) and the generated rules. */
function fullRuleSet(): RuleSet {
  const packs = (['cis', 'sigma', 'thresholds'] as const).flatMap((name) => {
    const dir = builtinPackDirectory(name);
    return readdirSync(dir)
      .filter((f) => f.endsWith('.yml'))
      .flatMap((f) => parseRuleFile(f, readFileSync(join(dir, f), 'utf8')).definitions);
  });
  const { ruleSet, problems } = RuleSet.build([...packs, ...generatedSigma(45), ...generatedThresholds(6)]);
  if (problems.length) throw new Error(problems.map((p) => p.message).join('\n'));
  return ruleSet;
}

interface Result {
  seconds: number;
  cpuSeconds: number;
  alerts: number;
  insights: number;
  evaluations: number;
}

function run(input: Buffer[], rules: RuleSet, options: EvaluatorOptions): Result {
  const eventType = schemas.EnrichedEvent.type;
  const alertType = schemas.Alert.type;
  const stateType = schemas.AlerterState.type;
  for (const r of rules.rules) r.stats = { evaluations: 0, matches: 0 };
  const evaluator = new PartitionEvaluator(options);
  let alerts = 0;
  let insights = 0;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < input.length; i += BATCH) {
    const batch = input.slice(i, i + BATCH).map((b) => eventType.fromBuffer(b) as EnrichedEvent);
    const result = evaluator.process(batch, rules, 0);
    for (const alert of result.alerts) alertType.toBuffer(alert);
    for (const insight of result.insights) eventType.toBuffer(insightMessage(insight).value);
    for (const change of result.changes) {
      if (change.state !== null) stateType.toBuffer({ consumerGroup: 'bench', sourceTopic: 'bench', sourcePartition: 0, kind: change.kind, key: change.key, state: change.state, updatedAt: 0 });
    }
    alerts += result.alerts.length;
    insights += result.insights.length;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6, alerts, insights, evaluations: rules.rules.reduce((n, r) => n + r.stats.evaluations, 0) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const input = workload(EVENTS);
const full = fullRuleSet();
const counts = full.countsByKind();
const sigma = full.rules.filter((r) => r.kind === 'SIGMA').length;
const options: EvaluatorOptions = {
  suppressionMs: 300_000,
  allowedLatenessMs: 60_000,
  insights: { baselineMinutes: 10_080, minBaselineMinutes: 60, minCount: 10, zScore: 4, ratio: 3, maxSeries: 20_000 },
};
console.error(`${input.length} events; rules: ${counts.FILTER_PATTERN} filter patterns (CIS), ${sigma} Sigma, ${counts.THRESHOLD} thresholds`);

// A round of each first, not counted: the JIT warms up.
run(input, RuleSet.empty(), options);
run(input, full, options);
const none: number[] = [];
const loaded: number[] = [];
const ratios: number[] = [];
let last: Result | undefined;
for (let round = 1; round <= ROUNDS; round++) {
  // Alternate, so that drift in the shared machine's load hits both alike.
  const a = run(input, RuleSet.empty(), options);
  const b = (last = run(input, full, options));
  none.push(input.length / a.cpuSeconds);
  loaded.push(input.length / b.cpuSeconds);
  // Each round's two runs are back to back: their ratio is steadier than a ratio of medians.
  ratios.push(a.cpuSeconds / b.cpuSeconds);
  console.error(`round ${round}: no rules ${(input.length / a.cpuSeconds).toFixed(0)} events/s/core (${a.seconds.toFixed(2)} s), with rules ${(input.length / b.cpuSeconds).toFixed(0)} events/s/core (${b.seconds.toFixed(2)} s, ${b.alerts} alerts)`);
}
const base = median(none);
const withRules = median(loaded);
console.log(`alerter throughput per core (decode + evaluate + encode outputs, ${input.length} events, median of ${ROUNDS} rounds):`);
console.log(`  no rules:                                   ${base.toFixed(0)} events/s/core`);
console.log(`  CIS pack (${counts.FILTER_PATTERN}) + ${sigma} Sigma + ${counts.THRESHOLD} thresholds:  ${withRules.toFixed(0)} events/s/core`);
console.log(`  ratio: ${(median(ratios) * 100).toFixed(1)}% of the no-rule throughput (median of the rounds' ratios; aim: at least 50%)`);
console.log(`  rule evaluations per event after the index: ${(last!.evaluations / input.length).toFixed(2)} of ${full.size} rules; ${last!.alerts} alerts (${((last!.alerts / input.length) * 100).toFixed(1)}% of the events), ${last!.insights} Insights records`);
