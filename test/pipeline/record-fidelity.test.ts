/**
 * Issue 19's end-to-end promise, on the real stack: for arbitrary records (fast-check arbitraries
 * and the odd-record corpus), producer -> Kafka -> enricher -> archiver -> S3 log file gives back an
 * equal record, or the producer refuses it with a typed error; never an acknowledged record that is
 * later dead-lettered, changed or lost. And the size limit's boundary: what the producer accepts at
 * the limit is delivered; what is one byte over is refused by the producer, and, written past the
 * producer, dead-lettered by the enricher (the archiver never sees it).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidRecordError, MAX_EVENT_BYTES, routingKey, toApiCallEvent, type CloudTrailRecord } from '@opentrail/cloudtrail';
import type { Recorder } from '@opentrail/producer';
import { serdeFor, valueSubject } from '@opentrail/serde';
import type { TrailInput } from '@opentrail/trails';
import { archiverEnv, archiverTopics, awsClients, bucketName, createBucket, readLogFiles } from '../archiver/helpers.js';
import { readToEnd, recorderFor, startEnricher, topics } from '../enricher/enricher.js';
import { cloudTrailRecord, withMember } from '../fixtures/arbitraries.js';
import { ODD_RECORDS } from '../fixtures/odd-records.js';
import { canonicalJson } from '../helpers/canonical.js';
import { testKafka, testRegistry, uniquePrefix } from '../helpers/env.js';
import { readTopic } from '../helpers/kafka.js';
import { recordOfSize } from '../helpers/recordSize.js';
import { startService } from '../helpers/service.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach({ ignoreFailures: true });

const ACCOUNT = '123456789012';
const base = (eventID: string): CloudTrailRecord => ({
  eventVersion: '1.11',
  userIdentity: { type: 'IAMUser', accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/ålice`, userName: 'ålice' },
  eventTime: '2026-03-01T12:00:00Z',
  eventSource: 'billing.example.com',
  eventName: 'CreateInvoice',
  awsRegion: 'eu-west-1',
  sourceIPAddress: '81.2.69.142',
  eventID,
  eventType: 'AwsApiCall',
  eventCategory: 'Management',
  requestParameters: { customerId: 'c-42' },
});

/** The pipeline of one test: its own topics, an enricher and an archiver process, a bucket, a producer. */
async function pipeline(label: string) {
  const prefix = uniquePrefix(label);
  const kafka = testKafka();
  await archiverTopics(kafka, prefix);
  const aws = awsClients();
  cleanups.push(async () => aws.destroy());
  const bucket = bucketName(label);
  await createBucket(aws.s3, bucket);
  const trail: TrailInput = { name: 'fidelity', accountId: ACCOUNT, homeRegion: 'us-east-1', bucket, roll: { intervalSeconds: 1 } };
  const [enricher, archiver] = await Promise.all([startEnricher(prefix), startService('archiver', archiverEnv(prefix, [trail]))]);
  cleanups.push(() => enricher.stop(), () => archiver.stop());
  const recorder = await recorderFor(kafka, prefix);
  cleanups.push(() => recorder.close());
  return { prefix, kafka, aws, bucket, recorder, enricher, archiver };
}

/** Records each input; returns the acknowledged ones by eventID and counts the typed refusals. */
async function recordAll(recorder: Recorder, inputs: unknown[]) {
  const acknowledged = new Map<string, unknown>();
  let refused = 0;
  const results = await Promise.allSettled(inputs.map((input) => recorder.record(input as CloudTrailRecord)));
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') acknowledged.set(result.value.eventID, inputs[i]);
    else if (result.reason instanceof InvalidRecordError) refused++;
    // Anything else (a TypeError, Kafka refusing a message) is exactly what must never happen.
    else throw new Error(`record ${i} failed with ${String(result.reason)}`);
  });
  return { acknowledged, refused };
}

/**
 * The delivered log-file records by eventID, once every expected one is there. On a timeout it
 * fails naming what is missing and what the dead-letter topic holds, so a failure explains itself.
 */
