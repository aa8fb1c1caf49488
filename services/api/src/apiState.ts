import type { KafkaClient, KafkaConsumer } from '@opentrail/runtime';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '@opentrail/observability';
import { logConsumerCrash } from '@opentrail/runtime';
import { SerdeError, type AvroSerde, type Delivery, type DigestPublicKey } from '@opentrail/serde';
import type { TrailActivity, TrailActivitySource } from './trailOperations.js';

/**
 * What the API knows beyond the configuration, read from Kafka: the public keys the digester
 * published (compacted keys topic, key = fingerprint) and, per trail, the latest log file and
 * digest deliveries (deliveries topic). Every instance reads both topics whole, as the sole member
 * of a consumer group of its own that never commits; it is ready once it has read the keys topic
 * to the end it had when it started.
 */
export class ApiState implements TrailActivitySource {
  private consumer: KafkaConsumer | undefined;
  readonly keys = new Map<string, DigestPublicKey>();
  private readonly deliveries = new Map<string, TrailActivity>();
  private keysEnd: Map<number, bigint> | undefined;
  private readonly keysPosition = new Map<number, bigint>();
  private crashed: string | undefined;

  constructor(
    private readonly o: { kafka: KafkaClient; keysTopic: string; deliveriesTopic: string; keySerde: AvroSerde<DigestPublicKey>; deliverySerde: AvroSerde<Delivery>; groupPrefix: string; logger: Logger },
  ) {}

  get ready(): boolean | string {
    if (this.crashed) return `state reader stopped: ${this.crashed}`;
    if (!this.keysEnd) return 'reading the keys topic';
    for (const [p, end] of this.keysEnd) if ((this.keysPosition.get(p) ?? 0n) < end) return 'reading the keys topic';
    return true;
  }

  get healthy(): boolean | string {
    return this.crashed === undefined || `state reader stopped: ${this.crashed}`;
  }

  /** The delivery times read from the deliveries topic (errors and notifications come from the activity topic, wired elsewhere). */
  activity(trailName: string): TrailActivity {
    return this.deliveries.get(trailName) ?? {};
  }

  async start(): Promise<void> {
    const { kafka, keysTopic, deliveriesTopic, logger } = this.o;
    const admin = kafka.admin();
    await admin.connect();
    try {
      this.keysEnd = new Map((await admin.fetchTopicOffsets(keysTopic)).map((o) => [o.partition, BigInt(o.offset)]));
    } finally {
      await admin.disconnect();
    }
    const consumer = kafka.consumer({ groupId: `${this.o.groupPrefix}-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 250, allowAutoTopicCreation: false });
    this.consumer = consumer;
    consumer.onBatchEnd((batch) => {
      if (batch.topic === keysTopic) this.keysPosition.set(batch.partition, BigInt(batch.lastOffset) + 1n);
    });
    consumer.onCrash((crash) => {
      logConsumerCrash(logger, crash, 'state reader');
      if (!crash.restart) this.crashed = crash.error.message;
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [keysTopic, deliveriesTopic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const serde = batch.topic === keysTopic ? this.o.keySerde : this.o.deliverySerde;
        await serde.prepare(batch.messages.map((m) => m.value));
        for (const message of batch.messages) {
          if (!message.value || message.value.length === 0) continue;
          try {
            if (batch.topic === keysTopic) this.applyKey(this.o.keySerde.decode(message.value));
            else this.applyDelivery(this.o.deliverySerde.decode(message.value));
          } catch (err) {
            if (!(err instanceof SerdeError) || err.canRetry) throw err;
            logger.warn({ topic: batch.topic, partition: batch.partition, offset: message.offset, reason: err.code }, 'record skipped: it cannot be read');
          }
        }
      },
    });
  }

  private applyKey(key: DigestPublicKey) {
    const known = this.keys.get(key.fingerprint);
    if (!known || key.publishedAt >= known.publishedAt) this.keys.set(key.fingerprint, key);
  }

  private applyDelivery(d: Delivery) {
    let a = this.deliveries.get(d.trailName);
    if (!a) this.deliveries.set(d.trailName, (a = {}));
    if (d.kind === 'DIGEST') a.latestDigestDeliveryTime = Math.max(a.latestDigestDeliveryTime ?? 0, d.deliveredAt);
    else if (d.kind === 'LOG') a.latestDeliveryTime = Math.max(a.latestDeliveryTime ?? 0, d.deliveredAt);
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
