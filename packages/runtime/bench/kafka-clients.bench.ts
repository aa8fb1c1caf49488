/**
 * Kafka clients side by side (issue 16): kafkajs, @confluentinc/kafka-javascript (librdkafka) and
 * @platformatic/kafka, each running the same consume → produce pipeline against the real broker,
 * written with the client's own API (lib/kafka-clients), and the same pipeline written against the
 * runtime's Kafka port on each of its two adapters (lib/kafka-clients/port.ts: the port's cost):
 * - pass-through: every input message produced unchanged to another topic (idempotent, acks=all),
 *   the offsets committed after the outputs are acknowledged;
 * - transactional: the outputs and the input offsets in one transaction per batch (exactly once);
 * - rebalance: a live feed (2000 events/s), a second consumer joins the group mid-run; the pause
 *   is the longest time the group produced nothing from that moment on (eager: everyone stops;
 *   cooperative: only the moved partitions do).
 * Figures: events/s, CPU per event (process.cpuUsage: the client's JS and, for librdkafka, its
 * threads), p99 latency from a batch handed over to its outputs acknowledged and offsets committed.
 * Each (client, scenario) runs in its own process, one after another, on the same pre-produced input.
 *
 * `npx tsx packages/runtime/bench/kafka-clients.bench.ts` (or `npm run bench -- kafka-clients`); uses
 * the stack of OPENTRAIL_KAFKA_BROKERS & co. when set, else starts one. BENCH_EVENTS (default 20000),
 * BENCH_CLIENTS (comma-separated subset of kafkajs,confluent,platformatic,port-kafkajs,port-confluent), BENCH_SCENARIOS (of
 * pass-through,transactional,rebalance); BENCH_DEBUG=1 logs @platformatic/kafka's group events and
 * batches, BENCH_PLATFORMATIC_ASSIGNOR (default cooperative-sticky; roundrobin: eager).
 * @confluentinc/kafka-javascript is built from source on first use (src/clients/confluentInstall.ts).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
// The bench's stack comes from the project's bench helpers; the clients only from this package.
import { benchStack } from '../../../bench/lib/stack.js';
import { ensureConfluent } from '../src/clients/confluentInstall.js';
import { connectKafka, ensureTopics, type KafkaClient } from '../src/index.js';
import type { ClientUnderTest, Pipeline } from './lib/kafka-clients/types.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const PARTITIONS = 6;
const VALUE_BYTES = 1500;
const FEED_RATE = 2000;
const FEED_SECONDS = 15;
const JOIN_AFTER_SECONDS = 5;
const TIMEOUT_MS = 180_000;

const SCENARIOS = ['pass-through', 'transactional', 'rebalance'] as const;
type Scenario = (typeof SCENARIOS)[number];
const CLIENTS = ['kafkajs', 'confluent', 'platformatic', 'port-kafkajs', 'port-confluent'] as const;
type ClientName = (typeof CLIENTS)[number];

interface Result {
  /** The name it was selected by (BENCH_CLIENTS). */
  selected?: ClientName;
  client: string;
  scenario: Scenario;
  protocol: string;
  events: number;
  eventsPerSecond?: number;
  cpuMicrosPerEvent?: number;
  p99Ms?: number;
  /** rebalance: the longest time without output after the second consumer started. */
  pauseMs?: number;
  /** rebalance: from the second consumer's start to its first batch done. */
  secondConsumerFirstBatchMs?: number;
  /** rebalance: outputs beyond the events fed (re-processed after the rebalance). */
  duplicates?: number;
  /** rebalance: the group stopped making progress after the rebalance. */
  stalled?: string;
  error?: string;
}

/** Messages of VALUE_BYTES, keyed like event topics (`<accountId>/<region>`, 20 accounts). */
function messages(from: number, count: number): { key: string; value: string; timestamp: string }[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `1000000000${String((from + i) % 20).padStart(2, '0')}/eu-west-1`,
    value: randomBytes(VALUE_BYTES / 2).toString('hex'),
    timestamp: String(Date.now()),
  }));
}

