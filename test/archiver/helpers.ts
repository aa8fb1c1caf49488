import type { KafkaClient, KafkaProducer, ProducedMessage } from '@opentrail/runtime';
import { createHash } from 'node:crypto';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { AwsClients } from '@opentrail/aws';
import { routingKey, toApiCallEvent, validateRecord, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { serdeFor, valueSubject, type ApiCallEvent, type AvroSerde, type Delivery, type EnrichedEvent } from '@opentrail/serde';
import { splitRequests } from '@opentrail/runtime';
import type { TrailInput } from '@opentrail/trails';
import type { Cleanups } from '../helpers/cleanup.js';
import { serviceEnv, stackEndpoints, testKafka, testRegistry, uniquePrefix } from '../helpers/env.js';
import { realRecords } from '../helpers/fixtures.js';
import { collect, createTopics } from '../helpers/kafka.js';

process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

export const ACCOUNTS = Array.from({ length: 20 }, (_, i) => String(210000000000 + i * 7919));
export const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-southeast-2'];
export const PARTITIONS = 3;

export function awsClients(endpoint = stackEndpoints().awsEndpoint): AwsClients {
  return new AwsClients({ endpoint, region: 'us-east-1' });
}

export async function createBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
}

/** A unique bucket name for a test. */
export function bucketName(label: string): string {
  return `${label}-${Math.random().toString(36).slice(2, 10)}`;
}

// Records are moved to REGIONS below: checked in one of them (many fixture records carry the
// anonymised region names of their source, which are no AWS region).
const FIXTURES = realRecords().filter((r) => validateRecord({ ...r, awsRegion: REGIONS[0] }).length === 0);

