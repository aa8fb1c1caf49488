/**
 * The archiver's figures (issue 4):
 * - throughput and CPU per event of the archiver process (Kafka → Avro → trail selection → JSON →
 *   gzip → SHA-256 → S3 → delivery records and offsets in Kafka transactions), beside the floor
 *   measured in the same run: serialising the same records (writeRecordJson) and gzipping them,
 *   on one thread. Aim: at most 2x the floor.
 * - latency from production to object in S3 at 5,000 events/s with a 5 s roll interval. Aim: p99
 *   at most the roll interval + 3 s.
 *
 * `npx tsx bench/archiver.bench.ts` (uses the stack of OPENTRAIL_KAFKA_BROKERS & co. when set, else
 * starts one). BENCH_EVENTS (default 100000), BENCH_RATE (5000), BENCH_SECONDS (30), BENCH_ROLL_SECONDS (5).
 */
import { ensureTopics, type KafkaClient } from '@opentrail/runtime';
import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { AwsClients } from '@opentrail/aws';
import { toApiCallEvent, writeRecordJson, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { serdeFor, type Delivery, type SchemaRegistry } from '@opentrail/serde';
import { compileTrails, parseTrail, type TrailInput } from '@opentrail/trails';
import { startArchiver, until } from './lib/service-process.js';
import { benchRecord, EnrichedTopicWriter } from './lib/archiver-workload.js';
import { benchStack, serviceEnv } from './lib/stack.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const RATE = Number(process.env.BENCH_RATE ?? 5000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const ROLL_SECONDS = Number(process.env.BENCH_ROLL_SECONDS ?? 5);
const PARTITIONS = 3;

process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
const log = (line: string) => console.error(`archiver bench: ${line}`);

function trailFor(bucket: string, rollSeconds: number): TrailInput {
  return { name: 'bench', accountId: '999988887777', homeRegion: 'us-east-1', bucket, roll: { intervalSeconds: rollSeconds } };
}

/** The floor: the same selected records serialised and gzipped per (account, region) file, on one thread. */
function floor(records: CloudTrailRecord[]): { cpuMicrosPerEvent: number; eventsPerSecond: number } {
  const events = records.map(toApiCallEvent);
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const files = new Map<string, string[]>();
  for (const event of events) {
    const key = `${event.recipientAccountId}/${event.awsRegion}`;
    let file = files.get(key);
    if (!file) files.set(key, (file = []));
    file.push(writeRecordJson(event));
  }
  let bytes = 0;
  for (const records of files.values()) bytes += gzipSync(`{"Records":[${records.join(',')}]}`).length;
  const used = process.cpuUsage(cpu);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (bytes === 0) throw new Error('nothing compressed');
  return { cpuMicrosPerEvent: (used.user + used.system) / events.length, eventsPerSecond: events.length / seconds };
}

async function createTopics(kafka: KafkaClient, prefix: string) {
  await ensureTopics(kafka, ['events.enriched', 'deliveries', 'events.dlq'].map((t) => ({ topic: `${prefix}${t}`, partitions: PARTITIONS })), { partitions: PARTITIONS, replicationFactor: 1 });
}

function archiverEnv(endpoints: { kafkaBrokers: string; schemaRegistryUrl: string; awsEndpoint: string }, prefix: string, trail: TrailInput) {
  return {
    ...serviceEnv(endpoints, prefix, PARTITIONS),
    OPENTRAIL_TRAILS: JSON.stringify([trail]),
    OPENTRAIL_ARCHIVER_GROUP_ID: `${prefix}archiver`,
    OPENTRAIL_ARCHIVER_APPLY_LIFECYCLE: 'false',
  };
}

/** Reads the deliveries topic (read_committed) until the delivered records reach `records`. */
async function readDeliveries(kafka: KafkaClient, registry: SchemaRegistry, topic: string, records: number): Promise<Delivery[]> {
  const serde = serdeFor(registry, 'Delivery');
  const consumer = kafka.consumer({ groupId: `bench-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values: Buffer[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value!) });
  let deliveries: Delivery[] = [];
  await until(
    async () => {
      await serde.prepare(values);
      deliveries = values.map((v) => serde.decode(v));
      return deliveries.reduce((n, d) => n + d.recordCount, 0) >= records ? true : undefined;
    },
    'the delivery records',
    300_000,
  );
  await consumer.disconnect();
  return deliveries;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function main() {
  const stack = await benchStack(log);
  const aws = new AwsClients({ endpoint: stack.endpoints.awsEndpoint, region: 'us-east-1' });
  try {
    // Throughput and CPU: a backlog of EVENTS records, archived by one process.
    const prefix = `bench-arch-${randomBytes(3).toString('hex')}.`;
    const bucket = `bench-arch-${randomBytes(4).toString('hex')}`;
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await createTopics(stack.kafka, prefix);
    const trail = trailFor(bucket, 1);
    const matcher = compileTrails([parseTrail(trail)]);
    const records = Array.from({ length: EVENTS }, (_, i) => benchRecord(i, prefix));
    const selected = records.filter((r) => matcher.select(toApiCallEvent(r)).length > 0);
    const base = floor(selected);
    log(`floor: ${base.cpuMicrosPerEvent.toFixed(1)} µs CPU per event`);

    const writer = await EnrichedTopicWriter.create(stack.kafka, stack.registry, `${prefix}events.enriched`);
    await writer.send(records.map((r) => writer.message(r)));
    log(`${EVENTS} events on ${prefix}events.enriched; starting the archiver`);
    const archiver = await startArchiver(archiverEnv(stack.endpoints, prefix, trail));
    const cpuStart = await archiver.metric('process_cpu_seconds_total');
    const started = Date.now();
    await until(async () => ((await archiver.metric('opentrail_archiver_events_archived_total')) >= selected.length ? true : undefined), 'the backlog archived', 600_000);
    const seconds = (Date.now() - started) / 1000;
    const cpuMicrosPerEvent = (((await archiver.metric('process_cpu_seconds_total')) - cpuStart) * 1e6) / EVENTS;
    const files = await archiver.metric('opentrail_archiver_files_delivered_total');
    await archiver.stop();

    // Latency: RATE events per second for SECONDS seconds, live.
    const livePrefix = `bench-live-${randomBytes(3).toString('hex')}.`;
    const liveBucket = `bench-live-${randomBytes(4).toString('hex')}`;
    await aws.s3.send(new CreateBucketCommand({ Bucket: liveBucket }));
    await createTopics(stack.kafka, livePrefix);
    const liveTrail = trailFor(liveBucket, ROLL_SECONDS);
    const liveWriter = await EnrichedTopicWriter.create(stack.kafka, stack.registry, `${livePrefix}events.enriched`);
    const live = await startArchiver(archiverEnv(stack.endpoints, livePrefix, liveTrail));
    const total = RATE * SECONDS;
    const liveRecords = Array.from({ length: total }, (_, i) => benchRecord(i, livePrefix));
    const liveSelected = liveRecords.filter((r) => matcher.select(toApiCallEvent(r)).length > 0).length;
    const producedAt = new Map<string, number>();
    const tick = 100;
    const perTick = Math.round((RATE * tick) / 1000);
    const productionStart = Date.now();
    for (let sent = 0, n = 0; sent < total; n++) {
      const due = productionStart + n * tick;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      const slice = liveRecords.slice(sent, sent + perTick);
      const now = Date.now();
      for (const r of slice) producedAt.set(r.eventID!, now);
      await liveWriter.send(slice.map((r) => liveWriter.message(r)));
      sent += slice.length;
    }
    const actualRate = total / ((Date.now() - productionStart) / 1000);
    log(`produced ${total} events at ${actualRate.toFixed(0)}/s; waiting for the last files`);
    const deliveries = await readDeliveries(stack.kafka, stack.registry, `${livePrefix}deliveries`, liveSelected);
    await live.stop();
    const deliveredAt = new Map(deliveries.map((d) => [d.key, d.deliveredAt]));
    const latencies: number[] = [];
    let token: string | undefined;
    do {
      const page = await aws.s3.send(new ListObjectsV2Command({ Bucket: liveBucket, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        const body = Buffer.from(await (await aws.s3.send(new GetObjectCommand({ Bucket: liveBucket, Key: object.Key }))).Body!.transformToByteArray());
        const { Records } = JSON.parse(gunzipSync(body).toString()) as { Records: { eventID: string }[] };
        for (const r of Records) latencies.push((deliveredAt.get(object.Key!)! - producedAt.get(r.eventID)!) / 1000);
      }
      token = page.NextContinuationToken;
    } while (token);
    latencies.sort((a, b) => a - b);
    await writer.close();
    await liveWriter.close();

    const ratio = cpuMicrosPerEvent / base.cpuMicrosPerEvent;
    const p99 = percentile(latencies, 99);
    console.log(
      [
        `archiver (${EVENTS} events, ${selected.length} selected by the trail, ${PARTITIONS} partitions, ${files} files; transactional; moto as S3)`,
        `  floor, serialise + gzip on one thread:    ${base.cpuMicrosPerEvent.toFixed(1)} µs CPU/event   ${base.eventsPerSecond.toFixed(0)} events/s`,
        `  archiver process, KafkaClient to S3:            ${cpuMicrosPerEvent.toFixed(1)} µs CPU/event   ${(EVENTS / seconds).toFixed(0)} events/s   (${ratio.toFixed(2)}x the floor's CPU; aim <= 2x)`,
        `  latency, production to object in S3 at ${actualRate.toFixed(0)} events/s, roll ${ROLL_SECONDS} s (${latencies.length} events):`,
        `    p50 ${percentile(latencies, 50).toFixed(2)} s   p99 ${p99.toFixed(2)} s   max ${latencies[latencies.length - 1]!.toFixed(2)} s   (aim: p99 <= ${ROLL_SECONDS + 3} s)`,
      ].join('\n'),
    );
  } finally {
    aws.destroy();
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
