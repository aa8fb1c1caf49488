/**
 * Recovery (issue 17): how soon a consumer group serves a lost instance's partitions again.
 *
 * Two instances of a service share the input topic's partitions while events keep arriving. One is
 * SIGKILLed (a crash: the group notices only when its session times out) or SIGTERMed (a planned
 * stop: it finishes its batch, commits and leaves the group). The survivor is watched until it owns
 * every partition and has processed a batch since: "served again". Per Kafka client (kafkajs,
 * confluent), per service (archiver, enricher), with the group settings before issue 17 (session 30 s,
 * heartbeat 3 s) and with the current defaults.
 *
 * It kills processes: run it on a stack of its own, never a shared one.
 *   OPENTRAIL_STACK_DIR=/tmp/stack-bench npm run -s stack:up
 *   set -a; . /tmp/stack-bench/endpoints.env; set +a; npx tsx bench/recovery.bench.ts
 * BENCH_CLIENTS (kafkajs,confluent), BENCH_SERVICES (archiver,enricher), BENCH_PROFILES
 * (before,after), BENCH_ROUNDS (3: kills and SIGTERMs per combination) choose what runs.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { AwsClients } from '@opentrail/aws';
import { splitRequests, type KafkaClient, type ProducedMessage } from '@opentrail/runtime';
import { serdeFor, valueSubject, type SchemaRegistry } from '@opentrail/serde';
import type { TrailInput } from '@opentrail/trails';
import { eventAccountId, routingKey, toApiCallEvent } from '@opentrail/cloudtrail';
import { benchRecord, EnrichedTopicWriter } from './lib/archiver-workload.js';
import { createTopic } from './lib/events.js';
import { startServiceProcess, until, type ServiceProcess } from './lib/service-process.js';
import { benchStack, serviceEnv } from './lib/stack.js';

process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

const PARTITIONS = 6;
const list = (name: string, all: string[]) => (process.env[name] ?? all.join(',')).split(',').filter((x) => all.includes(x));
const CLIENTS = list('BENCH_CLIENTS', ['kafkajs', 'confluent']);
const SERVICES = list('BENCH_SERVICES', ['archiver', 'enricher']) as Service[];
const PROFILES = list('BENCH_PROFILES', ['before', 'after']) as Profile[];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** How long the survivor may take before a measurement is given up (the old settings need ~35 s). */
const GIVE_UP_MS = 90_000;

type Service = 'archiver' | 'enricher';
type Profile = 'before' | 'after';

/** The group settings of a profile: before issue 17 explicitly, after as the service's defaults. */
function profileEnv(service: Service, profile: Profile): Record<string, string> {
  if (profile === 'after') return {};
  const svc = service.toUpperCase();
  return { [`OPENTRAIL_${svc}_SESSION_TIMEOUT_MS`]: '30000', [`OPENTRAIL_${svc}_HEARTBEAT_INTERVAL_MS`]: '3000' };
}

/** Writes events to a service's input topic, a few every 100 ms over every partition, until stopped. */
class Traffic {
  private running = true;
  private done: Promise<void> = Promise.resolve();
  sent = 0;

  constructor(private readonly message: (i: number) => ProducedMessage, private readonly send: (messages: ProducedMessage[]) => Promise<void>) {}

