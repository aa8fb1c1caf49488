import type { KafkaClient, KafkaProducer } from '@opentrail/runtime';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { routingKey, toApiCallEvent, withDefaults, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { serdeFor, valueSubject, type Alert, type AvroSerde, type EnrichedEvent } from '@opentrail/serde';
import type { Cleanups } from '../helpers/cleanup.js';
import { serviceEnv, testKafka, testRegistry, uniquePrefix } from '../helpers/env.js';
import { collect, createTopics, type Collected } from '../helpers/kafka.js';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';

/** Topics of one test run, created up front so the test can produce before the service starts. */
export async function alerterTopics(prefix: string, kafka: KafkaClient) {
  const topics = { enriched: `${prefix}events.enriched`, alerts: `${prefix}alerts`, dlq: `${prefix}events.dlq` };
  await createTopics(kafka, Object.values(topics), 3);
  return topics;
}

/** The alerter's environment for a test: its own topics and group, short session timeout, the given rules. */
export function alerterEnv(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return serviceEnv(prefix, {
    OPENTRAIL_ALERTER_GROUP_ID: `${prefix}alerter`,
    OPENTRAIL_ALERTER_SESSION_TIMEOUT_MS: '10000',
    OPENTRAIL_ALERTER_INSIGHTS_ENABLED: 'false',
    ...extra,
  });
}

/** Writes EnrichedEvents built from CloudTrail JSON (minimal enrichment) to the enriched topic, keyed by account/region. */
export class EnrichedWriter {
  private constructor(
    private readonly producer: KafkaProducer,
    private readonly serde: AvroSerde<EnrichedEvent>,
    private readonly topic: string,
  ) {}

  static async create(kafka: KafkaClient, topic: string): Promise<EnrichedWriter> {
    const serde = serdeFor(testRegistry(), 'EnrichedEvent');
    await serde.register(valueSubject(topic));
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1});
    await producer.connect();
    return new EnrichedWriter(producer, serde, topic);
  }

  async write(records: CloudTrailRecord[]): Promise<void> {
    const messages = records.map((r) => {
      const record = withDefaults({ awsRegion: REGION, recipientAccountId: ACCOUNT, ...r });
      const value: EnrichedEvent = { event: toApiCallEvent(record), enrichment: { enrichedAt: Date.now(), identity: null, geo: null, service: null } };
      return { key: routingKey(record.recipientAccountId!, record.awsRegion!), value: this.serde.encode(value) };
    });
    await this.producer.send({ topic: this.topic, messages, acks: -1 });
  }

  close(): Promise<void> {
    return this.producer.disconnect();
  }
}

/** Reads a topic of Avro values (committed messages only) and decodes them. */
export class DecodedTopic<T> {
  private constructor(
    private readonly collected: Collected,
    private readonly serde: AvroSerde<T>,
  ) {}

  static async open<N extends 'Alert' | 'EnrichedEvent'>(kafka: KafkaClient, topic: string, schema: N): Promise<DecodedTopic<N extends 'Alert' ? Alert : EnrichedEvent>> {
    const serde = serdeFor(testRegistry(), schema) as unknown as AvroSerde<N extends 'Alert' ? Alert : EnrichedEvent>;
    return new DecodedTopic(await collect(kafka, topic, { readCommitted: true }), serde);
  }

  async values(): Promise<T[]> {
    const values = this.collected.messages.map((m) => m.value).filter((v): v is Buffer => v !== null);
    await this.serde.prepare(values);
    return values.map((v) => this.serde.decode(v));
  }

  get messages() {
    return this.collected.messages;
  }

  stop(): Promise<void> {
    return this.collected.stop();
  }
}


/** eventTime `seconds` after 2026-03-01T10:00:00Z (synthetic event time: windows use it, not the clock). */
export function at(seconds: number): string {
  return `${new Date(Date.UTC(2026, 2, 1, 10, 0, 0) + seconds * 1000).toISOString().slice(0, 19)}Z`;
}

export function failedConsoleLogin(userName: string, seconds: number, eventID: string): CloudTrailRecord {
  return {
    eventVersion: '1.08',
    eventID,
    eventTime: at(seconds),
    eventSource: 'signin.amazonaws.com',
    eventName: 'ConsoleLogin',
    eventType: 'AwsConsoleSignIn',
    sourceIPAddress: '198.51.100.23',
    userAgent: 'Mozilla/5.0',
    errorMessage: 'Failed authentication',
    requestParameters: null,
    responseElements: { ConsoleLogin: 'Failure' },
    additionalEventData: { LoginTo: 'https://console.aws.amazon.com/console/home', MobileVersion: 'No', MFAUsed: 'No' },
    userIdentity: { type: 'IAMUser', principalId: 'AIDAEXAMPLE', accountId: ACCOUNT, accessKeyId: '', userName },
    readOnly: false,
    managementEvent: true,
    eventCategory: 'Management',
  };
}

/** An empty rule directory, removed after the test. */
export function tempRulesDir(cleanups: Cleanups): { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'alerter-rules-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { dir };
}

/**
 * What an alerter test starts from: its topics under a prefix of its own, a writer of enriched
 * events and a reader of the alerts, each closed after the test. The test starts the alerter itself,
 * with the rules and outputs it is about.
 */
export async function alerterStage(cleanups: Cleanups, label: string) {
  const prefix = uniquePrefix(label);
  const kafka = testKafka();
  const topics = await alerterTopics(prefix, kafka);
  const writer = await EnrichedWriter.create(kafka, topics.enriched);
  cleanups.push(() => writer.close());
  const alerts = await DecodedTopic.open(kafka, topics.alerts, 'Alert');
  cleanups.push(() => alerts.stop());
  return { prefix, kafka, topics, writer, alerts };
}

export { testKafka };

export { waitForCommitted } from '../helpers/kafka.js';
