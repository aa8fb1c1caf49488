/** The archiver benchmark's input: CloudTrail records over 20 accounts and 4 regions, as enriched events on a topic. */
import type { KafkaClient, KafkaProducer, ProducedMessage } from '@opentrail/runtime';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { routingKey, toApiCallEvent, validateRecord, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { serdeFor, valueSubject, type AvroSerde, type EnrichedEvent, type SchemaRegistry } from '@opentrail/serde';
import { splitRequests } from '@opentrail/runtime';

const ACCOUNTS = Array.from({ length: 20 }, (_, i) => String(410000000000 + i * 7919));
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-southeast-2'];

const FIXTURES = readFileSync(new URL('../../test/fixtures/cloudtrail-records.ndjson', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as CloudTrailRecord)
  // Checked in the region they are moved to (many carry their source's anonymised region names).
  .filter((r) => validateRecord({ ...r, awsRegion: REGIONS[0] }).length === 0 && r.eventType !== 'AwsCloudTrailInsight');

function uuid(seed: string, i: number): string {
  const h = createHash('sha256').update(`${seed}:${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Record `i`: a real CloudTrail record of test/fixtures (varied services and identities) moved to one of 20 accounts and 4 regions. */
export function benchRecord(i: number, seed: string): CloudTrailRecord {
  const base = FIXTURES[i % FIXTURES.length]!;
  return {
    ...base,
    eventID: uuid(seed, i),
    awsRegion: REGIONS[Math.floor(i / ACCOUNTS.length) % REGIONS.length]!,
    recipientAccountId: ACCOUNTS[i % ACCOUNTS.length]!,
    eventTime: new Date(Date.UTC(2026, 10, 1) + i * 10).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

export class EnrichedTopicWriter {
  private constructor(
    private readonly producer: KafkaProducer,
    private readonly serde: AvroSerde<EnrichedEvent>,
    readonly topic: string,
  ) {}

  static async create(kafka: KafkaClient, registry: SchemaRegistry, topic: string): Promise<EnrichedTopicWriter> {
    const serde = serdeFor(registry, 'EnrichedEvent');
    await serde.register(valueSubject(topic));
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1});
    await producer.connect();
    return new EnrichedTopicWriter(producer, serde, topic);
  }

  message(record: CloudTrailRecord): ProducedMessage {
    const value: EnrichedEvent = { event: toApiCallEvent(record), enrichment: { enrichedAt: Date.now(), identity: null, geo: null, service: null } };
    return { key: routingKey(record.recipientAccountId!, record.awsRegion!), value: this.serde.encode(value) };
  }

  /** Sends messages in requests the broker accepts, split as the runtime splits its outputs. */
  async send(messages: ProducedMessage[]): Promise<void> {
    for (const request of splitRequests([{ topic: this.topic, messages }])) await this.producer.sendBatch({ topicMessages: request, acks: -1 });
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
