/**
 * Does the producer keep what it acknowledged across broker restarts? The chaos runs on kafkajs lost
 * events the Recorder had acknowledged (chaos/README.md: they were in none of the broker's log
 * segments). This takes the question apart from the pipeline: per Kafka client, opentrail's own
 * Recorder (idempotent, acks=all) records events at a steady rate into a topic of its own while the
 * broker is restarted (SIGTERM, then started again on its data, as a rolling restart does), and the
 * topic is then read back whole: every acknowledged eventID must be there exactly once.
 *
 *   npx tsx chaos/acknowledged.ts [--clients kafkajs,confluent] [--rate 300] [--seconds 60]
 *     [--restarts 2] [--rounds 1] [--dir .chaos-acks]
 *
 * A stack of its own under --dir (the broker is restarted). The last line sums it up; the exit status
 * is 1 when any client lost or duplicated an acknowledged event.
 */
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Recorder } from '@opentrail/producer';
import { connectKafka, ensureTopics, type KafkaClientKind } from '@opentrail/runtime';
import { createSchemaRegistry, serdeFor } from '@opentrail/serde';
import { TrafficGenerator } from '@opentrail/testing';
import { startChaosStack, type ChaosStack } from './stack.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: 'kafkajs,confluent' },
    rate: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '60' },
    restarts: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '1' },
    dir: { type: 'string', default: '.chaos-acks' },
  },
});
const clients = values.clients.split(',') as KafkaClientKind[];
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const restarts = Number(values.restarts);
const rounds = Number(values.rounds);
const dir = resolve(values.dir);
const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  client: KafkaClientKind;
  round: number;
  acknowledged: number;
  refused: number;
  lost: number;
  duplicated: number;
  firstRefusal?: string;
}

/** One client, one round: records at `rate` for `seconds`, the broker restarted `restarts` times, evenly spread. */
async function round(stack: ChaosStack, client: KafkaClientKind, n: number): Promise<Outcome> {
  const brokers = stack.serviceEndpoints.kafkaBrokers.split(',');
  const topic = `acks-${client}-${n}`;
  const kafka = connectKafka({ brokers, clientId: `acks-${client}`, client });
  await ensureTopics(kafka, [{ topic }], { partitions: 3, replicationFactor: 1 });
  const recorder = await Recorder.create({ kafka, registry: { url: stack.serviceEndpoints.schemaRegistryUrl }, topic });
  const generator = new TrafficGenerator({ seed: n, accounts: 3 });
  const acknowledged = new Set<string>();
  let refused = 0;
  let firstRefusal: string | undefined;
  const inFlight = new Set<Promise<void>>();
  const stopAt = Date.now() + seconds * 1000;
  const producing = (async () => {
    let due = 0;
    while (Date.now() < stopAt) {
      due += rate / 10;
      for (; due >= 1; due--) {
        const sent = recorder.record(generator.next()).then(
          (receipt) => void acknowledged.add(receipt.eventID),
          (err: unknown) => {
            refused++;
            firstRefusal ??= (err as Error).message;
          },
        );
        inFlight.add(sent);
        void sent.finally(() => inFlight.delete(sent));
      }
      await sleep(100);
    }
    await Promise.all(inFlight);
  })();
  for (let i = 1; i <= restarts; i++) {
    await sleep(Math.max(0, stopAt - (seconds * 1000 * (restarts + 1 - i)) / (restarts + 1) - Date.now()));
    const started = Date.now();
    await stack.restartBroker();
    say(`  ${client} round ${n}: broker restarted (${((Date.now() - started) / 1000).toFixed(1)} s), ${acknowledged.size} acknowledged so far`);
  }
  await producing;
  await recorder.close();

  // The topic read back whole: every record up to each partition's end, decoded to its eventID.
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = ends.reduce((sum, e) => sum + Number(e.high) - Number(e.low), 0);
  const serde = serdeFor(createSchemaRegistry({ url: stack.serviceEndpoints.schemaRegistryUrl }), 'ApiCallEvent');
  const seen = new Map<string, number>();
  const consumer = kafka.consumer({ groupId: `acks-reader-${topic}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let read = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  if (total === 0) done();
  await consumer.run({
    eachMessage: async ({ message }) => {
      const id = (await serde.decodeOne(message.value)).eventID;
      seen.set(id, (seen.get(id) ?? 0) + 1);
      if (++read >= total) done();
    },
  });
  await Promise.race([all, sleep(120_000)]);
  await consumer.disconnect();
  let lost = 0;
  for (const id of acknowledged) if (!seen.has(id)) lost++;
  const duplicated = [...seen.values()].filter((count) => count > 1).length;
  return { client, round: n, acknowledged: acknowledged.size, refused, lost, duplicated, ...(firstRefusal ? { firstRefusal } : {}) };
}

async function main(): Promise<number> {
  await rm(dir, { recursive: true, force: true });
  const stack = await startChaosStack(`${dir}/stack`, (line) => say(`stack: ${line}`));
  const outcomes: Outcome[] = [];
  try {
    for (let n = 1; n <= rounds; n++) {
      for (const client of clients) {
        const outcome = await round(stack, client, n);
        outcomes.push(outcome);
        say(`${client} round ${n}: acknowledged=${outcome.acknowledged} refused=${outcome.refused} lost=${outcome.lost} duplicated=${outcome.duplicated}${outcome.firstRefusal ? ` (first refusal: ${outcome.firstRefusal})` : ''}`);
      }
    }
  } finally {
    await stack.stop();
  }
  const bad = outcomes.filter((o) => o.lost > 0 || o.duplicated > 0);
  say(
    `acknowledged: ${clients
      .map((c) => {
        const mine = outcomes.filter((o) => o.client === c);
        return `${c} acknowledged=${mine.reduce((s, o) => s + o.acknowledged, 0)} lost=${mine.reduce((s, o) => s + o.lost, 0)} duplicated=${mine.reduce((s, o) => s + o.duplicated, 0)}`;
      })
      .join('; ')} (${rounds} round(s) of ${seconds} s at ${rate}/s, ${restarts} broker restart(s) each)${bad.length ? ' FAILED' : ''}`,
  );
  return bad.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
