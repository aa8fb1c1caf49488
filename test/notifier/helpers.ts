import type { KafkaClient, KafkaProducer } from '@opentrail/runtime';
import { createHash } from 'node:crypto';
import { deterministicUniqueString, digestFileKey, logFileKey } from '@opentrail/cloudtrail';
import { serdeFor, valueSubject, type AvroSerde, type Delivery, type Notification } from '@opentrail/serde';
import { serviceEnv, testRegistry } from '../helpers/env.js';
import { collect, createTopics, type Collected } from '../helpers/kafka.js';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-2';
/** A whsec_ secret (Standard Webhooks form) for the receivers of the tests. */
export const SECRET = 'whsec_bm90aWZpZXItdGVzdC1zZWNyZXQtMTIzNDU2';

/** The topics of one test run, created up front so the test can write deliveries before the notifier runs. */
export async function notifierTopics(prefix: string, kafka: KafkaClient) {
  const topics = { deliveries: `${prefix}deliveries`, notifications: `${prefix}notifications`, dlq: `${prefix}notifications.dlq` };
  await createTopics(kafka, Object.values(topics), 3);
  return topics;
}

/** The notifier's environment for a test: its own topics and groups, the given trails, quick retries. */
export function notifierEnv(prefix: string, trails: unknown[], extra: Record<string, string> = {}): Record<string, string> {
  return serviceEnv(prefix, {
    OPENTRAIL_TRAILS: JSON.stringify(trails),
    OPENTRAIL_NOTIFIER_GROUP_ID: `${prefix}notifier`,
    OPENTRAIL_NOTIFIER_SESSION_TIMEOUT_MS: '6000',
    OPENTRAIL_NOTIFIER_NEW_TARGETS_START_AT: 'earliest',
    OPENTRAIL_NOTIFIER_DELIVERY_INITIAL_DELAY_MS: '100',
    OPENTRAIL_NOTIFIER_DELIVERY_MAX_DELAY_MS: '1000',
    OPENTRAIL_NOTIFIER_COMMIT_INTERVAL_MS: '200',
    ...extra,
  });
}

/** A trail as in the trails: section. */
export function trail(name: string, notifications: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { name, accountId: ACCOUNT, homeRegion: REGION, bucket: `${name}-bucket`, notifications, ...extra };
}

let sequence = 0;

/** The archiver's delivery id: stable per (bucket, key, sha256). */
function deliveryIdFor(bucket: string, key: string, sha256: string): string {
  return createHash('sha256').update(`${bucket}\n${key}\n${sha256}`).digest('hex').slice(0, 32);
}

/** A delivery record as the archiver (LOG, INSIGHT) or the digester (DIGEST) writes it. */
export function delivery(trailName: string, kind: Delivery['kind'] = 'LOG', at = new Date(), options: { prefix?: string } = {}): Delivery {
  const n = sequence++;
  const scope = { accountId: ACCOUNT, region: REGION, ...(options.prefix ? { prefix: options.prefix } : {}) };
  const key =
    kind === 'DIGEST'
      ? digestFileKey(scope, trailName, REGION, new Date(at.getTime() + n * 1000))
      : logFileKey(scope, at, deterministicUniqueString(trailName, n, at.getTime()), kind === 'LOG' ? 'CloudTrail' : 'CloudTrail-Insight');
  const bucket = `${trailName}-bucket`;
  const sha256 = createHash('sha256').update(key).digest('hex');
  return {
    deliveryId: deliveryIdFor(bucket, key, sha256),
    kind,
    trailName,
    trailArn: `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/${trailName}`,
    homeRegion: REGION,
    bucket,
    key,
    accountId: ACCOUNT,
    region: REGION,
    organizationId: null,
    recordCount: 3,
    uncompressedBytes: 3000,
    compressedBytes: 400,
    sha256,
    oldestEventTime: at.getTime() - 60_000,
    newestEventTime: at.getTime() - 1000,
    deliveredAt: at.getTime(),
    encryption: { mode: 'SSE_S3', kmsKeyId: null },
    source: null,
    digest: null,
  };
}

/** Writes delivery records to the deliveries topic, keyed like the archiver's (trail/account/region). */
export class DeliveryWriter {
  private constructor(
    private readonly producer: KafkaProducer,
    private readonly serde: AvroSerde<Delivery>,
    private readonly topic: string,
  ) {}

  static async create(kafka: KafkaClient, topic: string): Promise<DeliveryWriter> {
    const serde = serdeFor(testRegistry(), 'Delivery');
    await serde.register(valueSubject(topic));
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1});
    await producer.connect();
    return new DeliveryWriter(producer, serde, topic);
  }

  async write(deliveries: Delivery[]): Promise<void> {
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: deliveries.map((d) => ({ key: `${d.trailName}/${d.accountId}/${d.region}`, value: this.serde.encode(d) })),
    });
  }

  close(): Promise<void> {
    return this.producer.disconnect();
  }
}

/** The notifications topic, decoded. */
export async function notificationsOf(collected: Collected): Promise<Notification[]> {
  const serde = serdeFor(testRegistry(), 'Notification');
  const values = collected.messages.map((m) => m.value).filter((v): v is Buffer => v !== null);
  await serde.prepare(values);
  return values.map((v) => serde.decode(v));
}

export { collect };

export { deadUrl, webhookReceiver, type ReceivedRequest } from '../helpers/webhookReceiver.js';

export { waitForCommitted } from '../helpers/kafka.js';
