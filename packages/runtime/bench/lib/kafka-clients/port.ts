/**
 * The runtime's own path: the same pipeline written against the runtime's Kafka port
 * (src/kafkaClient.ts) instead of a client's API, on either adapter (kafkajs, confluent). Its
 * figures against the bare client's show what the port costs.
 */
import { connectKafka, type KafkaClientKind } from '../../../src/index.js';
import type { ClientUnderTest, Pipeline, PipelineOptions } from './types.js';

export function portClient(adapter: KafkaClientKind): ClientUnderTest {
  return {
    name: `runtime port on ${adapter}`,
    rebalanceProtocol: adapter === 'kafkajs' ? 'classic, eager (the only one kafkajs has)' : 'classic, cooperative-sticky (incremental)',
    async start(options: PipelineOptions): Promise<Pipeline> {
      const kafka = connectKafka({ client: adapter, clientId: options.clientId, brokers: options.brokers });
      const producer = kafka.producer(
        options.transactionalId
          ? { transactionalId: options.transactionalId, idempotent: true, maxInFlightRequests: 1 }
          : { idempotent: true, maxInFlightRequests: 1 },
      );
      const consumer = kafka.consumer({ groupId: options.groupId });
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topics: [options.input], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          if (batch.messages.length === 0) return;
          const receivedAt = process.hrtime.bigint();
          const messages = batch.messages.map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp }));
          const next = (BigInt(batch.messages.at(-1)!.offset) + 1n).toString();
          if (options.transactionalId) {
            const transaction = await producer.transaction();
            try {
              await transaction.send({ topic: options.output, messages });
              await transaction.sendOffsets({ consumerGroupId: options.groupId, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
              await transaction.commit();
            } catch (error) {
              await transaction.abort().catch(() => undefined);
              throw error;
            }
          } else {
            await producer.send({ topic: options.output, messages, acks: -1 });
            await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
          }
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