function uuid(seed: string, i: number): string {
  const h = createHash('sha256').update(`${seed}:${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Event `i` of a run: 20 accounts × 4 regions; every fifth one a real CloudTrail record (test/fixtures)
 * moved to that account and region, the others management reads and writes and S3 data events with
 * nested free-form members. eventIDs are unique per `seed`.
 */
export function archiverEvent(i: number, seed = 'run'): CloudTrailRecord {
  const account = ACCOUNTS[i % ACCOUNTS.length]!;
  const region = REGIONS[Math.floor(i / ACCOUNTS.length) % REGIONS.length]!;
  const eventTime = new Date(Date.UTC(2026, 10, 1, 0, 0, 0) + i * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const eventID = uuid(seed, i);
  if (i % 5 === 0) {
    const base = FIXTURES[(i / 5) % FIXTURES.length]!;
    return { ...base, eventID, awsRegion: region, recipientAccountId: account, eventTime };
  }
  const kind = i % 5; // 1, 2: management read / write; 3: S3 read; 4: S3 write
  const user = `user${i % 13}`;
  const common: CloudTrailRecord = {
    eventVersion: '1.10',
    userIdentity: {
      type: 'AssumedRole',
      principalId: `AROAEXAMPLE${i % 17}:${user}`,
      arn: `arn:aws:sts::${account}:assumed-role/Ops/${user}`,
      accountId: account,
      accessKeyId: `ASIA${String(i % 997).padStart(16, '0')}`,
      sessionContext: { sessionIssuer: { type: 'Role', principalId: `AROAEXAMPLE${i % 17}`, arn: `arn:aws:iam::${account}:role/Ops`, accountId: account, userName: 'Ops' }, attributes: { creationDate: '2026-11-01T00:00:00Z', mfaAuthenticated: i % 2 ? 'true' : 'false' } },
    },
    eventTime,
    awsRegion: region,
    sourceIPAddress: `198.51.100.${i % 250}`,
    userAgent: `aws-cli/2.15.${i % 40} Python/3.11.6 Linux/6.1 exe/x86_64 prompt/off command/é${i % 3}`,
    requestID: uuid(`${seed}-req`, i),
    eventID,
    eventType: 'AwsApiCall',
    recipientAccountId: account,
    tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: `ec2.${region}.amazonaws.com` },
  };
  if (kind === 1 || kind === 2) {
    return {
      ...common,
      eventSource: 'ec2.amazonaws.com',
      eventName: kind === 1 ? 'DescribeInstances' : 'RunInstances',
      requestParameters: kind === 1 ? { filterSet: {}, maxResults: 50 } : { instancesSet: { items: [{ imageId: `ami-${i}`, minCount: 1, maxCount: 1 }] }, instanceType: 't3.micro', tags: ['a', 'ü', null] },
      responseElements: kind === 1 ? null : { reservationId: `r-${i}`, ownerId: account, instancesSet: { items: [{ instanceId: `i-${i}` }] } },
      readOnly: kind === 1,
      managementEvent: true,
      eventCategory: 'Management',
    };
  }
  const bucket = `data-${i % 7}`;
  return {
    ...common,
    eventSource: 's3.amazonaws.com',
    eventName: kind === 3 ? 'GetObject' : 'PutObject',
    requestParameters: { bucketName: bucket, Host: `${bucket}.s3.${region}.amazonaws.com`, key: `logs/${i}.json` },
    responseElements: null,
    additionalEventData: { SignatureVersion: 'SigV4', bytesTransferredIn: kind === 3 ? 0 : i % 4096, 'x-amz-id-2': 'abc/def==' },
    resources: [
      { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${bucket}/logs/${i}.json` },
      { accountId: account, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${bucket}` },
    ],
    readOnly: kind === 3,
    managementEvent: false,
    eventCategory: 'Data',
  };
}

/** A record's category; records before eventVersion 1.07 have none: data if managementEvent is false, else management. */
export const categoryOf = (r: CloudTrailRecord) => r.eventCategory ?? (r.eventType === 'AwsCloudTrailInsight' ? 'Insight' : r.managementEvent === false ? 'Data' : 'Management');
/** Whether a record is a management event (what a trail without selectors logs). */
export const isManagement = (r: CloudTrailRecord) => categoryOf(r) === 'Management';

/**
 * Produces EnrichedEvent messages straight to the enriched topic (no enricher), keyed by
 * account/region as the enricher keys them.
 */
export class EnrichedProducer {
  private constructor(
    private readonly producer: KafkaProducer,
    private readonly serde: AvroSerde<EnrichedEvent>,
    readonly topic: string,
  ) {}

  static async create(kafka: KafkaClient, prefix: string): Promise<EnrichedProducer> {
    const topic = `${prefix}events.enriched`;
    const serde = serdeFor(testRegistry(), 'EnrichedEvent');
    await serde.register(valueSubject(topic));
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1});
    await producer.connect();
    return new EnrichedProducer(producer, serde, topic);
  }

  message(record: CloudTrailRecord): ProducedMessage {
    return { key: routingKey(record.recipientAccountId!, record.awsRegion!), value: this.encode(toApiCallEvent(record)) };
  }

  /** An event with a minimal enrichment, as the enricher would write it. */
  encode(event: ApiCallEvent): Buffer {
    const value: EnrichedEvent = { event, enrichment: { enrichedAt: Date.now(), identity: null, geo: null, service: null } };
    return this.serde.encode(value);
  }

  /** An enriched event as given, e.g. one no enricher would write. */
  encodeEnriched(value: EnrichedEvent): Buffer {
    return this.serde.encode(value);
  }

  async sendRaw(messages: ProducedMessage[]): Promise<void> {
    await this.producer.send({ topic: this.topic, messages, acks: -1 });
  }

  /** Sends records in requests the broker accepts, split as the runtime splits its outputs. */
  async send(records: CloudTrailRecord[]): Promise<void> {
    const messages = records.map((record) => this.message(record));
    for (const request of splitRequests([{ topic: this.topic, messages }])) await this.producer.sendBatch({ topicMessages: request, acks: -1 });
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

/** Topics of an archiver test (3 partitions, as serviceEnv says). */
export async function archiverTopics(kafka: KafkaClient, prefix: string): Promise<void> {
  await createTopics(kafka, [`${prefix}events.enriched`, `${prefix}deliveries`, `${prefix}events.dlq`], PARTITIONS);
}

/**
 * What an archiver test starts from: its topics under a prefix of its own, AWS clients (destroyed
 * after the test) and a new, empty bucket; `label` names both, so a leftover says which test left it.
 */
export async function archiverStage(cleanups: Cleanups, label: string) {
  const prefix = uniquePrefix(label);
  const kafka = testKafka();
  await archiverTopics(kafka, prefix);
  const aws = awsClients();
  cleanups.push(() => aws.destroy());
  const bucket = bucketName(label);
  await createBucket(aws.s3, bucket);
  return { prefix, kafka, aws, bucket };
}

/** The environment of an archiver process: the stack, the topic prefix, the trails, quick ticks. */
export function archiverEnv(prefix: string, trails: TrailInput[], extra: Record<string, string> = {}): Record<string, string> {
  return serviceEnv(prefix, {
    OPENTRAIL_TRAILS: JSON.stringify(trails),
    OPENTRAIL_ARCHIVER_GROUP_ID: `${prefix}archiver`,
    OPENTRAIL_ARCHIVER_FLUSH_INTERVAL_MS: '500',
    OPENTRAIL_ARCHIVER_APPLY_LIFECYCLE: 'false',
    ...extra,
  });
}

export interface StoredFile {
  key: string;
  body: Buffer;
  records: CloudTrailRecord[];
  /** gzip members in the body (CloudTrail writes one). */
  members: number;
  metadata: Record<string, string>;
}

/** Number of gzip members in `body`: each is a header, a raw deflate stream and an 8-byte trailer. */
export function gzipMembers(body: Buffer): number {
  let offset = 0;
  let members = 0;
  while (offset < body.length) {
    if (body[offset] !== 0x1f || body[offset + 1] !== 0x8b || body[offset + 3] !== 0) throw new Error(`no plain gzip header at byte ${offset}`);
    const { engine } = inflateRawSync(body.subarray(offset + 10), { info: true }) as unknown as { engine: { bytesWritten: number } };
    offset += 10 + engine.bytesWritten + 8;
    members++;
  }
  if (offset !== body.length) throw new Error('trailing bytes after the last gzip member');
  return members;
}

export async function listKeys(s3: S3Client, bucket: string, prefix?: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) keys.push(o.Key!);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

/** Reads and parses every object of a bucket (plain gzip files), a few at a time. */
export async function readLogFiles(s3: S3Client, bucket: string, prefix?: string): Promise<StoredFile[]> {
  const keys = await listKeys(s3, bucket, prefix);
  const files: StoredFile[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const body = Buffer.from(await object.Body!.transformToByteArray());
        const members = gzipMembers(body);
        const inflated = gunzipSync(body);
        const parsed = JSON.parse(inflated.toString('utf8')) as { Records: CloudTrailRecord[] };
        files.push({ key, body, records: parsed.Records, members, metadata: object.Metadata ?? {} });
      }
    }),
  );
  return files;
}

/** Reads the deliveries topic (read_committed) until `done` says enough. */
export async function readDeliveries(kafka: KafkaClient, prefix: string) {
  const serde = serdeFor(testRegistry(), 'Delivery');
  const collected = await collect(kafka, `${prefix}deliveries`, { readCommitted: true });
  return {
    async all(): Promise<Delivery[]> {
      const values = collected.messages.map((m) => m.value);
      await serde.prepare(values);
      return values.map((v) => serde.decode(v));
    },
    count: () => collected.messages.length,
    stop: () => collected.stop(),
  };
}

export { testKafka };