function createTopic(kafka: KafkaClient, topic: string, partitions: number): Promise<void> {
  return ensureTopics(kafka, [{ topic, partitions }], { partitions, replicationFactor: 1 });
}

function weightedPercentile(samples: { value: number; weight: number }[], p: number): number {
  const sorted = [...samples].sort((a, b) => a.value - b.value);
  const total = sorted.reduce((sum, s) => sum + s.weight, 0);
  let seen = 0;
  for (const s of sorted) {
    seen += s.weight;
    if (seen >= total * p) return s.value;
  }
  return sorted.at(-1)?.value ?? 0;
}

async function loadClient(name: ClientName): Promise<ClientUnderTest> {
  switch (name) {
    case 'kafkajs':
      return (await import('./lib/kafka-clients/kafkajs.js')).kafkajsClient;
    case 'confluent':
      return (await import('./lib/kafka-clients/confluent.js')).confluentClient();
    case 'platformatic':
      return (await import('./lib/kafka-clients/platformatic.js')).platformaticClient;
    case 'port-kafkajs':
      return (await import('./lib/kafka-clients/port.js')).portClient('kafkajs');
    case 'port-confluent':
      return (await import('./lib/kafka-clients/port.js')).portClient('confluent');
  }
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The first error a pipeline reported: ends the wait at once. */
let pipelineError: Error | undefined;
const onError = (error: Error) => {
  pipelineError ??= error;
};

async function until(condition: () => boolean, what: string, timeoutMs = TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (pipelineError) throw pipelineError;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await wait(5);
  }
}

