/**
 * The foundation's figures (issue 2): events per second of
 * - the producer client (Recorder.record: validation, defaults, Avro encoding, batching), beside
 *   the port's producer sending the same records, Avro-encoded, in requests of the same size;
 * - the stream runtime's pass-through (consume, decode, validate, produce the original bytes,
 *   commit), beside a bare kafkajs consume → produce → commit loop over the same input
 *   (packages/runtime/bench/bareKafkajs.ts), for this tree's runtime and for the runtime as it was
 *   at BENCH_RUNTIME_BEFORE (default a617b21: before the processor ran on the GroupConsumer port),
 *   so that one run prints the overhead before and after a change;
 * all with the idempotent producer and acks=all, measured in the same run in rounds of rotating
 * order (ratios are taken within each round), on synthetic events of about 1.5 KB
 * (TrafficGenerator). Aim: the runtime adds at most 25% over the bare client (ratio >= 0.8).
 *
 * `npx tsx bench/runtime.bench.ts` (uses the stack of OPENTRAIL_KAFKA_BROKERS & co. when set, else
 * starts one). BENCH_EVENTS (default 20000), BENCH_ROUNDS (3), BENCH_RUNTIME_BEFORE (a commit; empty:
 * this tree only).
 */
import type * as thisRuntime from '@opentrail/runtime';
import { StreamProcessor, type KafkaClient } from '@opentrail/runtime';
import { bareKafkajsPassThrough } from '@opentrail/runtime/bench/bareKafkajs';
import { execSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { eventAccountId, routingKey, toApiCallEvent, validateApiCallEvent, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { Recorder } from '@opentrail/producer';
import { TrafficGenerator } from '@opentrail/testing';
import { loadSchemas, serdeFor, valueSubject, type ApiCallEvent, type SchemaRegistry } from '@opentrail/serde';
import { createTopic, preProduce } from './lib/events.js';
import { measurePassThrough, type Throughput } from './lib/passthrough.js';
import { benchStack } from './lib/stack.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BEFORE = process.env.BENCH_RUNTIME_BEFORE ?? 'a617b21';
const PARTITIONS = 6;
/** The producer client's default request size (maxBatchRecords), used by the raw baseline too. */
const BATCH = 1000;

interface Measured extends Throughput {
  cpuSeconds: number;
}

function records(n: number): CloudTrailRecord[] {
  const generator = new TrafficGenerator({ seed: 2026, accounts: 20 });
  return Array.from({ length: n }, () => generator.next());
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function timed(events: number, work: () => Promise<void>): Promise<Measured> {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return { events, seconds, eventsPerSecond: events / seconds, cpuSeconds: (used.user + used.system) / 1e6 };
}

/** The port's producer (kafkajs): encode each record with the registered schema, send requests of BATCH records, one in flight. */
async function rawProduce(kafka: KafkaClient, registry: SchemaRegistry, input: CloudTrailRecord[]): Promise<Measured> {
  const topic = `bench-${randomUUID().slice(0, 8)}.raw-produce`;
  await createTopic(kafka, topic, PARTITIONS);
  const serde = serdeFor(registry, 'ApiCallEvent');
  await serde.register(valueSubject(topic));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1});
  await producer.connect();
  try {
    return await timed(input.length, async () => {
      for (let i = 0; i < input.length; i += BATCH) {
        const messages = input.slice(i, i + BATCH).map((record) => {
          const event = toApiCallEvent(record);
          return { key: routingKey(eventAccountId(event), event.awsRegion), value: serde.encode(event) };
        });
        await producer.send({ topic, acks: -1, messages });
      }
    });
  } finally {
    await producer.disconnect();
  }
}

/** The producer client, used as a publishing team would: record() every event, then wait for all. */
async function clientProduce(kafka: KafkaClient, registry: SchemaRegistry, input: CloudTrailRecord[]): Promise<Measured> {
  const topic = `bench-${randomUUID().slice(0, 8)}.client-produce`;
  await createTopic(kafka, topic, PARTITIONS);
  const recorder = await Recorder.create({ kafka, registry, topic });
  try {
    return await timed(input.length, async () => {
      await Promise.all(input.map((record) => recorder.record(record)));
    });
  } finally {
    await recorder.close();
  }
}

/** The bare client copying bytes (or decoding them first, with `decode`) from the input to a fresh topic. */
async function barePassThrough(kafka: KafkaClient, brokers: string[], inputTopic: string, count: number, decode?: (value: Buffer) => Promise<void>): Promise<Measured> {
  const outputTopic = `${inputTopic}.bare-${randomUUID().slice(0, 8)}`;
  await createTopic(kafka, outputTopic, PARTITIONS);
  return bareKafkajsPassThrough({ brokers, inputTopic, outputTopic, count, decode });
}

/**
 * The same loop as a team would write it by hand with the well-kept libraries: each message decoded
 * through the schema-registry client (registry.decode) and validated, then produced and committed.
 * This does what the runtime does (minus dead letters and metrics), so it is the fair baseline for
 * the runtime's overhead; the byte-copying loop is the floor.
 */
function decodingPassThrough(kafka: KafkaClient, brokers: string[], registry: SchemaRegistry, inputTopic: string, count: number): Promise<Measured> {
  return barePassThrough(kafka, brokers, inputTopic, count, async (value) => {
    const event = (await registry.decode(value)) as ApiCallEvent;
    const refusal = validateApiCallEvent(event, value.length);
    if (refusal) throw new Error(refusal);
  });
}

/** A runtime to measure: this tree's, or an earlier commit's (with its own Kafka client: the adapter classes differ). */
interface Runtime {
  label: string;
  kafka: KafkaClient;
  processor: typeof StreamProcessor;
}

async function runtimePassThrough(kafka: KafkaClient, runtime: Runtime, registry: SchemaRegistry, inputTopic: string, count: number): Promise<Measured> {
  // Made with this tree's client: an earlier runtime's ensureTopics may accept its own client only.
  const outputTopic = `${inputTopic}.passthrough-${randomUUID().slice(0, 8)}`;
  await createTopic(kafka, outputTopic, PARTITIONS);
  const cpu = process.cpuUsage();
  const t = await measurePassThrough({ kafka: runtime.kafka, processor: runtime.processor, registry, inputTopic, outputTopic, count, validate: validateApiCallEvent });
  // Older versions of the shared helper do not report CPU time; then the whole call's is used.
  const used = process.cpuUsage(cpu);
  return { ...t, cpuSeconds: t.cpuSeconds ?? (used.user + used.system) / 1e6 };
}

/**
 * The runtime package's source at `commit`, checked out once under node_modules/.cache (so that its
 * imports of the workspace packages and kafkajs resolve as this tree's do) and imported.
 */
async function runtimeAt(commit: string, brokers: string[]): Promise<Runtime> {
  const root = execSync('git rev-parse --show-toplevel', { encoding: 'utf8' }).trim();
  const sha = execSync(`git rev-parse --short ${JSON.stringify(`${commit}^{commit}`)}`, { cwd: root, encoding: 'utf8' }).trim();
  const dir = join(root, 'node_modules', '.cache', 'opentrail-bench', `runtime-${sha}`);
  if (!existsSync(join(dir, 'src', 'index.ts'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execSync(`git archive --format=tar ${sha} packages/runtime/src | tar -x -C ${JSON.stringify(dir)} --strip-components=2`, { cwd: root });
    // Node stops looking for a package scope at node_modules: say that these files are ES modules.
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  }
  const old = (await import(pathToFileURL(join(dir, 'src', 'index.ts')).href)) as typeof thisRuntime;
  return { label: `StreamProcessor ${sha} (before)`, kafka: old.connectKafka({ clientId: 'bench-before', brokers }), processor: old.StreamProcessor };
}

/**
 * Runs each of `runs` ROUNDS times, after one uncounted warm-up of each, in an order that rotates
 * every round; ratios are each run's events/s (and CPU per event) over the first's, the baseline,
 * in the same round.
 */
async function rounds(labels: string[], runs: (() => Promise<Measured>)[]) {
  for (const run of runs) await run();
  const results: Measured[][] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const got = new Array<Measured>(runs.length);
    for (let k = 0; k < runs.length; k++) {
      const i = (k + round) % runs.length;
      got[i] = await runs[i]!();
    }
    results.push(got);
    console.error(`  round ${round}: ${labels.map((l, i) => `${l} ${got[i]!.eventsPerSecond.toFixed(0)} events/s`).join(', ')}`);
  }
  const cpuUs = (t: Measured) => (t.cpuSeconds / t.events) * 1e6;
  return labels.map((label, i) => ({
    label,
    eventsPerSecond: median(results.map((r) => r[i]!.eventsPerSecond)),
    cpuUs: median(results.map((r) => cpuUs(r[i]!))),
    ratio: median(results.map((r) => r[i]!.eventsPerSecond / r[0]!.eventsPerSecond)),
    cpuRatio: median(results.map((r) => cpuUs(r[i]!) / cpuUs(r[0]!))),
  }));
}

const stack = await benchStack();
try {
  const { kafka, registry } = stack;
  const brokers = stack.endpoints.kafkaBrokers.split(',');
  const input = records(EVENTS);
  const jsonBytes = input.reduce((sum, r) => sum + Buffer.byteLength(JSON.stringify(r)), 0) / input.length;
  const events: ApiCallEvent[] = input.map((r) => toApiCallEvent(r));
  const avroType = loadSchemas().ApiCallEvent.type;
  // The Avro body plus the 5 bytes of Confluent framing.
  const avroBytes = events.reduce((sum, e) => sum + avroType.toBuffer(e).length + 5, 0) / events.length;
  const runtimes: Runtime[] = [{ label: 'StreamProcessor (now)', kafka, processor: StreamProcessor }];
  if (BEFORE) runtimes.unshift(await runtimeAt(BEFORE, brokers));

  console.error(`producing (${EVENTS} events, ${ROUNDS} rounds):`);
  const produce = await rounds(['produce: port producer send', 'produce: Recorder.record'], [() => rawProduce(kafka, registry, input), () => clientProduce(kafka, registry, input)]);

  const inputTopic = `bench-${randomUUID().slice(0, 8)}.events.raw`;
  const count = await preProduce(kafka, registry, inputTopic, events, PARTITIONS);
  console.error(`pass-through over ${inputTopic} (${count} events, ${ROUNDS} rounds):`);
  const pass = await rounds(
    ['pass-through: bare kafkajs', ...runtimes.map((r) => `pass-through: ${r.label}`)],
    [() => barePassThrough(kafka, brokers, inputTopic, count), ...runtimes.map((r) => () => runtimePassThrough(kafka, r, registry, inputTopic, count))],
  );
  console.error(`pass-through with decoding, hand-written vs the runtime (${ROUNDS} rounds):`);
  const decoding = await rounds(
    ['decoding: kafkajs + registry.decode', ...runtimes.map((r) => `decoding: ${r.label}`)],
    [() => decodingPassThrough(kafka, brokers, registry, inputTopic, count), ...runtimes.map((r) => () => runtimePassThrough(kafka, r, registry, inputTopic, count))],
  );

  const added = (ratio: number) => `${((1 / ratio - 1) * 100).toFixed(0)}%`;
  const table = (rows: Awaited<ReturnType<typeof rounds>>) =>
    rows.forEach((r, i) =>
      console.log(
        `  ${r.label.padEnd(48)}${r.eventsPerSecond.toFixed(0).padStart(10)}${r.cpuUs.toFixed(0).padStart(12)}${i === 0 ? '' : `${r.ratio.toFixed(2).padStart(10)}${added(r.ratio).padStart(12)}${`${((r.cpuRatio - 1) * 100).toFixed(0)}%`.padStart(12)}`}`,
      ),
    );
  console.log(`runtime bench: ${EVENTS} synthetic events, ${jsonBytes.toFixed(0)} bytes JSON / ${avroBytes.toFixed(0)} bytes Avro on average, ${PARTITIONS} partitions, idempotent producer, acks=all; median of ${ROUNDS} rounds`);
  console.log(`  ${''.padEnd(48)}${'events/s'.padStart(10)}${'CPU us/ev'.padStart(12)}${'ratio'.padStart(10)}${'added time'.padStart(12)}${'added CPU'.padStart(12)}`);
  table(produce);
  table(pass);
  table(decoding);
  // Wall-clock ratios swing with whatever else the machine runs; CPU per event (this process's user +
  // system time) moves far less, so both are printed.
  const verdict = (name: string, rows: Awaited<ReturnType<typeof rounds>>) => {
    for (const r of rows.slice(1)) {
      console.log(`  over ${name}, ${r.label}: adds ${added(r.ratio)} in time (aim <= 25%: ${r.ratio >= 0.8 ? 'OK' : 'ABOVE AIM'}), ${((r.cpuRatio - 1) * 100).toFixed(0)}% in CPU per event`);
    }
  };
  verdict('bare kafkajs copying bytes (no decoding, no validation)', pass);
  verdict('bare kafkajs doing the same work by hand (registry.decode + validation)', decoding);
} finally {
  await stack.stop();
}
