/**
 * The runtime's port to Kafka: the only Kafka types that services, tools, tests and benches see.
 * Which client library implements them is the runtime's business (clients/kafkajs.ts,
 * clients/confluent.ts; the `kafka.client` setting chooses). The shapes
 * are the subset of kafkajs's API the project uses; @confluentinc/kafka-javascript's KafkaJS API
 * has the same shapes, so an adapter for either is thin.
 *
 * KafkaConsumer is for readers outside a service's own group work (tails, collectors in tests,
 * the demo's watch). Consuming a service's input with exactly-once commits is StreamProcessor's
 * job, on a GroupConsumer (below) and transactional producers; following a table is
 * CompactedTopicReader's.
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
  /**
   * How long the group waits for a silent member before its partitions move. @default 6000 on
   * confluent (librdkafka heartbeats from a thread of its own), 30000 on kafkajs (it heartbeats from
   * the event loop: with 6000, members of a busy archiver were evicted and the group rebalanced for
   * minutes; bench/recovery.bench.ts)
   */
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
  /**
   * Commits the group's next offsets to read (autoCommit false): a running consumer's own commit.
   * Unlike GroupConsumer's, it may reach the coordinator a moment after it resolves (librdkafka).
   */
  commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void>;
  /**
   * The consumer stopped on an error. restart: the client starts it again by itself (a coordinator
   * moving, a leader election); otherwise it stays stopped and needs a person.
   */
  onCrash(listener: (crash: { error: Error; restart: boolean }) => void): void;
  /** A batch of a partition was processed up to lastOffset (also when it held only filtered records). */
  onBatchEnd(listener: (batch: { topic: string; partition: number; lastOffset: string }) => void): void;
}

/** A partition of a topic. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/** The next offset to read in a partition: what a commit stores. */
export interface TopicPartitionOffset extends TopicPartition {
  /** The next offset to read, as a string. */
  offset: string;
}

export interface GroupConsumerOptions extends ConsumerOptions {
  /**
   * Static membership (KIP-345, group.instance.id): a stable name of this instance, e.g. a
   * StatefulSet's pod name, unique in the group. An instance that comes back under it within the
   * session timeout gets its partitions back without a rebalance; but a static member does not
   * leave the group when it stops, so its partitions wait for the session timeout even after a
   * clean stop. Only the confluent client has it: kafkajs ignores it. @default dynamic membership
   */
  groupInstanceId?: string;
  /** Bytes fetched per partition per request at most. */
  maxBytesPerPartition?: number;
  /** Bytes fetched per request at most, over all partitions. */
  maxBytes?: number;
}

/** One fetched batch of one partition, in offset order; never empty. */
export interface GroupBatch {
  topic: string;
  partition: number;
  /** The partition's end when fetched (the next offset to be written). */
  highWatermark: string;
  messages: ConsumedMessage[];
}

export interface GroupBatchPayload {
  batch: GroupBatch;
  /** Tells the coordinator this member is alive, during long work on one batch. */
  heartbeat(): Promise<void>;
}

/**
 * The member's partitions after a rebalance. Emitted each time the member has (re)joined the group,
 * also when nothing changed (it says "a member now"). A partition kept across the rebalance is in
 * neither list; with an eager protocol its fetch restarts from the committed offset, so the caller
 * must be ready to be handed offsets it has already seen.
 */
export interface AssignmentChange {
  /** Every partition the member owns now. */
  owned: TopicPartition[];
  /** Owned now and not before: their batches may follow at once. */
  assigned: TopicPartition[];
  /** Owned before and not now: another member may own them already. */
  revoked: TopicPartition[];
}

export interface GroupConsumerRun {
  /** Batches of different partitions handed over at once at most. @default 1 */
  partitionsConsumedConcurrently?: number;
  /**
   * Called per fetched batch. Calls for one partition never overlap and come in offset order: the
   * partition is not fetched again until the call settles, which is the backpressure. When the
   * promise resolves, the consumer moves past the batch's last offset (this does not commit it).
   * When it rejects, the consumer delivers the partition again, after a backoff, from an offset no
   * later than the batch's first (it may restart itself to do so; see onCrash): a batch is never
   * skipped, and the caller must be ready to be handed offsets again.
   */
  eachBatch(payload: GroupBatchPayload): Promise<void>;
}

/**
 * A member of a consumer group, with offsets committed by its user, never automatically: what
 * StreamProcessor runs on. The shapes follow kafkajs's consumer (eachBatch, commitOffsets, pause),
 * which @confluentinc/kafka-javascript's KafkaJS API shares, so that either client implements it
 * with a thin adapter. What an implementation must guarantee:
 * - Reads committed records only (read_committed), from the group's committed offset, or from the
 *   partition's start when the group has none.
 * - commitOffsets resolves once the group coordinator has stored the offsets (durable: a member
 *   that owns the partition next starts there), and rejects when it did not, e.g. because this
 *   member no longer owns the partition in the group's current generation. It never commits on its
 *   own (no autocommit, not on revoke, not on disconnect).
 * - onAssignment listeners run on every (re)join, before any batch of a newly assigned partition
 *   is handed over. Revoked partitions may already belong to another member when the listener
 *   runs (eager protocol: after the rejoin): their user must not commit for them any more. If the
 *   client calls back before giving partitions up (cooperative protocol), the adapter awaits the
 *   listener's promise first, so the user can finish and release them before the next owner reads.
 * - pause stops handing over batches of those partitions (an in-flight call still settles);
 *   resume hands them over again, from where the consumer stood.
 * - onCrash: the consumer stopped on an error; restart says whether the client starts it again by
 *   itself (it then rejoins and re-delivers from committed offsets).
 * - disconnect leaves the group at once (its partitions move without waiting for the session
 *   timeout), after the in-flight calls settle.
 */
export interface GroupConsumer {
  connect(): Promise<void>;
  subscribe(request: { topics: string[]; fromBeginning?: boolean }): Promise<void>;
  run(run: GroupConsumerRun): Promise<void>;
  commitOffsets(offsets: TopicPartitionOffset[]): Promise<void>;
  /** Without partitions: every partition of the topic. */
  pause(topics: { topic: string; partitions?: number[] }[]): void;
  resume(topics: { topic: string; partitions?: number[] }[]): void;
  onAssignment(listener: (change: AssignmentChange) => void | Promise<void>): void;
  onCrash(listener: (crash: { error: Error; restart: boolean }) => void): void;
  disconnect(): Promise<void>;
}

/**
 * A connection to one Kafka cluster, from which producers, consumers and admins are made. A
 * transactional producer (ProducerOptions.transactionalId) is the other half of exactly-once: its
 * transaction() sends outputs and, with sendOffsets, the input offsets; commit() makes both visible
 * (to read_committed readers, and as the group's committed offsets) at once, abort() neither. Each
 * method resolves once the broker has answered: after commit() resolves the transaction is durable.
 * Connecting a transactional producer fences every earlier producer with the same transactional.id:
 * their later sends, sendOffsets and commits fail.
 */
export interface KafkaClient {
  producer(options?: ProducerOptions): KafkaProducer;
  consumer(options: ConsumerOptions): KafkaConsumer;
  /** A consumer-group member for exactly-once processing (see GroupConsumer). */
  groupConsumer(options: GroupConsumerOptions): GroupConsumer;
  admin(): KafkaAdmin;
}
