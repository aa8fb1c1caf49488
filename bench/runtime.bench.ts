/**
 * The foundation's figures (issue 2): events per second of
 * - the producer client (Recorder.record: validation, defaults, Avro encoding, batching), beside
 *   raw kafkajs sending the same records, Avro-encoded, in requests of the same size;
 * - the stream runtime's pass-through (consume, decode, validate, produce the original bytes,
 *   commit), beside a raw kafkajs consume → produce → commit loop over the same input;
 * both with the idempotent producer and acks=all, measured in the same run in paired rounds of
 * alternating order (the ratio is taken within each pair), on synthetic events of about 1.5 KB
 * (TrafficGenerator). Aim: the runtime adds at most 25% over raw kafkajs (ratio >= 0.8).
 *
 * `npx tsx bench/runtime.bench.ts` (uses the stack of OPENTRAIL_KAFKA_BROKERS & co. when set, else
 * starts one). BENCH_EVENTS (default 20000), BENCH_ROUNDS (3).
 */
import { kafkajsOf, type KafkaClient } from '@opentrail/runtime';
import { randomUUID } from 'node:crypto';
import { eventAccountId, routingKey, toApiCallEvent, validateApiCallEvent, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { Recorder } from '@opentrail/producer';
import { TrafficGenerator } from '@opentrail/testing';
import { loadSchemas, serdeFor, valueSubject, type ApiCallEvent, type SchemaRegistry } from '@opentrail/serde';
import { createTopic, preProduce } from './lib/events.js';
import { measurePassThrough, type Throughput } from './lib/passthrough.js';
import { benchStack } from './lib/stack.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
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

/** Raw kafkajs: encode each record with the registered schema, send requests of BATCH records, one in flight. */
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

/**
 * Raw kafkajs pass-through: what the runtime does without it. Each batch's messages are produced
 * unchanged (idempotent, acks=all), then its offsets committed: at-least-once like the runtime, but
 * no decoding, no validation, no dead letters, no metrics. Timed from the first batch, like the runtime.
 */
async function rawPassThrough(kafka: KafkaClient, inputTopic: string, count: number, decode?: (value: Buffer) => Promise<void>): Promise<Measured> {
  const run = randomUUID().slice(0, 8);
  const outputTopic = `${inputTopic}.raw-passthrough-${run}`;
  await createTopic(kafka, outputTopic, PARTITIONS);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1});
  // The runtime's consumer settings (packages/runtime/src/processor.ts).
  const consumer = kafkajsOf(kafka).consumer({ groupId: `bench-raw-${run}`, sessionTimeout: 30_000, rebalanceTimeout: 60_000, heartbeatInterval: 3_000, maxWaitTimeInMs: 1_000, allowAutoTopicCreation: false });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: inputTopic, fromBeginning: true });
  let produced = 0;
  let started: { at: bigint; cpu: NodeJS.CpuUsage } | undefined;
  let finish!: (t: Measured) => void;
  const finished = new Promise<Measured>((resolve) => (finish = resolve));
  try {
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: async (payload) => {
        const { batch } = payload;
        started ??= { at: process.hrtime.bigint(), cpu: process.cpuUsage() };
        if (batch.messages.length === 0) return;
        if (decode) for (const m of batch.messages) await decode(m.value!);
        const messages = batch.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp }));
        await producer.send({ topic: outputTopic, acks: -1, messages });
        const last = batch.messages[batch.messages.length - 1]!.offset;
        await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
        payload.resolveOffset(last);
        await payload.heartbeat();
        produced += messages.length;
        if (produced >= count) {
          const seconds = Number(process.hrtime.bigint() - started.at) / 1e9;
          const used = process.cpuUsage(started.cpu);
          finish({ events: count, seconds, eventsPerSecond: count / seconds, cpuSeconds: (used.user + used.system) / 1e6 });
        }
      },
    });
    const timeout = setTimeout(() => finish({ events: produced, seconds: Number.NaN, eventsPerSecond: Number.NaN, cpuSeconds: Number.NaN }), 600_000);
    const result = await finished;
    clearTimeout(timeout);
    if (Number.isNaN(result.seconds)) throw new Error(`raw pass-through timed out: ${produced} of ${count}`);
    return result;
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
  }
}

/**
 * The same loop as a team would write it by hand with the well-kept libraries: each message decoded
 * through the schema-registry client (registry.decode) and validated, then produced and committed.
 * This does what the runtime does (minus dead letters and metrics), so it is the fair baseline for
 * the runtime's overhead; the byte-copying loop above is the floor.
 */
function decodingPassThrough(kafka: KafkaClient, registry: SchemaRegistry, inputTopic: string, count: number): Promise<Measured> {
  return rawPassThrough(kafka, inputTopic, count, async (value) => {
    const event = (await registry.decode(value)) as ApiCallEvent;
    const refusal = validateApiCallEvent(event, value.length);
    if (refusal) throw new Error(refusal);
  });
}

async function runtimePassThrough(kafka: KafkaClient, registry: SchemaRegistry, inputTopic: string, count: number): Promise<Measured> {
  const cpu = process.cpuUsage();
  const t = await measurePassThrough({ kafka, registry, inputTopic, count, validate: validateApiCallEvent, partitions: PARTITIONS });
  // Older versions of the shared helper do not report CPU time; then the whole call's is used.
  const used = process.cpuUsage(cpu);
  return { ...t, cpuSeconds: t.cpuSeconds ?? (used.user + used.system) / 1e6 };
}

