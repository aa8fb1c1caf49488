import type { Kafka } from 'kafkajs';
import type { ConsumerOptions, KafkaAdmin, KafkaClient, KafkaConsumer, KafkaProducer, ProducerOptions } from '../kafkaClient.js';

/**
 * The port on kafkajs. Its producers and admins have the port's shapes already; a consumer gets the
 * port's two listeners over kafkajs's instrumentation events.
 */
export class KafkajsClient implements KafkaClient {
  constructor(readonly kafkajs: Kafka) {}

  producer(options?: ProducerOptions): KafkaProducer {
    return this.kafkajs.producer(options);
  }

  admin(): KafkaAdmin {
    const admin = this.kafkajs.admin();
    const createTopics = admin.createTopics.bind(admin);
    // kafkajs waits for leaders by default and retries only LEADER_NOT_AVAILABLE: the port does not wait.
    return Object.assign(admin, { createTopics: (request: Parameters<KafkaAdmin['createTopics']>[0]) => createTopics({ ...request, waitForLeaders: false }) });
  }

  consumer(options: ConsumerOptions): KafkaConsumer {
    const consumer = this.kafkajs.consumer(options);
    return Object.assign(consumer, {
      onCrash(listener: (crash: { error: Error; restart: boolean }) => void) {
        consumer.on(consumer.events.CRASH, ({ payload }) => listener({ error: payload.error, restart: payload.restart }));
      },
      onBatchEnd(listener: (batch: { topic: string; partition: number; lastOffset: string }) => void) {
        consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => listener({ topic: payload.topic, partition: payload.partition, lastOffset: payload.lastOffset }));
      },
    });
  }
}