/** One (client, scenario), in this process. */
async function runChild(clientName: ClientName, scenario: Scenario, input: string): Promise<Result> {
  const brokers = (process.env.OPENTRAIL_KAFKA_BROKERS ?? '').split(',');
  const kafka = connectKafka({ client: 'kafkajs', clientId: 'bench-kafka-clients', brokers });
  const client = await loadClient(clientName);
  const run = randomBytes(4).toString('hex');
  const output = `bench-kc-${run}.${clientName}.${scenario}.out`;
  await createTopic(kafka, output, PARTITIONS);
  const base = { brokers, clientId: `bench-kc-${clientName}`, output, onError };
  const result: Result = { client: client.name, scenario, protocol: client.rebalanceProtocol, events: 0 };

  if (scenario !== 'rebalance') {
    let processed = 0;
    let firstAt: bigint | undefined;
    let lastAt = 0n;
    let cpuAtFirst: NodeJS.CpuUsage | undefined;
    const latencies: { value: number; weight: number }[] = [];
    const pipeline = await client.start({
      ...base,
      input,
      groupId: `bench-kc-${run}`,
      transactionalId: scenario === 'transactional' ? `bench-kc-${run}` : undefined,
      onBatchDone(events, receivedAt) {
        if (firstAt === undefined) {
          firstAt = receivedAt;
          cpuAtFirst = process.cpuUsage();
        }
        lastAt = process.hrtime.bigint();
        processed += events;
        latencies.push({ value: Number(lastAt - receivedAt) / 1e6, weight: events });
      },
    });
    try {
      await until(() => processed >= EVENTS, `${EVENTS} events (${processed} so far)`);
    } finally {
      await pipeline.stop();
    }
    const cpu = process.cpuUsage(cpuAtFirst);
    const seconds = Number(lastAt - firstAt!) / 1e9;
    return {
      ...result,
      events: processed,
      eventsPerSecond: processed / seconds,
      cpuMicrosPerEvent: (cpu.user + cpu.system) / processed,
      p99Ms: weightedPercentile(latencies, 0.99),
    };
  }

  // Rebalance: a live feed into a fresh topic; the second consumer joins after JOIN_AFTER_SECONDS.
  const topic = `bench-kc-${run}.${clientName}.rebalance.in`;
  await createTopic(kafka, topic, PARTITIONS);
  const feeder = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await feeder.connect();
  const done: { at: number; consumer: number }[] = [];
  const latencies: { value: number; weight: number }[] = [];
  let processed = 0;
  const pipelines: Pipeline[] = [];
  const start = (consumer: number) =>
    client.start({
      ...base,
      input: topic,
      groupId: `bench-kc-${run}`,
      clientId: `${base.clientId}-${consumer}`,
      onBatchDone(events, receivedAt) {
        const now = process.hrtime.bigint();
        processed += events;
        done.push({ at: Number(now) / 1e6, consumer });
        latencies.push({ value: Number(now - receivedAt) / 1e6, weight: events });
      },
    });
  let fed = 0;
  let secondStartedAt = 0;
  try {
    pipelines.push(await start(1));
    const perTick = FEED_RATE / 20;
    const feedStart = Date.now();
    for (let tick = 0; tick < FEED_SECONDS * 20; tick++) {
      await feeder.send({ topic, messages: messages(fed, perTick), acks: -1 });
      fed += perTick;
      if (tick === JOIN_AFTER_SECONDS * 20) {
        secondStartedAt = Number(process.hrtime.bigint()) / 1e6;
        // Not awaited: the feed goes on while the second consumer joins.
        void start(2).then((p) => pipelines.push(p));
      }
      const next = feedStart + (tick + 1) * 50;
      if (next > Date.now()) await wait(next - Date.now());
    }
    const feedEnd = Number(process.hrtime.bigint()) / 1e6;
    // A group that has not caught up a minute after the feed stopped has stalled.
    const caughtUp = await until(() => processed >= fed, 'the group to catch up', 60_000).then(
      () => true,
      () => {
        if (pipelineError) throw pipelineError;
        return false;
      },
    );
    // A measured outcome, not a failure of the bench: the table says so.
    if (!caughtUp) return { ...result, events: processed, stalled: `${processed} of ${fed} events fed processed a minute after the feed stopped` };
    const window = [secondStartedAt, ...done.filter((d) => d.at > secondStartedAt && d.at <= feedEnd).map((d) => d.at), feedEnd];
    let pauseMs = 0;
    for (let i = 1; i < window.length; i++) pauseMs = Math.max(pauseMs, window[i]! - window[i - 1]!);
    const secondFirst = done.find((d) => d.consumer === 2);
    return {
      ...result,
      events: processed,
      p99Ms: weightedPercentile(latencies, 0.99),
      pauseMs,
      secondConsumerFirstBatchMs: secondFirst ? secondFirst.at - secondStartedAt : undefined,
      duplicates: processed - fed,
    };
  } finally {
    await feeder.disconnect();
    await until(() => pipelines.length === 2 || secondStartedAt === 0, 'the second consumer').catch(() => undefined);
    for (const pipeline of pipelines) await pipeline.stop().catch(() => undefined);
  }
}

function fmt(value: number | undefined, digits = 0): string {
  return value === undefined ? '–' : value.toFixed(digits);
}

