import { Partitioners, type Kafka } from 'kafkajs';
import type {
  AssignmentChange,
  ConsumerOptions,
  GroupConsumer,
  GroupConsumerOptions,
  GroupConsumerRun,
  KafkaAdmin,
  KafkaClient,
  KafkaConsumer,
  KafkaProducer,
  ProducerOptions,
  TopicPartition,
  TopicPartitionOffset,
} from '../kafkaClient.js';

/**
 * The port on kafkajs. Its producers and admins have the port's shapes already; a consumer gets the
 * port's two listeners over kafkajs's instrumentation events; a group consumer is an adapter.
 */
export class KafkajsClient implements KafkaClient {
  constructor(readonly kafkajs: Kafka) {}

  producer(options?: ProducerOptions): KafkaProducer {
    // kafkajs 2's default partitioner is the Java-compatible one (murmur2): named here so that the
    // choice does not depend on kafkajs's defaults.
    return this.kafkajs.producer({ createPartitioner: Partitioners.DefaultPartitioner, ...options });
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

  groupConsumer(options: GroupConsumerOptions): GroupConsumer {
    return new KafkajsGroupConsumer(this.kafkajs, options);
  }
}

/** A group member's session timeout unless given (kafkajs's own default too, named here on purpose). */
const KAFKAJS_SESSION_TIMEOUT_MS = 30_000;

/**
 * GroupConsumer on kafkajs (eager rebalancing only). kafkajs rejoins between fetches, once the
 * in-flight eachBatch calls have settled, and reports the member's whole new assignment (GROUP_JOIN,
 * emitted before the first fetch of the new generation): assigned and revoked are the difference
 * to the previous one.
 */
class KafkajsGroupConsumer implements GroupConsumer {
  private readonly consumer;
  private owned = new Map<string, TopicPartition>();
  private readonly assignmentListeners: ((change: AssignmentChange) => void | Promise<void>)[] = [];

  constructor(kafkajs: Kafka, { groupInstanceId: _static, sessionTimeout, ...options }: GroupConsumerOptions) {
    // kafkajs has no static membership (KIP-345): groupInstanceId is dropped, the member is dynamic.
    // Its heartbeats come from the event loop: see ConsumerOptions.sessionTimeout for the default.
    this.consumer = kafkajs.consumer({ ...options, sessionTimeout: sessionTimeout ?? KAFKAJS_SESSION_TIMEOUT_MS });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => this.onGroupJoin(payload.memberAssignment));
  }

  connect(): Promise<void> {
    return this.consumer.connect();
  }

  subscribe(request: { topics: string[]; fromBeginning?: boolean }): Promise<void> {
    return this.consumer.subscribe(request);
  }

  run(run: GroupConsumerRun): Promise<void> {
    return this.consumer.run({
      autoCommit: false,
      // Resolved when eachBatch returns; a throw leaves the position at the batch's start, from
      // where kafkajs fetches again (or restarts the consumer, which resumes at the committed offset).
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: run.partitionsConsumedConcurrently ?? 1,
      eachBatch: async (payload) => {
        const { batch } = payload;
        // A batch of only transaction markers or aborted records arrives empty: nothing to hand over.
        if (batch.messages.length === 0) return;
        await run.eachBatch({ batch: { topic: batch.topic, partition: batch.partition, highWatermark: batch.highWatermark, messages: batch.messages }, heartbeat: () => payload.heartbeat() });
      },
    });
  }

  commitOffsets(offsets: TopicPartitionOffset[]): Promise<void> {
    return this.consumer.commitOffsets(offsets);
  }

  pause(topics: { topic: string; partitions?: number[] }[]): void {
    this.consumer.pause(topics);
  }

  resume(topics: { topic: string; partitions?: number[] }[]): void {
    this.consumer.resume(topics);
  }

  onAssignment(listener: (change: AssignmentChange) => void | Promise<void>): void {
    this.assignmentListeners.push(listener);
  }

  onCrash(listener: (crash: { error: Error; restart: boolean }) => void): void {
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => listener({ error: payload.error, restart: payload.restart }));
  }

  disconnect(): Promise<void> {
    return this.consumer.disconnect();
  }

  /** One difference per join, shared by every listener. */
  private onGroupJoin(memberAssignment: Record<string, number[]>) {
    const now = new Map<string, TopicPartition>();
    for (const [topic, partitions] of Object.entries(memberAssignment)) {
      for (const partition of partitions) now.set(`${topic}\u0000${partition}`, { topic, partition });
    }
    const change: AssignmentChange = {
      owned: [...now.values()],
      assigned: [...now].filter(([key]) => !this.owned.has(key)).map(([, tp]) => tp),
      revoked: [...this.owned].filter(([key]) => !now.has(key)).map(([, tp]) => tp),
    };
    this.owned = now;
    // kafkajs cannot wait for a listener here: the partitions have moved already (eager protocol).
    for (const listener of this.assignmentListeners) void Promise.resolve(listener(change)).catch(() => undefined);
  }
}
