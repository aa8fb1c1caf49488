/**
 * Replicas (issue 17): the pipeline raw → enricher → enriched → archiver → S3 with N = 1, 2 and 4
 * instances of both services, at a fixed partition count and a fixed offered load meant to be more
 * than one instance of each can carry. Per N it prints one table row:
 * - end-to-end events/s: records in log files delivered in the measured window (from the
 *   deliveries topic), and per instance (each one's own counters);
 * - p50 and p99 event → S3: from each event's production instant (in its eventID, see
 *   lib/timed-events.ts) to its log file's delivery, over a sample of the window's log files;
 * - each instance's CPU-seconds in the window and peak RSS, from /proc;
 * - the rebalances as instances 2..N join one by one while the load flows: the time from starting
 *   the new processes to every partition owned again, and how long each group as a whole made no
 *   progress (kafkajs rebalances eagerly: every member stops while the group re-forms).
 *
 * Both services get the same N: the end-to-end rate is the slower stage's, so scaling one with the
 * other held at 1 would mostly measure the one held at 1; scaled together (as the autoscalers in
 * deploy/ would under lag) the row says what N instances of the pipeline carry.
 *
 * `npx tsx bench/replicas.bench.ts` (uses the stack of OPENTRAIL_KAFKA_BROKERS & co. when set, else
 * starts one; OPENTRAIL_KAFKA_CLIENT picks the services' Kafka client). Knobs: BENCH_INSTANCES
 * (1,2,4), BENCH_RATE (offered events/s, 4000), BENCH_SECONDS (measured window, 40), BENCH_WARMUP_SECONDS
 * (10), BENCH_ROLL_SECONDS (5), BENCH_PARTITIONS (8), BENCH_LATENCY_FILES (log files sampled, 200), BENCH_SETTLE_TIMEOUT_SECONDS (90).
 * About 8 minutes with the defaults.
 */
import { loadavg } from 'node:os';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { AwsClients } from '@opentrail/aws';
import { kafkaSchema } from '@opentrail/config';
import { ensureTopics } from '@opentrail/runtime';
import type { Delivery } from '@opentrail/serde';
import { compileTrails, parseTrail, type TrailInput } from '@opentrail/trails';
import { startServiceProcess as startService } from './lib/service-process.js';
import { DeliveryWatcher } from './lib/deliveries.js';
import { GroupProgress } from './lib/group-progress.js';
import { cpuSeconds, peakRssBytes } from './lib/proc.js';
import { benchStack, type BenchStack } from './lib/stack.js';
import { feedRawEvents, producedAtOf } from './lib/timed-events.js';

const INSTANCES = (process.env.BENCH_INSTANCES ?? '1,2,4').split(',').map(Number);
const RATE = Number(process.env.BENCH_RATE ?? 4000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 40);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 10);
const ROLL_SECONDS = Number(process.env.BENCH_ROLL_SECONDS ?? 5);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 8);
const LATENCY_FILES = Number(process.env.BENCH_LATENCY_FILES ?? 200);
const SETTLE_TIMEOUT_SECONDS = Number(process.env.BENCH_SETTLE_TIMEOUT_SECONDS ?? 90);
const SAMPLE_MS = 500;
const SERVICES = ['enricher', 'archiver'] as const;
type Service = (typeof SERVICES)[number];