async function main(): Promise<void> {
  const selected = (process.env.BENCH_CLIENTS ?? CLIENTS.join(','))
    .split(',')
    .filter((c): c is ClientName => (CLIENTS as readonly string[]).includes(c));
  const stack = await benchStack();
  const results: Result[] = [];
  try {
    const env = { ...process.env, OPENTRAIL_KAFKA_BROKERS: stack.endpoints.kafkaBrokers };
    const input = `bench-kc-${randomBytes(4).toString('hex')}.in`;
    await createTopic(stack.kafka, input, PARTITIONS);
    const producer = stack.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let sent = 0; sent < EVENTS; sent += 500) await producer.send({ topic: input, messages: messages(sent, Math.min(500, EVENTS - sent)), acks: -1 });
    await producer.disconnect();
    console.log(`node ${process.version}; ${EVENTS} messages of ${VALUE_BYTES} bytes in ${PARTITIONS} partitions; broker ${stack.endpoints.kafkaBrokers}`);

    if (selected.some((c) => c.includes('confluent'))) ensureConfluent((line) => console.error(line));
    const scenarios = SCENARIOS.filter((s) => (process.env.BENCH_SCENARIOS ?? SCENARIOS.join(',')).split(',').includes(s));
    for (const client of selected) {
      for (const scenario of scenarios) {
        const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', client, scenario, input], { env, stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
        const line = out.trim().split('\n').at(-1) ?? '';
        try {
          results.push({ ...(JSON.parse(line) as Result), selected: client });
        } catch {
          results.push({ selected: client, client, scenario, protocol: '', events: 0, error: `exit ${code}: ${line.slice(0, 200)}` });
        }
        const r = results.at(-1)!;
        console.error(`${r.client} ${scenario}: ${r.error ?? `${fmt(r.eventsPerSecond)} events/s, ${fmt(r.cpuMicrosPerEvent, 1)} µs CPU/event, p99 ${fmt(r.p99Ms, 1)} ms${r.pauseMs === undefined ? '' : `, pause ${fmt(r.pauseMs)} ms`}${r.stalled ? `, stalled: ${r.stalled}` : ''}`}`);
      }
    }
  } finally {
    await stack.stop();
  }

  const by = (client: ClientName, scenario: Scenario) => results.find((r) => r.selected === client && r.scenario === scenario);
  console.log('');
  console.log(`| client | pass-through events/s | µs CPU/event | p99 ms | transactional events/s | µs CPU/event | p99 ms | rebalance pause ms | 2nd consumer's first batch ms | duplicates | rebalancing |`);
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const client of selected) {
    const p = by(client, 'pass-through');
    const t = by(client, 'transactional');
    const r = by(client, 'rebalance');
    const name = (p ?? t ?? r)?.client ?? client;
    const errors = [p, t, r].filter((x) => x?.error).map((x) => `${x!.scenario}: ${x!.error}`);
    console.log(
      `| ${name} | ${fmt(p?.eventsPerSecond)} | ${fmt(p?.cpuMicrosPerEvent, 1)} | ${fmt(p?.p99Ms, 1)} | ${fmt(t?.eventsPerSecond)} | ${fmt(t?.cpuMicrosPerEvent, 1)} | ${fmt(t?.p99Ms, 1)} | ${r?.stalled ? 'stalled' : fmt(r?.pauseMs)} | ${fmt(r?.secondConsumerFirstBatchMs)} | ${r?.duplicates ?? '–'} | ${p?.protocol ?? r?.protocol ?? ''} |`,
    );
    for (const e of errors) console.log(`  ${name} ${e}`);
    if (r?.stalled) console.log(`  ${name} rebalance: stalled, ${r.stalled}`);
  }
  // The port's cost: the runtime's path over the bare client it runs on (goal: under 25%, issue 16).
  for (const adapter of ['kafkajs', 'confluent'] as const) {
    for (const scenario of ['pass-through', 'transactional'] as const) {
      const bare = by(adapter, scenario);
      const port = by(`port-${adapter}`, scenario);
      if (!bare?.eventsPerSecond || !port?.eventsPerSecond || !bare.cpuMicrosPerEvent || !port.cpuMicrosPerEvent) continue;
      const pct = (a: number, b: number) => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(0)}%`;
      console.log(
        `port over bare ${adapter}, ${scenario}: events/s ${pct(port.eventsPerSecond, bare.eventsPerSecond)}, CPU/event ${pct(port.cpuMicrosPerEvent, bare.cpuMicrosPerEvent)}, p99 ${fmt(bare.p99Ms, 1)} → ${fmt(port.p99Ms, 1)} ms`,
      );
    }
  }
  if (results.some((r) => r.error)) process.exitCode = 1;
}

if (process.argv[2] === '--child') {
  const [client, scenario, input] = process.argv.slice(3) as [ClientName, Scenario, string];
  runChild(client, scenario, input).then(
    (result) => {
      console.log(JSON.stringify(result));
      process.exit(0);
    },
    (error: unknown) => {
      console.log(JSON.stringify({ client, scenario, protocol: '', events: 0, error: error instanceof Error ? error.message : String(error) }));
      process.exit(1);
    },
  );
} else {
  await main();
}