/** Runs `a` and `b` ROUNDS times in alternating order, after one uncounted warm-up of each. */
async function paired(label: [string, string], a: () => Promise<Measured>, b: () => Promise<Measured>) {
  await a();
  await b();
  const rounds: { a: Measured; b: Measured }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const bFirst = round % 2 === 0;
    const first = await (bFirst ? b() : a());
    const second = await (bFirst ? a() : b());
    const pair = bFirst ? { a: second, b: first } : { a: first, b: second };
    rounds.push(pair);
    console.error(`  round ${round}: ${label[0]} ${pair.a.eventsPerSecond.toFixed(0)} events/s, ${label[1]} ${pair.b.eventsPerSecond.toFixed(0)} events/s: ${(pair.b.eventsPerSecond / pair.a.eventsPerSecond).toFixed(2)}`);
  }
  const cpuUs = (t: Measured) => (t.cpuSeconds / t.events) * 1e6;
  return {
    a: median(rounds.map((r) => r.a.eventsPerSecond)),
    b: median(rounds.map((r) => r.b.eventsPerSecond)),
    ratio: median(rounds.map((r) => r.b.eventsPerSecond / r.a.eventsPerSecond)),
    aCpuUs: median(rounds.map((r) => cpuUs(r.a))),
    bCpuUs: median(rounds.map((r) => cpuUs(r.b))),
  };
}

const stack = await benchStack();
try {
  const { kafka, registry } = stack;
  const input = records(EVENTS);
  const jsonBytes = input.reduce((sum, r) => sum + Buffer.byteLength(JSON.stringify(r)), 0) / input.length;
  const events: ApiCallEvent[] = input.map((r) => toApiCallEvent(r));
  const avroType = loadSchemas().ApiCallEvent.type;
  // The Avro body plus the 5 bytes of Confluent framing.
  const avroBytes = events.reduce((sum, e) => sum + avroType.toBuffer(e).length + 5, 0) / events.length;

  console.error(`producing (${EVENTS} events, ${ROUNDS} paired rounds):`);
  const produce = await paired(['raw kafkajs', 'producer client'], () => rawProduce(kafka, registry, input), () => clientProduce(kafka, registry, input));

  const inputTopic = `bench-${randomUUID().slice(0, 8)}.events.raw`;
  const count = await preProduce(kafka, registry, inputTopic, events, PARTITIONS);
  console.error(`pass-through over ${inputTopic} (${count} events, ${ROUNDS} paired rounds):`);
  const pass = await paired(['raw kafkajs', 'runtime'], () => rawPassThrough(kafka, inputTopic, count), () => runtimePassThrough(kafka, registry, inputTopic, count));
  console.error(`pass-through with decoding, hand-written vs the runtime (${ROUNDS} paired rounds):`);
  const decoding = await paired(['kafkajs + registry.decode', 'runtime'], () => decodingPassThrough(kafka, registry, inputTopic, count), () => runtimePassThrough(kafka, registry, inputTopic, count));

  const row = (name: string, eventsPerSecond: number, cpuUs: number, ratio?: number) =>
    `  ${name.padEnd(34)}${eventsPerSecond.toFixed(0).padStart(10)}${cpuUs.toFixed(0).padStart(12)}${ratio === undefined ? '' : `${ratio.toFixed(2).padStart(10)}${`${((1 / ratio - 1) * 100).toFixed(0)}%`.padStart(12)}`}`;
  console.log(`runtime bench: ${EVENTS} synthetic events, ${jsonBytes.toFixed(0)} bytes JSON / ${avroBytes.toFixed(0)} bytes Avro on average, ${PARTITIONS} partitions, idempotent producer, acks=all; median of ${ROUNDS} paired rounds`);
  console.log(`  ${''.padEnd(34)}${'events/s'.padStart(10)}${'CPU us/ev'.padStart(12)}${'ratio'.padStart(10)}${'added time'.padStart(12)}`);
  console.log(row('produce: raw kafkajs send', produce.a, produce.aCpuUs));
  console.log(row('produce: Recorder.record', produce.b, produce.bCpuUs, produce.ratio));
  console.log(row('pass-through: raw kafkajs', pass.a, pass.aCpuUs));
  console.log(row('pass-through: StreamProcessor', pass.b, pass.bCpuUs, pass.ratio));
  console.log(row('decoding: kafkajs + registry.decode', decoding.a, decoding.aCpuUs));
  console.log(row('decoding: StreamProcessor', decoding.b, decoding.bCpuUs, decoding.ratio));
  // Wall-clock ratios swing with whatever else the machine runs; CPU per event (this process's user +
  // system time) moves far less, so both are printed.
  const verdict = (name: string, r: { ratio: number; aCpuUs: number; bCpuUs: number }) =>
    `  over ${name}: the runtime adds ${((1 / r.ratio - 1) * 100).toFixed(0)}% in time (aim <= 25%: ${r.ratio >= 0.8 ? 'OK' : 'ABOVE AIM'}), ${((r.bCpuUs / r.aCpuUs - 1) * 100).toFixed(0)}% in CPU per event`;
  console.log(verdict('raw kafkajs copying bytes (no decoding, no validation)', pass));
  console.log(verdict('raw kafkajs doing the same work by hand (registry.decode + validation)', decoding));
} finally {
  await stack.stop();
}