async function delivered(p: Awaited<ReturnType<typeof pipeline>>, eventIDs: string[], timeoutMs = 120_000) {
  let byId = new Map<string, unknown[]>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    byId = new Map();
    for (const file of await readLogFiles(p.aws.s3, p.bucket)) {
      for (const record of file.records) {
        const id = Object.getOwnPropertyDescriptor(record, 'eventID')?.value as string;
        byId.set(id, [...(byId.get(id) ?? []), record]);
      }
    }
    const missing = eventIDs.filter((id) => !byId.has(id));
    if (missing.length === 0) return byId;
    if (Date.now() > deadline) {
      const dead = (await readTopic(p.kafka, topics(p.prefix).dlq, 1, 5000).catch(() => [])).map((m) => `${m.headers?.['opentrail-dlq-service']?.toString()}: ${m.headers?.['opentrail-dlq-detail']?.toString()}`);
      const errors = [p.enricher, p.archiver].flatMap((s) => s.logs().filter((l) => l.level === 'error' || l.level === 'fatal' || Number(l.level) >= 50).map((l) => `${s.name}: ${String(l.msg)} ${JSON.stringify(l.err ?? '').slice(0, 300)}`));
      throw new Error(`${missing.length} of ${eventIDs.length} acknowledged records never reached a log file (${missing.slice(0, 5).join(', ')}); dead letters: ${JSON.stringify(dead.slice(0, 5))}; errors: ${JSON.stringify(errors.slice(-3))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function deadLetters(p: Awaited<ReturnType<typeof pipeline>>) {
  return readToEnd(p.kafka, topics(p.prefix).dlq);
}

describe('record fidelity end to end (issue 19)', () => {
  it('gives back every acknowledged record of a few hundred arbitrary ones equal, and refuses the rest up front', { timeout: 300_000 }, async () => {
    const p = await pipeline('fidelity');
    const seed = Number(process.env.OPENTRAIL_PROPERTY_SEED ?? Date.now() % 100_000);
    const generated = fc.sample(fc.oneof(cloudTrailRecord(true), cloudTrailRecord(false)), { numRuns: 300, seed });
    // Unique eventIDs, so that each delivered record is matched with its input.
    generated.forEach((record, i) => withMember(record, 'eventID', `${p.prefix}gen-${i}`));
    const odd = ODD_RECORDS.map((o, i) => o.record(base(`${p.prefix}odd-${i}`)));
    const { acknowledged, refused } = await recordAll(p.recorder, [...generated, ...odd]);
    const carriedOdd = ODD_RECORDS.filter((o) => o.expect === 'carried').length;
    expect(acknowledged.size, `seed ${seed}`).toBeGreaterThan(carriedOdd + 50);
    expect(refused, `seed ${seed}`).toBeGreaterThan(ODD_RECORDS.length - carriedOdd);
    expect(acknowledged.size + refused).toBe(generated.length + odd.length);

    const byId = await delivered(p, [...acknowledged.keys()]);
    for (const [eventID, input] of acknowledged) {
      const copies = byId.get(eventID)!;
      expect(copies, `${eventID} (seed ${seed})`).toHaveLength(1);
      expect(canonicalJson(copies[0]), `${eventID} (seed ${seed})`).toBe(canonicalJson(input));
    }
    // Nothing acknowledged was set aside on the way.
    expect(await deadLetters(p)).toEqual([]);
  });

  it('delivers a record of exactly the limit; one byte over is refused by the producer, and dead-lettered by the enricher when written past it', { timeout: 240_000 }, async () => {
    const p = await pipeline('sizelimit');
    const below = recordOfSize(base(`${p.prefix}below`), MAX_EVENT_BYTES - 1);
    const at = recordOfSize(base(`${p.prefix}at`), MAX_EVENT_BYTES);
    const over = recordOfSize(base(`${p.prefix}over`), MAX_EVENT_BYTES + 1);
    const { acknowledged, refused } = await recordAll(p.recorder, [below, at, over]);
    expect([...acknowledged.keys()].sort()).toEqual([`${p.prefix}at`, `${p.prefix}below`]);
    expect(refused).toBe(1);
    await expect(p.recorder.record(over)).rejects.toThrow(`(record) is ${MAX_EVENT_BYTES + 1} bytes as JSON in the log file`);

    // The same record, one byte over, from a producer that does not use the client.
    const serde = serdeFor(testRegistry(), 'ApiCallEvent');
    await serde.register(valueSubject(topics(p.prefix).raw));
    const producer = p.kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    await producer.send({ topic: topics(p.prefix).raw, messages: [{ key: routingKey(ACCOUNT, 'eu-west-1'), value: serde.encode(toApiCallEvent(over)) }] });

    const byId = await delivered(p, [`${p.prefix}below`, `${p.prefix}at`]);
    expect(canonicalJson(byId.get(`${p.prefix}at`)![0])).toBe(canonicalJson(at));
    expect(canonicalJson(byId.get(`${p.prefix}below`)![0])).toBe(canonicalJson(below));
    // Refused by the enricher, for its size, before anything downstream could take it.
    const [dead] = await readTopic(p.kafka, topics(p.prefix).dlq, 1, 60_000);
    const header = (name: string) => dead!.headers![name]!.toString();
    expect(header('opentrail-dlq-service')).toBe('enricher');
    expect(header('opentrail-dlq-reason')).toBe('VALIDATION');
    expect(header('opentrail-dlq-detail')).toBe(`event is ${MAX_EVENT_BYTES + 1} bytes as JSON in the log file; CloudTrail's limit is ${MAX_EVENT_BYTES} (256 KB)`);
    expect(await deadLetters(p)).toHaveLength(1);
  });
});
