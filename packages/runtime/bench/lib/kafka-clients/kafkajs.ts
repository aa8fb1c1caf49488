/** kafkajs 2 (the client the runtime uses today): eachBatch, one batch at a time; eager rebalancing only. */
import { Kafka, logLevel } from 'kafkajs';
import type { ClientUnderTest, Pipeline, PipelineOptions } from './types.js';

export const kafkajsClient: ClientUnderTest = {
  name: 'kafkajs',
  rebalanceProtocol: 'classic, eager (the only one kafkajs has)',
  async start(options: PipelineOptions): Promise<Pipeline> {
    const kafka = new Kafka({ clientId: options.clientId, brokers: options.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer(
      options.transactionalId
        ? { transactionalId: options.transactionalId, idempotent: true, maxInFlightRequests: 1 }
        : { idempotent: true, maxInFlightRequests: 1 },
    );
    const consumer = kafka.consumer({ groupId: options.groupId, readUncommitted: false });
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic: options.input, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async (payload) => {
        const { batch } = payload;
        if (batch.messages.length === 0) return;
        const receivedAt = process.hrtime.bigint();
        const messages = batch.messages.map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp }));
        const next = (BigInt(batch.lastOffset()) + 1n).toString();
        const offsets = [{ topic: batch.topic, partition: batch.partition, offset: next }];
        if (options.transactionalId) {
          const transaction = await producer.transaction();
          try {
            await transaction.send({ topic: options.output, messages, acks: -1 });
            await transaction.sendOffsets({ consumerGroupId: options.groupId, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
            await transaction.commit();
          } catch (error) {
            await transaction.abort().catch(() => undefined);
            throw error;
          }
        } else {
          await producer.send({ topic: options.output, messages, acks: -1 });
          await consumer.commitOffsets(offsets);
        }
        payload.resolveOffset(batch.lastOffset());
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