  start(): void {
    this.done = (async () => {
      for (let i = 0; this.running; ) {
        const messages = Array.from({ length: 40 }, () => this.message(i++));
        await this.send(messages).catch((err: unknown) => console.error(`bench: producing failed: ${String(err)}`));
        this.sent += messages.length;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

interface Setup {
  env: Record<string, string>;
  traffic: Traffic;
  close(): Promise<void>;
}

/** Topics, bucket and trail of one run, and traffic on its input topic. */
async function setUp(service: Service, kafka: KafkaClient, registry: SchemaRegistry, endpoints: { kafkaBrokers: string; schemaRegistryUrl: string; awsEndpoint: string }, prefix: string): Promise<Setup> {
  const env = serviceEnv(endpoints, prefix, PARTITIONS);
  const seed = prefix;
  if (service === 'archiver') {
    const bucket = `bench-recovery-${randomBytes(4).toString('hex')}`;
    const aws = new AwsClients({ endpoint: endpoints.awsEndpoint, region: 'us-east-1' });
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    aws.destroy();
    const trail: TrailInput = { name: 'recovery', accountId: '999988887777', homeRegion: 'us-east-1', bucket, roll: { intervalSeconds: 2 } };
    Object.assign(env, { OPENTRAIL_TRAILS: JSON.stringify([trail]), OPENTRAIL_ARCHIVER_GROUP_ID: `${prefix}archiver`, OPENTRAIL_ARCHIVER_APPLY_LIFECYCLE: 'false' });
    for (const topic of ['events.enriched', 'deliveries', 'events.dlq']) await createTopic(kafka, `${prefix}${topic}`, PARTITIONS);
    const writer = await EnrichedTopicWriter.create(kafka, registry, `${prefix}events.enriched`);
    const traffic = new Traffic((i) => writer.message(benchRecord(i, seed)), (messages) => writer.send(messages));
    return { env, traffic, close: () => writer.close() };
  }
  Object.assign(env, { OPENTRAIL_ENRICHER_GROUP_ID: `${prefix}enricher` });
  const topic = `${prefix}events.raw`;
  await createTopic(kafka, topic, PARTITIONS);
  const serde = serdeFor(registry, 'ApiCallEvent');
  await serde.register(valueSubject(topic));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const message = (i: number): ProducedMessage => {
    const event = toApiCallEvent(benchRecord(i, seed));
    return { key: routingKey(eventAccountId(event), event.awsRegion), value: serde.encode(event) };
  };
  const send = async (messages: ProducedMessage[]) => {
    for (const request of splitRequests([{ topic, messages }])) await producer.sendBatch({ topicMessages: request, acks: -1 });
  };
  return { env, traffic: new Traffic(message, send), close: () => producer.disconnect() };
}

/**
 * Milliseconds from `since` until `survivor` owns every partition and has processed a batch after
 * that (its input counter moved): the partitions are served again.
 */
async function servedAgain(survivor: ServiceProcess, service: Service, since: number): Promise<number> {
  const metric = (name: string) => survivor.metric(`opentrail_${service}_${name}`);
  const countWhenOwned = await until(async () => ((await metric('assigned_partitions')) === PARTITIONS ? metric('events_in_total') : undefined), 'the survivor to own every partition', GIVE_UP_MS);
  await until(async () => ((await metric('events_in_total')) > countWhenOwned ? true : undefined), 'events to flow on the survivor', GIVE_UP_MS);
  return Date.now() - since;
}

/** Both instances own partitions, between them every one: the group is settled. */
async function balanced(a: ServiceProcess, b: ServiceProcess, service: Service): Promise<void> {
  const owned = (p: ServiceProcess) => p.metric(`opentrail_${service}_assigned_partitions`);
  await until(async () => {
    const [na, nb] = await Promise.all([owned(a), owned(b)]);
    return na > 0 && nb > 0 && na + nb === PARTITIONS ? true : undefined;
  }, 'both instances to own partitions', GIVE_UP_MS);
}

interface Result {
  client: string;
  service: Service;
  profile: Profile;
  kills: number[];
  terms: number[];
  /** Log lines at error level or above of every instance of the run, by message: what would page an operator. */
  errors: Map<string, number>;
  /** Why the combination stopped before its rounds were done (a group that never settled, a service that did not start). */
  failure?: string;
}

/** BENCH_LOG_DIR: where each instance's log goes, to see what a slow hand-over waited for. */
const LOG_DIR = process.env.BENCH_LOG_DIR;
let instances = 0;

/** Counts a process's log lines at error level or above, by message (and keeps its log in BENCH_LOG_DIR). */
function countErrors(process: ServiceProcess, into: Map<string, number>, label: string): void {
  if (LOG_DIR) writeFileSync(join(LOG_DIR, `${String(++instances).padStart(3, '0')}-${label}.log`), process.output());
  for (const line of process.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if (entry.level === 'error' || entry.level === 'fatal') into.set(entry.msg ?? '', (into.get(entry.msg ?? '') ?? 0) + 1);
    } catch {
      into.set('(not JSON)', (into.get('(not JSON)') ?? 0) + 1);
    }
  }
}

async function measure(client: string, service: Service, profile: Profile, stack: Awaited<ReturnType<typeof benchStack>>): Promise<Result> {
  const prefix = `bench-rec-${randomBytes(3).toString('hex')}.`;
  const setup = await setUp(service, stack.kafka, stack.registry, stack.endpoints, prefix);
  const env = { ...setup.env, OPENTRAIL_KAFKA_CLIENT: client, ...profileEnv(service, profile) };
  const result: Result = { client, service, profile, kills: [], terms: [], errors: new Map() };
  const survivor = await startServiceProcess(service, env);
  setup.traffic.start();
  let other: ServiceProcess | undefined;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const how of ['kill', 'term'] as const) {
        other = await startServiceProcess(service, env);
        await balanced(survivor, other, service);
        // Let batches pass on both (past the new member's start), so that the loss lands mid-stream.
        await new Promise((r) => setTimeout(r, 5000));
        const since = Date.now();
        const leaving = how === 'kill' ? other.kill() : other.stop();
        const ms = await servedAgain(survivor, service, since);
        await leaving;
        countErrors(other, result.errors, `${client}-${service}-${profile}-${how}`);
        other = undefined;
        (how === 'kill' ? result.kills : result.terms).push(ms);
        console.error(`bench: ${client} ${service} ${profile} ${how === 'kill' ? 'SIGKILL' : 'SIGTERM'} → served in ${(ms / 1000).toFixed(1)} s`);
      }
    }
  } catch (err) {
    result.failure = (err as Error).message;
    console.error(`bench: ${client} ${service} ${profile}: ${result.failure}`);
  } finally {
    await setup.traffic.stop();
    if (other) {
      await other.kill();
      countErrors(other, result.errors, `${client}-${service}-${profile}-unfinished`);
    }
    await survivor.stop();
    countErrors(survivor, result.errors, `${client}-${service}-${profile}-survivor`);
    await setup.close();
  }
  return result;
}

const seconds = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const max = (xs: number[]) => (xs.length ? Math.max(...xs) : undefined);

const stack = await benchStack();
const results: Result[] = [];
try {
  for (const client of CLIENTS) {
    for (const service of SERVICES) {
      for (const profile of PROFILES) results.push(await measure(client, service, profile, stack));
    }
  }
} finally {
  await stack.stop();
}

console.log(`recovery: 2 instances, ${PARTITIONS} partitions, events flowing; ${ROUNDS} SIGKILLs and ${ROUNDS} SIGTERMs each; "before" = session 30 s / heartbeat 3 s, "after" = the defaults`);
console.log(`${'client'.padEnd(10)}${'service'.padEnd(10)}${'settings'.padEnd(10)}${'kill→served p50'.padEnd(17)}${'max'.padEnd(9)}${'SIGTERM→handed over p50'.padEnd(25)}max`);
for (const r of results) {
  console.log(`${r.client.padEnd(10)}${r.service.padEnd(10)}${r.profile.padEnd(10)}${seconds(p50(r.kills)).padEnd(17)}${seconds(max(r.kills)).padEnd(9)}${seconds(p50(r.terms)).padEnd(25)}${seconds(max(r.terms))}${r.failure ? `  (stopped: ${r.failure})` : ''}`);
}
console.log('error-level log lines (all instances, whole run):');
for (const r of results) {
  const lines = [...r.errors].map(([msg, n]) => `${n}× ${msg.slice(0, 100)}`);
  console.log(`  ${r.client} ${r.service} ${r.profile}: ${lines.length ? lines.join(' | ') : 'none'}`);
}
