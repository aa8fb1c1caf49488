/** The deliveries topic as a benchmark reads it: every delivery record, read committed, as it is written. */
import { randomBytes } from 'node:crypto';
import type { KafkaClient, KafkaConsumer } from '@opentrail/runtime';
import { serdeFor, type Delivery, type SchemaRegistry } from '@opentrail/serde';

export class DeliveryWatcher {
  private readonly values: Buffer[] = [];
  private stopped: Promise<Delivery[]> | undefined;

  private constructor(
    private readonly consumer: KafkaConsumer,
    private readonly registry: SchemaRegistry,
  ) {}

  static async start(kafka: KafkaClient, registry: SchemaRegistry, topic: string): Promise<DeliveryWatcher> {
    const consumer = kafka.consumer({ groupId: `bench-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const watcher = new DeliveryWatcher(consumer, registry);
    // Only the bytes here: decoding waits for the end, off the measured window.
    await consumer.run({ eachMessage: async ({ message }) => void watcher.values.push(message.value!) });
    return watcher;
  }

  /** Stops reading and returns the delivery records read (the same ones on a second call). */
  stop(): Promise<Delivery[]> {
    return (this.stopped ??= this.decodeAll());
  }

  private async decodeAll(): Promise<Delivery[]> {
    await this.consumer.disconnect();
    const serde = serdeFor(this.registry, 'Delivery');
    await serde.prepare(this.values);
    return this.values.map((v) => serde.decode(v));
  }
}
