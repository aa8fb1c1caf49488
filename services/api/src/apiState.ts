import type { KafkaClient } from '@opentrail/runtime';
import type { Logger, ServiceMetrics } from '@opentrail/observability';
import { CompactedTopicReader } from '@opentrail/runtime';
import type { AvroSerde, Delivery, DigestPublicKey } from '@opentrail/serde';
import type { TrailActivity, TrailActivitySource } from './trailOperations.js';

export interface ApiStateOptions {
  kafka: KafkaClient;
  keysTopic: string;
  deliveriesTopic: string;
  keySerde: AvroSerde<DigestPublicKey>;
  deliverySerde: AvroSerde<Delivery>;
  groupPrefix: string;
  logger: Logger;
  /** Counts records read and skipped as unreadable, per topic. */
  metrics?: ServiceMetrics;
  /** Called for each delivery read, in offset order per partition (the console's delivery lag). */
  onDelivery?: (delivery: Delivery) => void;
}

/**
 * What the API knows beyond the configuration, read from Kafka: the public keys the digester
 * published (compacted keys topic, key = fingerprint) and, per trail, the latest log file and
 * digest deliveries (deliveries topic, read once for everything the API derives from it). Each
 * topic is read whole by the runtime's CompactedTopicReader (a consumer group of its own that never
 * commits); the API is ready once it has read the keys topic to the end it had when it started.
 */
export class ApiState implements TrailActivitySource {
  readonly keys = new Map<string, DigestPublicKey>();
  private readonly deliveries = new Map<string, TrailActivity>();
  private readonly keysReader: CompactedTopicReader<DigestPublicKey>;
  private readonly deliveriesReader: CompactedTopicReader<Delivery>;

  constructor(o: ApiStateOptions) {
    const reader = <T>(topic: string, what: string, decoder: AvroSerde<T>, apply: (key: string, value: T | null) => void) =>
      new CompactedTopicReader<T>({ kafka: o.kafka, logger: o.logger, ...(o.metrics ? { metrics: o.metrics } : {}), topic, groupIdPrefix: o.groupPrefix, what, decoder, apply });
    this.keysReader = reader(o.keysTopic, 'the keys topic', o.keySerde, (fingerprint, key) => this.applyKey(fingerprint, key));
    this.deliveriesReader = reader(o.deliveriesTopic, 'the deliveries topic', o.deliverySerde, (_key, delivery) => {
      if (delivery === null) return;
      this.applyDelivery(delivery);
      o.onDelivery?.(delivery);
    });
  }

  /** Ready once the keys are read: delivery times only move timestamps forward as they arrive. */
  get ready(): boolean | string {
    return this.keysReader.ready;
  }

  get healthy(): boolean | string {
    const keys = this.keysReader.healthy;
    return keys === true ? this.deliveriesReader.healthy : keys;
  }

  /** The delivery times read from the deliveries topic (errors and notifications come from the activity topic, wired elsewhere). */
  activity(trailName: string): TrailActivity {
    return this.deliveries.get(trailName) ?? {};
  }

  async start(): Promise<void> {
    await Promise.all([this.keysReader.start(), this.deliveriesReader.start()]);
  }

  private applyKey(fingerprint: string, key: DigestPublicKey | null) {
    // A tombstone withdraws the key (the topic is keyed by fingerprint).
    if (key === null) {
      this.keys.delete(fingerprint);
      return;
    }
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
    await Promise.all([this.keysReader.stop(), this.deliveriesReader.stop()]);
  }
}
