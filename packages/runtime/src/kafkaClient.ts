/**
 * The runtime's port to Kafka: the only Kafka types that services, tools, tests and benches see.
 * Which client library implements them is the runtime's business (clients/kafkajs.ts,
 * clients/confluent.ts; the `kafka.client` setting chooses). The shapes
 * are the subset of kafkajs's API the project uses; @confluentinc/kafka-javascript's KafkaJS API
 * has the same shapes, so an adapter for either is thin.
 *
 * Consumers here are for readers outside a service's own group work (tails, collectors in tests,
 * the demo's watch): consuming a service's input with exactly-once commits is StreamProcessor's
 * job, and following a table is CompactedTopicReader's.
 */

/** Header values as a client hands them over: one value, or several for a repeated key. */
export type MessageHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

/** A message to produce. Without a partition, the key decides it (murmur2, as Java clients do). */
export interface ProducedMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  partition?: number;
  headers?: MessageHeaders;
  /** ms since epoch, as a string. */
  timestamp?: string;
}

export interface TopicMessages {
  topic: string;
  messages: ProducedMessage[];
}

export interface RecordMetadata {
  topicName: string;
  partition: number;
  errorCode: number;
  baseOffset?: string;
  offset?: string;
  timestamp?: string;
}

/** -1: all in-sync replicas (the default and the only value the project uses for data). */
export type Acks = -1 | 0 | 1;

export interface ProduceRequest extends TopicMessages {
  acks?: Acks;
  timeout?: number;
}

export interface ProduceBatchRequest {
  topicMessages: TopicMessages[];
  acks?: Acks;
  timeout?: number;
}

export interface PartitionOffset {
  partition: number;
  /** The next offset to read, as a string. */
  offset: string;
}

export interface TopicOffsets {
  topic: string;
  partitions: PartitionOffset[];
}

export interface KafkaTransaction {
  send(request: ProduceRequest): Promise<RecordMetadata[]>;
  sendBatch(request: ProduceBatchRequest): Promise<RecordMetadata[]>;
  sendOffsets(offsets: { consumerGroupId: string; topics: TopicOffsets[] }): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface ProducerOptions {
  /** Exactly once per partition across retries (acks=all, one request in flight). */
  idempotent?: boolean;
  maxInFlightRequests?: number;
  /** Makes the producer transactional (implies idempotent). */
  transactionalId?: string;
  transactionTimeout?: number;
  /** @default true; a writer that must not create a topic by a typo passes false. */
  allowAutoTopicCreation?: boolean;
}

export interface KafkaProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(request: ProduceRequest): Promise<RecordMetadata[]>;
  sendBatch(request: ProduceBatchRequest): Promise<RecordMetadata[]>;
  transaction(): Promise<KafkaTransaction>;
}

/** A partition's offsets: low (log start), high (end: the next offset to be written). */
export interface PartitionWatermarks {
  partition: number;
  offset: string;
  high: string;
  low: string;
}

/** A topic to create; configEntries are topic configs such as cleanup.policy. */
export interface NewTopic {
  topic: string;
  numPartitions?: number;
  replicationFactor?: number;
  configEntries?: { name: string; value: string }[];
}

export interface KafkaAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Does not wait for the partitions' leaders. false: some topics existed already. */
  createTopics(request: { topics: NewTopic[] }): Promise<boolean>;
  fetchTopicOffsets(topic: string): Promise<PartitionWatermarks[]>;
  fetchOffsets(request: { groupId: string; topics: string[] }): Promise<TopicOffsets[]>;
  setOffsets(request: { groupId: string; topic: string; partitions: PartitionOffset[] }): Promise<void>;
  fetchTopicMetadata(request: { topics: string[] }): Promise<{ topics: { name: string; partitions: { partitionId: number; leader: number }[] }[] }>;
  describeCluster(): Promise<{ brokers: { nodeId: number; host: string; port: number }[]; controller: number | null; clusterId: string }>;
  deleteGroups(groupIds: string[]): Promise<unknown>;
  /** type 2: a topic. */
  describeConfigs(request: { resources: { type: number; name: string; configNames?: string[] }[]; includeSynonyms: boolean }): Promise<{
    resources: { resourceName: string; configEntries: { configName: string; configValue: string }[] }[];
  }>;
}

export interface ConsumedMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers?: MessageHeaders;
  offset: string;
  /** ms since epoch, as a string. */
  timestamp: string;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  highWatermark: string;
  messages: ConsumedMessage[];
}

export interface ConsumerOptions {
  groupId: string;
  /** Read records of open and aborted transactions too. @default false: committed only */
  readUncommitted?: boolean;
  maxWaitTimeInMs?: number;
  sessionTimeout?: number;
  rebalanceTimeout?: number;
  heartbeatInterval?: number;
  allowAutoTopicCreation?: boolean;
}

export interface ConsumerRun {
  /** @default true; readers that do not belong to a service's work pass false. */
  autoCommit?: boolean;
  eachMessage?: (payload: { topic: string; partition: number; message: ConsumedMessage }) => Promise<void>;
  eachBatch?: (payload: { batch: ConsumedBatch }) => Promise<void>;
}

export interface KafkaConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(request: { topics: string[]; fromBeginning?: boolean } | { topic: string; fromBeginning?: boolean }): Promise<void>;
  run(run: ConsumerRun): Promise<void>;
  stop(): Promise<void>;
  seek(position: { topic: string; partition: number; offset: string }): void;
  /** Commits the group's next offsets to read (autoCommit false): a running consumer's own commit. */
  commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void>;
  /**
   * The consumer stopped on an error. restart: the client starts it again by itself (a coordinator
   * moving, a leader election); otherwise it stays stopped and needs a person.
   */
  onCrash(listener: (crash: { error: Error; restart: boolean }) => void): void;
  /** A batch of a partition was processed up to lastOffset (also when it held only filtered records). */
  onBatchEnd(listener: (batch: { topic: string; partition: number; lastOffset: string }) => void): void;
}

/** A connection to one Kafka cluster, from which producers, consumers and admins are made. */
export interface KafkaClient {
  producer(options?: ProducerOptions): KafkaProducer;
  consumer(options: ConsumerOptions): KafkaConsumer;
  admin(): KafkaAdmin;
}
