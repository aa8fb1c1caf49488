/**
 * `npm run chaos`: the whole pipeline on a stack of its own, under a seeded schedule of faults,
 * and then the count of what came out (issue 17).
 *
 * It starts Kafka, the registry, moto and PostgreSQL under --dir (never the shared stack), every
 * service as a real process (archiver and enricher with replicas), and a producer at a steady rate
 * that writes down every acknowledged eventID. While it produces, the schedule SIGKILLs every
 * service (some kills timed to land on an archiver roll or upload, a digest, a commit), SIGTERMs an
 * archiver and an enricher instance, restarts the broker and PostgreSQL, cuts S3 for 30 s, and
 * scales the archiver, the enricher and history out and back in. Then
 * it stops producing, waits for the pipeline to drain and the digests to close, and counts: every
 * eventID in the log files of each trail and in event history (lost, duplicated, changed), each
 * log file on the deliveries topic (once), and `aws cloudtrail validate-logs` on every chain.
 *
 *   npm run test:chaos                                       # the short run npm test (CI) runs: --seed 1 --duration 150 --recovery-limit 60
 *   npm run chaos -- --seed 7 --duration 1800 --kills 5 --scales 3   # the long run
 *   npm run chaos -- --seed 3 --duration 420 --kills 3 --faults kill,sigterm --services archiver,enricher
 *                                                             # recovery times of replicas, faults apart
 *
 * Prints a line per fault with its recovery times and the summary line; exits 1 on any lost,
 * duplicated or changed event, duplicated or missing delivery, or chain validate-logs finds invalid.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AwsClients } from '@opentrail/aws';
import { Recorder } from '@opentrail/producer';
import { TrafficGenerator } from '@opentrail/testing';
import { connectKafka } from '@opentrail/runtime';
import { compileTrails, parseTrail, trailArn, type TrailInput } from '@opentrail/trails';
import { DEMO_REGION, demoTrails, prepareDemoResources } from '../packages/cli/src/demo/setup.js';
import { instanceNames, parseReplicas } from '../packages/cli/src/demo/supervisor.js';
import { auditDeliveries, auditHistory, auditLogFiles, digestChains, validateChain, type Tally } from './audit.js';
import { affectedServices, applyFault, timeRecovery, type FaultOutcome } from './faults.js';
import { metricEnding, Observer, scrape, type Baseline } from './observe.js';
import { consumerGroups, SERVICES, startPipeline, type Instance, type ServiceName } from './pipeline.js';
import { describeFault, faultSchedule, type Fault } from './schedule.js';
import { recordProcesses, stopLeftovers } from './leftovers.js';
import { startChaosStack, type ChaosStack } from './stack.js';
import { Ledger, produceSteadily } from './traffic.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    duration: { type: 'string', default: '180' },
    'events-per-second': { type: 'string', default: '20' },
    replicas: { type: 'string', default: 'archiver=2,enricher=2' },
    kills: { type: 'string', default: '1' },
    // Scale-outs (each with its scale-in) of the archiver, the enricher and history.
    scales: { type: 'string', default: '1' },
    // e.g. --faults kill,sigterm --services archiver,enricher: recovery times without overlapping stack faults.
    faults: { type: 'string' },
    services: { type: 'string' },
    'recovery-limit': { type: 'string', default: '180' },
    dir: { type: 'string', default: '.chaos' },
  },
});
const seed = Number(values.seed);
const durationSeconds = Number(values.duration);
const rate = Number(values['events-per-second']);
const killsPerService = Number(values.kills);
const scalesPerService = Number(values.scales);
const recoveryLimitMs = Number(values['recovery-limit']) * 1000;
if (![seed, durationSeconds, rate, killsPerService, scalesPerService, recoveryLimitMs].every((n) => Number.isFinite(n) && n >= 0) || rate <= 0) {
  process.stderr.write('chaos: --seed, --duration, --events-per-second, --kills, --scales and --recovery-limit take non-negative numbers\n');
  process.exit(2);
}
const dir = resolve(import.meta.dirname, '..', values.dir);
const replicas = parseReplicas(values.replicas, SERVICES);
const started = Date.now();
const say = (line: string) => process.stdout.write(`${line}\n`);
const note = (line: string) => process.stderr.write(`chaos +${Math.round((Date.now() - started) / 1000)}s: ${line}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const seconds = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);

// A run that was itself SIGKILLed left its servers and services running: they go first.
const processesFile = join(dir, 'processes');
const leftovers = stopLeftovers(processesFile);
if (leftovers) note(`stopped ${leftovers} process groups left by an earlier run in ${dir}`);
// Every run starts clean: a reused PostgreSQL or digest chain would mix two runs' events.
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
let stack: ChaosStack | undefined;
let stopPipeline: (() => Promise<void>) | undefined;
let pipelinePids: () => (number | undefined)[] = () => [];
let cleaning: Promise<void> | undefined;
// Every process the run started is stopped however it ends: its own end, an error, or a signal
// (CI cancelling the job); the processes file covers a SIGKILL of the run itself.
const cleanUp = () =>
  (cleaning ??= (async () => {
    clearInterval(recording);
    await stopPipeline?.().catch(() => undefined);
    await stack?.stop().catch(() => undefined);
  })());
const recording = setInterval(() => recordProcesses(processesFile, [...(stack?.pids() ?? []), ...pipelinePids()]), 2000).unref();
// The command that runs the same schedule and traffic again (the seed included when it was drawn).
const reproduce = () => `npm run chaos -- ${process.argv.some((a) => a.startsWith('--seed')) ? '' : `--seed ${seed} `}${process.argv.slice(2).join(' ')}`.trim();
const abandon = (why: string) => {
  say(`chaos: seed=${seed} FAILED: ${why}; stopping every process it started (reproduce: ${reproduce()})`);
  void cleanUp().finally(() => process.exit(1));
};
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => abandon(`interrupted by ${sig}`));
process.once('uncaughtException', (err) => abandon(`uncaught ${err.stack ?? String(err)}`));
process.once('unhandledRejection', (err) => abandon(`unhandled rejection ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));

let exitCode = 1;
try {
  stack = await startChaosStack(join(dir, 'stack'), note);
  exitCode = await chaos(stack);
} catch (err) {
  say(`chaos: seed=${seed} aborted: ${(err as Error).stack ?? String(err)}`);
} finally {
  await cleanUp();
}
if (exitCode !== 0) say(`chaos: seed=${seed} FAILED (exit 1); reproduce: ${reproduce()}`);
process.exit(exitCode);

async function chaos(stack: ChaosStack): Promise<number> {
  const endpoints = stack.serviceEndpoints;
  const resources = await prepareDemoResources({ ...endpoints, awsEndpoint: stack.awsEndpoint });
  const trailInputs = demoTrails(resources) as TrailInput[];
  const trails = trailInputs.map(parseTrail);
  note(`starting ${SERVICES.map((s) => `${s}×${replicas.get(s) ?? 1}`).join(', ')}`);
  const pipeline = await startPipeline({ dir, endpoints, resources, replicas, overrides: {}, say: note });
  stopPipeline = () => pipeline.stop();
  pipelinePids = () => pipeline.supervisor.children.map(({ child }) => child.pid);
  note('every service ready');

  const kafka = connectKafka({ brokers: endpoints.kafkaBrokers.split(','), clientId: 'opentrail-chaos' });
  const admin = kafka.admin();
  await admin.connect();
  const observer = new Observer(admin, pipeline.instances, consumerGroups(trails));
  const aws = new AwsClients({ endpoint: stack.awsEndpoint, region: DEMO_REGION });
  try {
    const recorder = await Recorder.create({ kafka: { brokers: endpoints.kafkaBrokers.split(','), clientId: 'opentrail-chaos-producer' }, registry: { url: endpoints.schemaRegistryUrl }, topic: 'opentrail.events.raw' });
    const ledger = new Ledger();
    const traffic = new AbortController();
    const trafficStarted = Date.now();
    const producing = produceSteadily({ recorder, generator: new TrafficGenerator({ seed, accounts: 2 }), matcher: compileTrails(trails), rate, ledger, signal: traffic.signal });

    // The steady state, measured before any fault: partitions owned and the usual lag.
    const settleMs = 20_000;
    await sleep(settleMs - 6000);
    const baselines = new Map<ServiceName, Baseline>();
    for (let i = 0; i < 5; i++) {
      for (const service of SERVICES) {
        const state = await observer.state(service);
        const before = baselines.get(service) ?? { owned: 0, lag: 0 };
        baselines.set(service, { owned: Math.max(before.owned, state.owned), lag: Math.max(before.lag, state.lag ?? 0) });
      }
      await sleep(1000);
    }
    // "Lag back to normal": within five seconds of traffic of the steady state's (transaction markers count too).
    const lagBound = rate * 5;
    note(`baseline: ${[...baselines].map(([s, b]) => `${s} owns ${b.owned} lag ${b.lag}`).join(', ')}`);

    const targets = values.services ? SERVICES.filter((s) => values.services!.split(',').includes(s)) : SERVICES;
    const instances = new Map(targets.map((s) => [s, instanceNames(s, replicas.get(s) ?? 1)] as [ServiceName, string[]]));
    const kinds = values.faults ? new Set(values.faults.split(',') as Fault['kind'][]) : undefined;
    const schedule = faultSchedule({ seed, durationSeconds, instances, killsPerService, scalesPerService, settleSeconds: settleMs / 1000, ...(kinds ? { kinds } : {}) });
    say(`chaos: seed=${seed} duration=${durationSeconds}s rate=${rate}/s replicas=${values.replicas} faults=${schedule.length}`);
    const outcomes: Promise<FaultOutcome>[] = [];
    for (const { at, fault } of schedule) {
      const wait = trafficStarted + at * 1000 - Date.now();
      if (wait > 0) await sleep(wait);
      note(`fault: ${describeFault(fault)}`);
      // Each fault runs on its own: an outage's 30 s or a kill waiting for its moment does not push
      // the later faults back, so they overlap as the schedule says.
      outcomes.push(
        applyFault(fault, { stack, supervisor: pipeline.supervisor, instances: pipeline.instances, pipeline }).then(async (applied) => ({
          fault,
          ...applied,
          ...(await timeRecovery(observer, affectedServices(fault, SERVICES), baselines, lagBound, applied, recoveryLimitMs, fault.kind === 'scale-out' ? fault.instance : undefined)),
        })),
      );
    }
    const left = trafficStarted + durationSeconds * 1000 - Date.now();
    if (left > 0) await sleep(left);
    traffic.abort();
    await producing;
    await recorder.close();
    note(`stopped producing: ${ledger.produced.size} events acknowledged, ${ledger.refused} refused${ledger.firstRefusal ? ` (first: ${ledger.firstRefusal})` : ''}`);

    const results = await Promise.all(outcomes);
    say(`${'fault'.padEnd(62)}${'at'.padEnd(8)}${'partitions served'.padEnd(20)}recovered (after fault end)`);
    for (const r of results) {
      const label = `${describeFault(r.fault)}${r.momentSeen === false ? (r.fault.kind === 'scale-in' ? ' (owned none)' : ' (moment not seen)') : ''}`;
      say(`${label.padEnd(62)}${`+${Math.round((r.startedAt - trafficStarted) / 1000)}s`.padEnd(8)}${seconds(r.ownedAfterMs).padEnd(20)}${r.recoveredAfterMs === undefined ? `NOT within ${recoveryLimitMs / 1000} s: ${r.notRecovered}` : seconds(r.recoveredAfterMs)}`);
    }

    await drain(observer, pipeline.instances);
    note('drained; auditing');

    const prefixes = new Map(trails.map((t) => [t.name, t.prefix ?? '']));
    const logs = await auditLogFiles(aws, resources.bucket, prefixes, ledger);
    const history = await auditHistory(endpoints.databaseUrl, ledger);
    const deliveries = await auditDeliveries(kafka, endpoints.schemaRegistryUrl, 'opentrail.deliveries', logs.keys);
    const chains = await digestChains(
      aws,
      resources.bucket,
      trails.map((t) => ({ arn: trailArn(t), prefix: t.prefix ?? '' })),
    );
    // Three CLI processes at a time: each is mostly waiting on S3 and the API.
    const validated: Awaited<ReturnType<typeof validateChain>>[] = [];
    let nextChain = 0;
    await Promise.all(
      Array.from({ length: 3 }, async () => {
        while (nextChain < chains.length) validated.push(await validateChain(chains[nextChain++]!, { apiUrl: pipeline.apiUrl, s3Endpoint: stack.awsEndpoint, startTime: new Date(trafficStarted - 60_000) }));
      }),
    );

    for (const [trail, t] of logs.trails) say(`log files ${trail}: expected=${t.expected} lost=${t.lost.length} duplicated=${t.duplicated.length} changed=${t.changed.length}${examples(t)}`);
    say(`history: expected=${history.expected} lost=${history.lost.length} duplicated=${history.duplicated.length} changed=${history.changed.length}${examples(history)}`);
    say(`deliveries: ${deliveries.deliveries} records, log files delivered twice=${deliveries.duplicated.length} never delivered=${deliveries.missing.length}${deliveries.duplicated.length + deliveries.missing.length ? ` (e.g. ${[...deliveries.duplicated, ...deliveries.missing].slice(0, 3).join(', ')})` : ''}`);
    for (const v of validated.filter((c) => !c.clean)) say(`validate-logs INVALID ${v.trailArn} ${v.accountId} ${v.region}: ${v.summary}`);

    const sum = (pick: (t: Tally) => string[]) => [...logs.trails.values()].reduce((n, t) => n + pick(t).length, 0);
    const lost = sum((t) => t.lost);
    const duplicated = sum((t) => t.duplicated);
    const changed = sum((t) => t.changed);
    const invalid = validated.filter((c) => !c.clean).length;
    const notRecovered = results.filter((r) => r.recoveredAfterMs === undefined).length;
    const failed = lost + duplicated + changed + history.lost.length + history.duplicated.length + history.changed.length + deliveries.duplicated.length + deliveries.missing.length + invalid > 0 || chains.length === 0;
    say(
      `chaos: seed=${seed} events=${ledger.produced.size} lost=${lost} duplicated=${duplicated} changed=${changed} ` +
        `history_lost=${history.lost.length} history_duplicated=${history.duplicated.length} history_changed=${history.changed.length} ` +
        `deliveries_duplicated=${deliveries.duplicated.length} deliveries_missing=${deliveries.missing.length} log_files=${logs.logFiles} ` +
        `faults=${results.length} not_recovered=${notRecovered} liveness_restarts=${pipeline.livenessRestarts.length} refused=${ledger.refused} ` +
        `validate-logs=${chains.length === 0 ? 'no chains' : invalid === 0 ? 'clean' : `${invalid} invalid`} (${chains.length} chains, ${validated.reduce((n, c) => n + c.validDigests, 0)} digests and ${validated.reduce((n, c) => n + c.validLogFiles, 0)} log files valid)`,
    );
    return failed ? 1 : 0;
  } finally {
    aws.destroy();
    await admin.disconnect().catch(() => undefined);
  }
}

function examples(t: Tally): string {
  const some = [...t.lost.slice(0, 2), ...t.duplicated.slice(0, 2), ...t.changed.slice(0, 2)];
  return some.length ? ` (e.g. ${some.join(', ')})` : '';
}

/**
 * Waits until every group has read everything (lag at most a transaction marker or so per
 * partition), then for the last roll, then until the digesters wrote the digests of the minute
 * that holds the last log file: validate-logs then covers every log file of the run.
 */