process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
const log = (line: string) => console.error(`replicas bench: ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The client the services run on: their own configuration's answer for this environment. */
const KAFKA_CLIENT = kafkaSchema.parse({ brokers: ['localhost:9092'], client: process.env.OPENTRAIL_KAFKA_CLIENT || undefined }).client;

interface InstanceFigures {
  name: string;
  eventsPerSecond: number;
  cpuSeconds: number;
  peakRssMiB: number;
}

interface JoinFigures {
  /** From starting the new instances to every partition of both groups owned again. */
  settleSeconds: number;
  /** Per group: time in the join with no record consumed by any member. */
  stalled: Record<Service, number>;
}

interface Row {
  n: number;
  offered: number;
  endToEnd: number;
  instances: Record<Service, InstanceFigures[]>;
  p50: number;
  p99: number;
  latencyEvents: number;
  joins: JoinFigures[];
  deadLettered: number;
}

function serviceEnv(stack: BenchStack, service: Service, prefix: string, trail: TrailInput): Record<string, string> {
  const common = {
    OPENTRAIL_KAFKA_BROKERS: stack.endpoints.kafkaBrokers,
    OPENTRAIL_SCHEMA_REGISTRY_URL: stack.endpoints.schemaRegistryUrl,
    OPENTRAIL_TOPIC_PREFIX: prefix,
    OPENTRAIL_TOPIC_PARTITIONS: String(PARTITIONS),
    OPENTRAIL_HTTP_PORT: '0',
    OPENTRAIL_LOG_LEVEL: 'info',
  };
  if (service === 'enricher') return { ...common, OPENTRAIL_ENRICHER_GROUP_ID: `${prefix}enricher` };
  return {
    ...common,
    OPENTRAIL_AWS_ENDPOINT: stack.endpoints.awsEndpoint,
    OPENTRAIL_TRAILS: JSON.stringify([trail]),
    OPENTRAIL_ARCHIVER_GROUP_ID: `${prefix}archiver`,
    OPENTRAIL_ARCHIVER_APPLY_LIFECYCLE: 'false',
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** Event → S3 seconds of every event in a random sample of the log files (each event's file is as likely to be picked as any other's). */
async function latencies(aws: AwsClients, deliveries: Delivery[]): Promise<number[]> {
  const sample = [...deliveries].sort(() => Math.random() - 0.5).slice(0, LATENCY_FILES);
  const seconds: number[] = [];
  for (const delivery of sample) {
    const object = await aws.s3.send(new GetObjectCommand({ Bucket: delivery.bucket, Key: delivery.key }));
    const { Records } = JSON.parse(gunzipSync(await object.Body!.transformToByteArray()).toString()) as { Records: { eventID: string }[] };
    for (const record of Records) seconds.push((delivery.deliveredAt - producedAtOf(record.eventID)) / 1000);
  }
  return seconds.sort((a, b) => a - b);
}

async function runWith(stack: BenchStack, aws: AwsClients, n: number): Promise<Row> {
  const prefix = `bench-rep${n}-${randomBytes(3).toString('hex')}.`;
  const bucket = `bench-rep-${randomBytes(4).toString('hex')}`;
  await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await ensureTopics(stack.kafka, ['events.raw', 'events.enriched', 'deliveries', 'events.dlq'].map((t) => ({ topic: `${prefix}${t}`, partitions: PARTITIONS })), { partitions: PARTITIONS, replicationFactor: 1 });
  const trail: TrailInput = { name: 'bench', accountId: '999988887777', homeRegion: 'us-east-1', bucket, roll: { intervalSeconds: ROLL_SECONDS } };
  const matcher = compileTrails([parseTrail(trail)]);

  const groups = { enricher: new GroupProgress('enricher', PARTITIONS), archiver: new GroupProgress('archiver', PARTITIONS) };
  const all = () => [...groups.enricher.members, ...groups.archiver.members];
  // All settled before throwing: an instance that did start is a member, and so stopped at the end.
  const addInstances = async () => {
    const started = await Promise.allSettled(SERVICES.map(async (service) => groups[service].members.push(await startService(service, serviceEnv(stack, service, prefix, trail)))));
    for (const result of started) if (result.status === 'rejected') throw result.reason;
  };
  const watcher = await DeliveryWatcher.start(stack.kafka, stack.registry, `${prefix}deliveries`);
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await Promise.all([groups.enricher.sample(), groups.archiver.sample()]);
      await sleep(SAMPLE_MS);
    }
  })();
  const feedStop = new AbortController();
  let feed: ReturnType<typeof feedRawEvents> | undefined;
  try {
    await addInstances();
    log(`N=${n}: first instances ready; offering ${RATE} events/s to ${prefix}events.raw`);
    feed = feedRawEvents(stack.kafka, stack.registry, `${prefix}events.raw`, { rate: RATE, signal: feedStop.signal, keep: (e) => matcher.select(e).length > 0 });
    await sleep(WARMUP_SECONDS * 1000);

    const joins: JoinFigures[] = [];
    for (let k = 2; k <= n; k++) {
      const started = Date.now();
      await addInstances();
      const deadline = Date.now() + SETTLE_TIMEOUT_SECONDS * 1000;
      while (!(groups.enricher.settled() && groups.archiver.settled()) && Date.now() < deadline) await sleep(100);
      // Not settled in time: shown as such (settle "-") with who owned what, and the run goes on.
      const settled = groups.enricher.settled() && groups.archiver.settled() ? Date.now() : NaN;
      if (Number.isNaN(settled)) log(`N=${n}: not settled ${SETTLE_TIMEOUT_SECONDS} s after instance ${k} joined; partitions owned: enricher ${groups.enricher.owned()}, archiver ${groups.archiver.owned()}`);
      // A little after settling too: the last member's first fetch comes after its assignment.
      await sleep(3000);
      joins.push({ settleSeconds: (settled - started) / 1000, stalled: { enricher: groups.enricher.stalledSeconds(started, Date.now()), archiver: groups.archiver.stalledSeconds(started, Date.now()) } });
      log(`N=${n}: instance ${k} of each joined; settled in ${fmt(joins.at(-1)!.settleSeconds, 1)} s`);
    }

    // The measured window.
    const scrape = () => Promise.all(all().map(async (p) => ({ p, cpu: cpuSeconds(p.pid) ?? NaN, metrics: await p.metrics() })));
    const before = await scrape();
    const t0 = Date.now();
    await sleep(SECONDS * 1000);
    const after = await scrape();
    const t1 = Date.now();
    const window = (t1 - t0) / 1000;
    const instances = { enricher: [] as InstanceFigures[], archiver: [] as InstanceFigures[] };
    let deadLettered = 0;
    for (const service of SERVICES) {
      groups[service].members.forEach((p, i) => {
        const b = before.find((s) => s.p === p)!;
        const a = after.find((s) => s.p === p)!;
        const counter = service === 'enricher' ? 'opentrail_enricher_events_in_total' : 'opentrail_archiver_events_archived_total';
        instances[service].push({
          name: `${service}-${i + 1}`,
          eventsPerSecond: ((a.metrics.get(counter) ?? 0) - (b.metrics.get(counter) ?? 0)) / window,
          cpuSeconds: a.cpu - b.cpu,
          peakRssMiB: (peakRssBytes(p.pid) ?? NaN) / 2 ** 20,
        });
        deadLettered += a.metrics.get(`opentrail_${service}_events_dead_lettered_total`) ?? 0;
      });
    }
    feedStop.abort();
    const fed = await feed;
    // Deliveries of the window's last files are committed just after it ends.
    await sleep(3000);
    const inWindow = (await watcher.stop()).filter((d) => d.kind === 'LOG' && d.deliveredAt >= t0 && d.deliveredAt < t1);
    const endToEnd = inWindow.reduce((sum, d) => sum + d.recordCount, 0) / window;
    log(`N=${n}: produced ${fed.sent} events at ${(fed.sent / fed.seconds).toFixed(0)}/s; ${inWindow.length} log files in the window; sampling their latency`);
    const seconds = await latencies(aws, inWindow);
    // Each row as soon as it is measured: a later N that fails (a start timing out) leaves these.
    log(
      `N=${n}: ${fmt(endToEnd)} events/s end to end, p50 ${fmt(percentile(seconds, 50), 1)} s, p99 ${fmt(percentile(seconds, 99), 1)} s; ` +
        [...instances.enricher, ...instances.archiver].map((i) => `${i.name} ${fmt(i.eventsPerSecond)}/s ${fmt(i.cpuSeconds, 1)} CPU-s ${fmt(i.peakRssMiB)} MiB`).join(', '),
    );
    return { n, offered: fed.sent / fed.seconds, endToEnd, instances, p50: percentile(seconds, 50), p99: percentile(seconds, 99), latencyEvents: seconds.length, joins, deadLettered };
  } finally {
    feedStop.abort();
    await feed?.catch(() => undefined);
    sampling = false;
    await sampler;
    await Promise.all(all().map((p) => p.stop()));
    await watcher.stop().catch(() => undefined);
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const mean = (values: number[]) => sum(values) / values.length;
const fmt = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

function table(rows: Row[]): string {
  const header = ['N', 'offered/s', 'e2e events/s', 'per inst. enr/arch', 'p50 s', 'p99 s', 'CPU s/inst. enr/arch', 'cores used', 'peak RSS MiB enr/arch', 'joins: settle s', 'joins: stall s enr/arch'];
  const lines = rows.map((r) => {
    const e = r.instances.enricher;
    const a = r.instances.archiver;
    const cores = sum([...e, ...a].map((i) => i.cpuSeconds)) / SECONDS;
    return [
      String(r.n),
      fmt(r.offered),
      fmt(r.endToEnd),
      `${fmt(mean(e.map((i) => i.eventsPerSecond)))} / ${fmt(mean(a.map((i) => i.eventsPerSecond)))}`,
      fmt(r.p50, 1),
      fmt(r.p99, 1),
      `${fmt(mean(e.map((i) => i.cpuSeconds)), 1)} / ${fmt(mean(a.map((i) => i.cpuSeconds)), 1)}`,
      fmt(cores, 2),
      `${fmt(Math.max(...e.map((i) => i.peakRssMiB)))} / ${fmt(Math.max(...a.map((i) => i.peakRssMiB)))}`,
      r.joins.length ? r.joins.map((j) => fmt(j.settleSeconds, 1)).join(', ') : '-',
      r.joins.length ? r.joins.map((j) => `${fmt(j.stalled.enricher, 1)}/${fmt(j.stalled.archiver, 1)}`).join(', ') : '-',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const render = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [render(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(render)].join('\n');
}

/** What the figures say about the two cores and the rebalances, worked out from them (not asserted in advance). */
function findings(rows: Row[]): string[] {
  const out: string[] = [];
  const first = rows[0]!;
  const perInstance = (r: Row) => mean(r.instances.archiver.map((i) => i.eventsPerSecond));
  const cores = (r: Row) => sum([...r.instances.enricher, ...r.instances.archiver].map((i) => i.cpuSeconds)) / SECONDS;
  for (const r of rows.slice(1)) {
    out.push(
      `N=${r.n}: end to end ${fmt(r.endToEnd)} events/s (${fmt((100 * r.endToEnd) / first.endToEnd)}% of N=${first.n}), per archiver ${fmt(perInstance(r))} (${fmt((100 * perInstance(r)) / perInstance(first))}%), ` +
        `services on ${fmt(cores(r), 2)} cores (N=${first.n}: ${fmt(cores(first), 2)}).`,
    );
  }
  out.push(
    `The machine has 2 cores, shared by Kafka, the schema registry, moto, this process and (at N=4) 8 service processes: once the services' cores used stop growing with N, ` +
      `added instances divide the same CPU, per-instance events/s falls, and the total holds at best.`,
  );
  const joins = rows.flatMap((r) => r.joins);
  if (joins.length) {
    out.push(
      `Rebalances (${joins.length} joins): settled ${fmt(Math.min(...joins.map((j) => j.settleSeconds)), 1)}–${fmt(Math.max(...joins.map((j) => j.settleSeconds)), 1)} s after starting the new instances (process start included); ` +
        `whole-group pauses enricher ${fmt(Math.min(...joins.map((j) => j.stalled.enricher)), 1)}–${fmt(Math.max(...joins.map((j) => j.stalled.enricher)), 1)} s, archiver ${fmt(Math.min(...joins.map((j) => j.stalled.archiver)), 1)}–${fmt(Math.max(...joins.map((j) => j.stalled.archiver)), 1)} s per join.`,
    );
  }
  // CPU per event holds under contention better than events/s does: the figure deploy/'s requests come from.
  for (const service of SERVICES) {
    const instances = rows.flatMap((r) => r.instances[service]);
    const events = sum(instances.map((i) => i.eventsPerSecond)) * SECONDS;
    out.push(
      `${service}: ${fmt((sum(instances.map((i) => i.cpuSeconds)) * 1e6) / events)} µs CPU per event over all rows (${fmt(events)} events), ` +
        `peak RSS ${fmt(Math.min(...instances.map((i) => i.peakRssMiB)))}–${fmt(Math.max(...instances.map((i) => i.peakRssMiB)))} MiB per instance.`,
    );
  }
  const dead = sum(rows.map((r) => r.deadLettered));
  if (dead > 0) out.push(`warning: ${dead} events dead-lettered (the figures count only archived events)`);
  return out;
}

async function main() {
  const stack = await benchStack(log);
  const aws = new AwsClients({ endpoint: stack.endpoints.awsEndpoint, region: 'us-east-1' });
  const rows: Row[] = [];
  try {
    for (const n of INSTANCES) rows.push(await runWith(stack, aws, n));
  } finally {
    aws.destroy();
    await stack.stop();
  }
  console.log(
    [
      `replicas: enricher and archiver × N, ${PARTITIONS} partitions, offered ${RATE} events/s, measured ${SECONDS} s after the last join, roll ${ROLL_SECONDS} s, ` +
        `Kafka client ${KAFKA_CLIENT}, transactional, moto as S3, load average at the end ${loadavg()[0]!.toFixed(1)}`,
      table(rows),
      ...findings(rows),
      `per instance: ${rows.map((r) => `N=${r.n} ${[...r.instances.enricher, ...r.instances.archiver].map((i) => `${i.name} ${fmt(i.eventsPerSecond)}/s ${fmt(i.cpuSeconds, 1)} CPU-s ${fmt(i.peakRssMiB)} MiB`).join(', ')}`).join('; ')}`,
      `latency sample: ${rows.map((r) => `N=${r.n} ${r.latencyEvents} events`).join(', ')}`,
    ].join('\n'),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
