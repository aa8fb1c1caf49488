/**
 * @confluentinc/kafka-javascript (librdkafka underneath), through its KafkaJS-compatible API so
 * the pipeline reads like the kafkajs one; consumer with the cooperative-sticky assignor (classic
 * protocol: incremental rebalancing, KIP-429).
 *
 * It is a native module built on demand (src/clients/confluentInstall.ts), so it is not in the
 * lockfile: the runtime's loader finds it, and it is typed here by the little it is asked.
 */
import { loadConfluent } from '../../../src/clients/confluent.js';
import type { ClientUnderTest, Pipeline, PipelineOptions } from './types.js';

interface OutMessage {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
}
interface Batch {
  topic: string;
  partition: number;
  messages: { key: Buffer | null; value: Buffer | null; timestamp: string; offset: string }[];
  lastOffset(): string;
}
interface TopicOffsets {
  topic: string;
  partitions: { partition: number; offset: string }[];
}
interface CkjsConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(options: { topics: string[] }): Promise<void>;
  run(options: { eachBatchAutoResolve: boolean; partitionsConsumedConcurrently: number; eachBatch: (payload: { batch: Batch; resolveOffset: (offset: string) => void }) => Promise<void> }): Promise<void>;
  commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void>;
}
interface CkjsTransaction {
  send(record: { topic: string; messages: OutMessage[] }): Promise<unknown>;
  sendOffsets(options: { consumer: CkjsConsumer; topics: TopicOffsets[] }): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}
interface CkjsProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: { topic: string; messages: OutMessage[] }): Promise<unknown>;
  transaction(): Promise<CkjsTransaction>;
}
interface CkjsKafka {
  producer(config: Record<string, unknown>): CkjsProducer;
  consumer(config: Record<string, unknown>): CkjsConsumer;
}
interface CkjsModule {
  KafkaJS: {
    Kafka: new (config: Record<string, unknown>) => CkjsKafka;
    PartitionAssigners: { cooperativeSticky: unknown };
    logLevel: { NOTHING: number };
  };
}

/** The client, as the runtime loads it (from the on-demand build's cache). */
export function confluentClient(): ClientUnderTest {
  const ckjs = loadConfluent() as unknown as CkjsModule;
  const { Kafka, PartitionAssigners, logLevel } = ckjs.KafkaJS;
  return {
    name: '@confluentinc/kafka-javascript',
    rebalanceProtocol: 'classic, cooperative-sticky (incremental)',
    async start(options: PipelineOptions): Promise<Pipeline> {
      const kafka = new Kafka({ kafkaJS: { clientId: options.clientId, brokers: options.brokers, logLevel: logLevel.NOTHING } });
      const producer = kafka.producer({
        kafkaJS: options.transactionalId
          ? { transactionalId: options.transactionalId, idempotent: true, maxInFlightRequests: 1 }
          : { idempotent: true, acks: -1 },
        // Each batch's sends are awaited before its commit: do not wait for more (MIGRATION.md).
        'linger.ms': 0,
      });
      const consumer = kafka.consumer({
        kafkaJS: { groupId: options.groupId, fromBeginning: true, autoCommit: false, partitionAssigners: [PartitionAssigners.cooperativeSticky] },
        // Batches as large as kafkajs hands over (its default is 32 messages).
        'js.consumer.max.batch.size': 1000,
        'isolation.level': 'read_committed',
      });
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topics: [options.input] });
      await consumer.run({
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch, resolveOffset }) => {
          if (batch.messages.length === 0) return;
          const receivedAt = process.hrtime.bigint();
          const messages = batch.messages.map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp }));
          const next = (BigInt(batch.lastOffset()) + 1n).toString();
          if (options.transactionalId) {
            const transaction = await producer.transaction();
            try {
              await transaction.send({ topic: options.output, messages });
              await transaction.sendOffsets({ consumer, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
              await transaction.commit();
            } catch (error) {
              await transaction.abort().catch(() => undefined);
              throw error;
            }
          } else {
            await producer.send({ topic: options.output, messages });
            await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
          }
          resolveOffset(batch.lastOffset());
          options.onBatchDone(messages.length, receivedAt);
        },
      });
      return {
        async stop() {
          await consumer.disconnect();
          await producer.disconnect();
        },
      };
    },
  };
}