async function drain(observer: Observer, instances: Instance[]): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const states = await Promise.all(SERVICES.map((s) => observer.state(s)));
    if (states.every((s) => s.ready && s.lag !== undefined && s.lag <= 12)) break;
    if (Date.now() > deadline) {
      note(`not drained after 300 s: ${SERVICES.map((s, i) => `${s} lag=${states[i]!.lag ?? '?'}`).join(' ')}; auditing anyway`);
      break;
    }
    await sleep(1000);
  }
  // The demo trails roll every 20 s (30 s the writes trail): the last events' files close within that.
  await sleep(32_000);
  const digesters = instances.filter((i) => i.service === 'digester');
  const written = async () => (await Promise.all(digesters.map(async (d) => metricEnding((await scrape(d)) ?? new Map(), '_digests_written_total')))).reduce((a, b) => a + b, 0);
  // Digests are per minute: the one for the minute of the last log file is written after it ends.
  const minuteEnd = Math.ceil(Date.now() / 60_000) * 60_000;
  await sleep(minuteEnd - Date.now() + 1000);
  const before = await written();
  const digestDeadline = Date.now() + 120_000;
  while ((await written()) <= before && Date.now() < digestDeadline) await sleep(1000);
  // The other chains' digests of that minute follow within a few seconds.
  await sleep(10_000);
}
