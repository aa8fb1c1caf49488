/**
 * The port on @confluentinc/kafka-javascript (librdkafka), through its KafkaJS-compatible API.
 * Chosen for its transactions and cooperative rebalancing (docs/kafka-clients.md); consumers here
 * join their groups with the cooperative-sticky assignor (KIP-429: a rebalance moves only the
 * partitions that change owner).
 *
 * Where the two APIs differ, this adapter gives the port kafkajs's meaning:
 * - A librdkafka consumer takes fromBeginning and autoCommit at construction, the port at
 *   subscribe() and run(): the library's consumer is made, connected and subscribed in run().
 * - A transaction's sendOffsets needs a consumer of the group (its group metadata), the port names
 *   the group: the client's running consumer of that group, else an idle member made for it.
 * - Per-request acks and timeouts are producer settings in librdkafka: requests' are dropped
 *   (every producer here waits for all in-sync replicas, the only value the project uses).
 * - The binding has no group offset alteration, no DescribeConfigs and no DescribeCluster:
 *   setOffsets commits through a consumer of the (empty) group, as kafkajs's setOffsets requires;
 *   describeConfigs and describeCluster, used by tools and tests only, go through kafkajs.
 *
 * The package is a native module built on demand (confluentInstall.ts); it is typed here by the
 * little that is asked of it, so the runtime typechecks where it is not built.
 */
import { OpentrailError } from '@opentrail/errors';
import { createRequire } from 'node:module';
import type { Logger } from '@opentrail/observability';
import type {
  AssignmentChange,
  ConsumedBatch,
  ConsumedMessage,
  ConsumerOptions,
  ConsumerRun,
  GroupConsumer,
  GroupConsumerOptions,
  GroupConsumerRun,
  KafkaAdmin,
  KafkaClient,
  KafkaConsumer,
  KafkaProducer,
  KafkaTransaction,
  PartitionOffset,
  ProduceBatchRequest,
  ProducerOptions,
  ProduceRequest,
  TopicMessages,
  TopicOffsets,
  TopicPartition,
  TopicPartitionOffset,
} from '../kafkaClient.js';
import type { KafkaConnectionOptions } from '../kafka.js';
import { transientConditionOfMessage } from '../transient.js';
import { confluentBuilt, confluentCacheDir, CONFLUENT_PACKAGE, CONFLUENT_VERSION } from './confluentInstall.js';

/** A group member's session timeout unless given: the broker's minimum (group.min.session.timeout.ms). */
const CONFLUENT_SESSION_TIMEOUT_MS = 6000;

// ---- The subset of the library's KafkaJS API used here -------------------------------------

type Settings = Record<string, unknown>;
interface CkjsLogger {
  info(message: string, extra?: object): void;
  error(message: string, extra?: object): void;
  warn(message: string, extra?: object): void;
  debug(message: string, extra?: object): void;
  namespace(namespace: string, level?: number): CkjsLogger;
  setLogLevel(level: number): void;
}
interface CkjsBatch extends ConsumedBatch {
  lastOffset(): string;
}
/** The node-rdkafka consumer under the KafkaJS API: only what the end-of-partition report needs. */
interface RdKafkaConsumer {
  consume(size: number, callback: (err: unknown, messages: { topic: string; partition: number }[] | undefined) => void): void;
  assignments(): TopicPartition[];
  position(partitions: TopicPartition[]): { topic: string; partition: number; offset?: number }[];
}
interface CkjsConsumer {
  /** The library marks it internal; used for librdkafka's position() only (see PartitionEnds). */
  _getInternalClient?(): RdKafkaConsumer | null;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(request: { topics: string[] }): Promise<void>;
  run(run: {
    partitionsConsumedConcurrently?: number;
    eachMessage?: (payload: { topic: string; partition: number; message: ConsumedMessage }) => Promise<void>;
    eachBatch?: (payload: { batch: CkjsBatch; heartbeat(): Promise<void> }) => Promise<void>;
  }): Promise<void>;
  seek(position: { topic: string; partition: number; offset: string }): void;
  commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void>;
  pause(topics: { topic: string; partitions?: number[] }[]): void;
  resume(topics: { topic: string; partitions?: number[] }[]): void;
}
/** librdkafka's codes in a rebalance callback (rdkafka.h RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS). */
const ASSIGN_PARTITIONS = -175;
type CkjsProducer = Omit<KafkaProducer, 'transaction'> & {
  transaction(): Promise<CkjsProducer>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  sendOffsets(request: { consumer: CkjsConsumer; topics: TopicOffsets[] }): Promise<void>;
};
interface CkjsAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  listTopics(): Promise<string[]>;
  createTopics(request: { topics: { topic: string; numPartitions?: number; replicationFactor?: number; configEntries?: { name: string; value: string }[] }[] }): Promise<boolean>;
  fetchTopicOffsets(topic: string): Promise<{ partition: number; offset: string; high: string; low: string }[]>;
  fetchOffsets(request: { groupId: string; topics: string[] }): Promise<{ topic: string; partitions: PartitionOffset[] }[]>;
  fetchTopicMetadata(request: { topics: string[] }): Promise<{ name: string; partitions: { partitionId: number; leader: number }[] }[]>;
  deleteGroups(groupIds: string[]): Promise<unknown>;
}
interface CkjsKafka {
  producer(settings: Settings): CkjsProducer;
  consumer(settings: Settings): CkjsConsumer;
  admin(settings?: Settings): CkjsAdmin;
}
export interface ConfluentModule {
  KafkaJS: {
    Kafka: new (settings: Settings) => CkjsKafka;
    PartitionAssigners: { cooperativeSticky: string };
    logLevel: { NOTHING: number; ERROR: number; WARN: number; INFO: number; DEBUG: number };
  };
}

// ---- Loading ------------------------------------------------------------------------------

/** The configured client's library cannot be loaded: the start fails with this, naming the fix. */
export class KafkaClientUnavailableError extends OpentrailError<'KAFKA_CLIENT_UNAVAILABLE'> {
  constructor(message: string) {
    super('KAFKA_CLIENT_UNAVAILABLE', message);
  }
}

/**
 * The library: from the project's own node_modules where someone installed it there, else from the
 * on-demand build's cache. Absent from both, a KafkaClientUnavailableError that says how to build it.
 */
export function loadConfluent(): ConfluentModule {
  const tried: string[] = [];
  for (const base of [import.meta.url, `${confluentCacheDir()}/package.json`]) {
    try {
      return createRequire(base)(CONFLUENT_PACKAGE) as ConfluentModule;
    } catch (error) {
      tried.push(`${base}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  const built = confluentBuilt() ? 'built but not loadable' : 'not built';
  throw new KafkaClientUnavailableError(
    `kafka.client is "confluent" but ${CONFLUENT_PACKAGE}@${CONFLUENT_VERSION} is ${built} on this machine ` +
      `(it is a native module, built once into ${confluentCacheDir()}: run \`node packages/runtime/src/clients/confluentInstall.ts\`, ` +
      `or choose kafka.client "kafkajs" / OPENTRAIL_KAFKA_CLIENT=kafkajs). Tried: ${tried.join('; ')}`,
  );
}

/** Whether the library loads here (the demo runs on kafkajs where it does not). */
export function confluentLoadable(): boolean {
  try {
    loadConfluent();
    return true;
  } catch {
    return false;
  }
}

// ---- The client ---------------------------------------------------------------------------

/** How to reach the cluster, in the library's terms already (PEM strings, not files). */
export type ConfluentConnection = Omit<KafkaConnectionOptions, 'client'> & {
  /** Called for each warning or error the library reports about a condition it retries itself. */
  onTransient?: (condition: string) => void;
};

/** librdkafka's own properties for TLS with PEM material (the KafkaJS block only takes a boolean). */
/** The library tests its KafkaJS options with Object.hasOwn: an option set to undefined counts as given. */
function given(options: Settings): Settings {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

function tlsProperties(ssl: ConfluentConnection['ssl']): Settings {
  if (typeof ssl !== 'object') return {};
  return {
    ...(ssl.ca ? { 'ssl.ca.pem': ssl.ca.join('\n') } : {}),
    ...(ssl.cert ? { 'ssl.certificate.pem': ssl.cert } : {}),
    ...(ssl.key ? { 'ssl.key.pem': ssl.key } : {}),
    'enable.ssl.certificate.verification': ssl.rejectUnauthorized !== false,
  };
}

/**
 * The library's log lines as JSON lines. librdkafka reports at error level what it retries by
 * itself (a refused connection while a broker starts, a coordinator moving); those go out at info
 * level and are counted, as kafkaLogCreator does for kafkajs. So do the failures it also hands to
 * the caller, who decides (see handedToCaller).
 */
function logBridge(logger: Logger, onTransient: ((condition: string) => void) | undefined, namespace = 'confluent'): CkjsLogger {
  const line = (level: 'error' | 'warn' | 'info' | 'debug') => (message: string, extra?: object) => {
    if (level === 'error' || level === 'warn') {
      const condition = transientConditionOfMessage(message);
      if (condition !== undefined) {
        onTransient?.(condition);
        logger.info({ kafkaClient: namespace, transient: condition, ...extra }, message);
        return;
      }
      if (handedToCaller(message)) {
        logger.info({ kafkaClient: namespace, ...extra }, message);
        return;
      }
    }
    logger[level]({ kafkaClient: namespace, ...extra }, message);
  };
  return {
    error: line('error'),
    warn: line('warn'),
    info: line('info'),
    debug: line('debug'),
    namespace: (name) => logBridge(logger, onTransient, `${namespace}.${name}`),
    setLogLevel: () => undefined,
  };
}

/**
 * Lines about a failure the caller also gets, as a rejected transaction call or as the error its own
 * eachBatch threw: a transaction fenced or aborted because its partition moved to another member
 * (the processor leaves it to the new owner), a batch the processor failed and has logged. Logged
 * at error level they page an operator for what the runtime handles (issue 17).
 */
function handedToCaller(message: string): boolean {
  return (
    message.startsWith('Consumer encountered error while processing message') ||
    message.includes('Fatal transaction error') ||
    message.includes('Current transaction failed') ||
    message.includes('TxnCoordinator') ||
    message.includes('has been fenced by a newer instance')
  );
}

/**
 * What every consumer here fetches and hands over. kafkajs hands over what one fetch brought (up to
 * 1 MB a partition); the library's default batch is 32 messages, hence js.consumer.max.batch.size.
 *
 * How much librdkafka fetches ahead of the handlers. Its defaults (100,000 messages or 64 MiB,
 * per partition queue, which is what the KafkaJS layer consumes from) let an enricher with 8
 * partitions grow to 785 MiB under load, past the 768Mi its Deployment allows, where kafkajs peaked
 * at 511 MiB (bench/replicas.bench.ts). 8 MiB a partition is still seconds of input at the rates
 * one instance carries, and what is not prefetched is fetched again after fetch.queue.backoff.ms.
 */
const CONSUMER_FETCH = { 'js.consumer.max.batch.size': 1000, 'queued.max.messages.kbytes': 8192, 'queued.min.messages': 10_000 } as const;

export class ConfluentClient implements KafkaClient {
  private readonly kafka: CkjsKafka;
  /** A running consumer per group: a transaction's sendOffsets takes its group metadata. */
  private readonly groupMembers = new Map<string, CkjsConsumer>();

  /** @param delegateAdmin the admin for the calls the binding lacks (describeConfigs, describeCluster) */
  constructor(
    private readonly ckjs: ConfluentModule,
    connection: ConfluentConnection,
    private readonly delegateAdmin: () => Pick<KafkaAdmin, 'connect' | 'disconnect' | 'describeConfigs' | 'describeCluster'>,
  ) {
    const { logLevel } = ckjs.KafkaJS;
    this.kafka = new ckjs.KafkaJS.Kafka({
      kafkaJS: given({
        brokers: connection.brokers,
        clientId: connection.clientId,
        ssl: connection.ssl !== undefined && connection.ssl !== false,
        sasl: connection.sasl,
        connectionTimeout: connection.connectionTimeout,
        requestTimeout: connection.requestTimeout,
        ...(connection.retries === undefined ? {} : { retry: { retries: connection.retries } }),
        logLevel: connection.logger ? logLevel.WARN : logLevel.NOTHING,
        ...(connection.logger ? { logger: logBridge(connection.logger, connection.onTransient) } : {}),
      }),
      ...tlsProperties(connection.ssl),
    });
  }

  producer(options: ProducerOptions = {}): KafkaProducer {
    const producer = this.kafka.producer({
      kafkaJS: given({
        idempotent: options.idempotent ?? options.transactionalId !== undefined,
        maxInFlightRequests: options.maxInFlightRequests,
        transactionalId: options.transactionalId,
        transactionTimeout: options.transactionTimeout,
        allowAutoTopicCreation: options.allowAutoTopicCreation ?? true,
        acks: -1,
      }),
      // The runtime awaits a batch's sends before it commits: waiting for more messages only adds
      // latency (kafkajs sends at once too). One send's messages still go out together.
      'linger.ms': 0,
    });
    const idleMembers: CkjsConsumer[] = [];
    const memberOf = async (groupId: string): Promise<CkjsConsumer> => {
      const running = this.groupMembers.get(groupId);
      if (running) return running;
      // Not subscribed: it never joins, it only carries the group id (as kafkajs's sendOffsets does).
      const idle = this.kafka.consumer({ kafkaJS: { groupId, autoCommit: false } });
      await idle.connect();
      idleMembers.push(idle);
      this.groupMembers.set(groupId, idle);
      return idle;
    };
    const send = (request: ProduceRequest) => producer.send({ topic: request.topic, messages: request.messages });
    const sendBatch = (request: ProduceBatchRequest) =>
      producer.sendBatch({ topicMessages: request.topicMessages.map((t: TopicMessages) => ({ topic: t.topic, messages: t.messages })) });
    return {
      connect: () => producer.connect(),
      async disconnect() {
        await producer.disconnect();
        await Promise.all(idleMembers.splice(0).map((member) => member.disconnect()));
      },
      send,
      sendBatch,
      async transaction(): Promise<KafkaTransaction> {
        // The library's transaction is its producer, one open at a time (as kafkajs's).
        const transaction = await producer.transaction();
        return {
          send,
          sendBatch,
          sendOffsets: async ({ consumerGroupId, topics }) => transaction.sendOffsets({ consumer: await memberOf(consumerGroupId), topics }),
          commit: () => transaction.commit(),
          abort: () => transaction.abort(),
        };
      },
    };
  }

  consumer(options: ConsumerOptions): KafkaConsumer {
    return new ConfluentConsumer(this.kafka, this.ckjs, options, this.groupMembers);
  }

  groupConsumer(options: GroupConsumerOptions): GroupConsumer {
    return new ConfluentGroupConsumer(this.kafka, this.ckjs, options, this.groupMembers);
  }

  admin(): KafkaAdmin {
    const admin = this.kafka.admin();
    const kafka = this.kafka;
    let delegate: ReturnType<ConfluentClient['delegateAdmin']> | undefined;
    const delegated = async () => {
      if (!delegate) {
        delegate = this.delegateAdmin();
        await delegate.connect();
      }
      return delegate;
    };
    return {
      connect: () => admin.connect(),
      async disconnect() {
        await admin.disconnect();
        await delegate?.disconnect();
      },
      listTopics: () => admin.listTopics(),
      createTopics: (request) => admin.createTopics(request),
      fetchTopicOffsets: (topic) => admin.fetchTopicOffsets(topic),
      async fetchOffsets(request) {
        const found = await admin.fetchOffsets(request);
        return found.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => ({ partition: p.partition, offset: p.offset })) }));
      },
      async setOffsets({ groupId, topic, partitions }) {
        // A commit by a member that never joins: the broker takes it while the group is empty.
        const member = kafka.consumer({ kafkaJS: { groupId, autoCommit: false } });
        await member.connect();
        try {
          await member.commitOffsets(partitions.map((p) => ({ topic, partition: p.partition, offset: p.offset })));
        } finally {
          await member.disconnect();
        }
      },
      async fetchTopicMetadata(request) {
        const topics = await admin.fetchTopicMetadata(request);
        return { topics: topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionId: p.partitionId, leader: p.leader })) })) };
      },
      deleteGroups: (groupIds) => admin.deleteGroups(groupIds),
      describeCluster: async () => (await delegated()).describeCluster(),
      describeConfigs: async (request) => (await delegated()).describeConfigs(request),
    };
  }
}

type CrashListener = (crash: { error: Error; restart: boolean }) => void;
type BatchEndListener = (batch: { topic: string; partition: number; lastOffset: string }) => void;

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * onBatchEnd for what JavaScript never sees. librdkafka drops transaction markers (and, reading
 * committed, aborted records) before the library hands anything over, so a partition whose last
 * records are those gets no batch for them, and a reader waiting for the partition's end offset
 * (the compacted reader catching up) would wait for ever; kafkajs reports such batches itself.
 * librdkafka's position() (the next offset for the application) does move past them as they are
 * polled. The library polls (consume()) only once its message cache is empty and no partition is
 * being handed over (lib/kafkajs/_consumer.js #fetchAndResolveWith), so after a poll every record
 * before a partition's position has been handed over, except what that poll brought: a partition
 * it brought nothing for has been read up to its position, once its running batch has settled.
 */
class PartitionEnds {
  /** Batches being handled, per partition. */
  private readonly running = new Map<string, number>();
  /** Next offsets learnt from a poll while a batch of the partition ran: reported when it settles. */
  private readonly pending = new Map<string, number>();
  /** The next offset already reported per partition: only later ones are. */
  private readonly reported = new Map<string, number>();
  /**
   * Partitions whose last batch failed: the library seeks back, and until the seek is applied the
   * position is the old one, beyond what was handled; no position counts until a batch succeeds.
   */
  private readonly failed = new Set<string>();

  constructor(private readonly report: (topic: string, partition: number, lastOffset: string) => void) {}

  /** Hooks the library's polls of its librdkafka consumer (made by its connect()). */
  watch(consumer: CkjsConsumer): void {
    const internal = consumer._getInternalClient?.();
    if (!internal) return;
    const consume = internal.consume.bind(internal);
    internal.consume = (size, callback) =>
      consume(size, (err, messages) => {
        if (!err) this.polled(internal, messages ?? []);
        callback(err, messages);
      });
  }

  batchStarted(topic: string, partition: number): void {
    const key = partitionKey(topic, partition);
    this.running.set(key, (this.running.get(key) ?? 0) + 1);
  }

  /** After the batch's own onBatchEnd (succeeded) or crash (not). */
  batchSettled(topic: string, partition: number, succeeded: boolean, lastOffset: string): void {
    const key = partitionKey(topic, partition);
    const running = (this.running.get(key) ?? 1) - 1;
    if (running > 0) this.running.set(key, running);
    else this.running.delete(key);
    if (!succeeded) {
      this.failed.add(key);
      this.pending.delete(key);
      return;
    }
    this.failed.delete(key);
    this.reported.set(key, Math.max(this.reported.get(key) ?? 0, Number(lastOffset) + 1));
    const next = this.pending.get(key);
    if (next !== undefined && running === 0) {
      this.pending.delete(key);
      this.reportUpTo(topic, partition, next);
    }
  }

  private polled(internal: RdKafkaConsumer, messages: { topic: string; partition: number }[]): void {
    const brought = new Set(messages.map((m) => partitionKey(m.topic, m.partition)));
    let positions: { topic: string; partition: number; offset?: number }[];
    try {
      positions = internal.position(internal.assignments());
    } catch {
      return; // not assigned (any more): nothing to report
    }
    for (const { topic, partition, offset } of positions) {
      const key = partitionKey(topic, partition);
      // No offset (the binding leaves it out) or a negative one: nothing polled since the (re)assignment or a seek.
      if (offset === undefined || !Number.isSafeInteger(offset) || offset < 0 || brought.has(key) || this.failed.has(key)) continue;
      if (this.running.has(key)) this.pending.set(key, Math.max(this.pending.get(key) ?? 0, offset));
      else this.reportUpTo(topic, partition, offset);
    }
  }

  private reportUpTo(topic: string, partition: number, next: number): void {
    const key = partitionKey(topic, partition);
    if (next <= (this.reported.get(key) ?? 0)) return;
    this.reported.set(key, next);
    this.report(topic, partition, String(next - 1));
  }
}

/**
 * A consumer with kafkajs's life cycle on the library's: the library's consumer exists from run()
 * to stop() or disconnect(); subscriptions and seeks made before run() are applied then.
 */
class ConfluentConsumer implements KafkaConsumer {
  private running: CkjsConsumer | undefined;
  private readonly topics: string[] = [];
  private fromBeginning = false;
  private readonly pendingSeeks: { topic: string; partition: number; offset: string }[] = [];
  private readonly crashListeners: CrashListener[] = [];
  private readonly batchEndListeners: BatchEndListener[] = [];

  constructor(
    private readonly kafka: CkjsKafka,
    private readonly ckjs: ConfluentModule,
    private readonly options: ConsumerOptions,
    private readonly groupMembers: Map<string, CkjsConsumer>,
  ) {}

  async connect(): Promise<void> {}

  async subscribe(request: { topics: string[]; fromBeginning?: boolean } | { topic: string; fromBeginning?: boolean }): Promise<void> {
    this.topics.push(...('topics' in request ? request.topics : [request.topic]));
    this.fromBeginning = request.fromBeginning ?? this.fromBeginning;
    if (this.running) await this.running.subscribe({ topics: this.topics });
  }

  async run(run: ConsumerRun): Promise<void> {
    if (this.running) throw new Error('the consumer is running already');
    const { groupId, readUncommitted, maxWaitTimeInMs, sessionTimeout, rebalanceTimeout, heartbeatInterval, allowAutoTopicCreation } = this.options;
    const consumer = this.kafka.consumer({
      kafkaJS: given({
        groupId,
        readUncommitted: readUncommitted ?? false,
        maxWaitTimeInMs,
        sessionTimeout,
        rebalanceTimeout,
        heartbeatInterval,
        allowAutoTopicCreation,
        fromBeginning: this.fromBeginning,
        autoCommit: run.autoCommit ?? true,
        partitionAssigners: [this.ckjs.KafkaJS.PartitionAssigners.cooperativeSticky],
      }),
      ...CONSUMER_FETCH,
    });
    await consumer.connect();
    this.running = consumer;
    const ends = new PartitionEnds((topic, partition, lastOffset) => this.ended(topic, partition, lastOffset));
    ends.watch(consumer);
    if (this.topics.length > 0) await consumer.subscribe({ topics: this.topics });
    // A seek to a partition not assigned yet is kept by the library until it is.
    for (const seek of this.pendingSeeks.splice(0)) consumer.seek(seek);
    if (!this.groupMembers.has(groupId)) this.groupMembers.set(groupId, consumer);
    await consumer.run(this.wrap(run, ends));
  }

  private ended(topic: string, partition: number, lastOffset: string): void {
    for (const listener of this.batchEndListeners) listener({ topic, partition, lastOffset });
  }

  /** The port's listeners over the handlers: the library has no instrumentation events. */
  private wrap(run: ConsumerRun, ends: PartitionEnds): Parameters<CkjsConsumer['run']>[0] {
    // A handler's error makes the library seek back and hand the same messages again: kafkajs's
    // restart after a crash, so listeners hear restart: true.
    const handled = async (topic: string, partition: number, lastOffset: string, handler: () => Promise<void>) => {
      ends.batchStarted(topic, partition);
      try {
        await handler();
      } catch (error) {
        ends.batchSettled(topic, partition, false, lastOffset);
        const crash = { error: error instanceof Error ? error : new Error(String(error)), restart: true };
        for (const listener of this.crashListeners) listener(crash);
        throw error;
      }
      this.ended(topic, partition, lastOffset);
      ends.batchSettled(topic, partition, true, lastOffset);
    };
    const { eachBatch, eachMessage } = run;
    if (eachBatch) {
      return { eachBatch: ({ batch }) => handled(batch.topic, batch.partition, batch.lastOffset(), () => eachBatch({ batch })) };
    }
    if (eachMessage) {
      return { eachMessage: (payload) => handled(payload.topic, payload.partition, payload.message.offset, () => eachMessage(payload)) };
    }
    throw new Error('run needs eachBatch or eachMessage');
  }

  seek(position: { topic: string; partition: number; offset: string }): void {
    if (this.running) this.running.seek(position);
    else this.pendingSeeks.push(position);
  }

  async commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void> {
    if (!this.running) throw new Error('commitOffsets needs a running consumer (after run())');
    await this.running.commitOffsets(offsets);
  }

  /** The library cannot stop a consumer and run it again: stop leaves the group; run() joins anew. */
  async stop(): Promise<void> {
    const consumer = this.running;
    if (!consumer) return;
    this.running = undefined;
    if (this.groupMembers.get(this.options.groupId) === consumer) this.groupMembers.delete(this.options.groupId);
    await consumer.disconnect();
  }

  disconnect(): Promise<void> {
    return this.stop();
  }

  onCrash(listener: CrashListener): void {
    this.crashListeners.push(listener);
  }

  onBatchEnd(listener: BatchEndListener): void {
    this.batchEndListeners.push(listener);
  }
}

/**
 * GroupConsumer on the library, cooperative-sticky: librdkafka calls back per incremental change
 * (partitions added, partitions revoked) and waits for the callback before it fetches the added
 * ones or gives the revoked ones up, so onAssignment listeners run, and are awaited, in between.
 * Offsets are committed by the user only (enable.auto.commit false), read_committed.
 */
class ConfluentGroupConsumer implements GroupConsumer {
  private readonly consumer: CkjsConsumer;
  private owned = new Map<string, TopicPartition>();
  private readonly assignmentListeners: ((change: AssignmentChange) => void | Promise<void>)[] = [];
  private readonly crashListeners: CrashListener[] = [];

  constructor(
    kafka: CkjsKafka,
    ckjs: ConfluentModule,
    private readonly options: GroupConsumerOptions,
    private readonly groupMembers: Map<string, CkjsConsumer>,
  ) {
    const { groupId, groupInstanceId, maxWaitTimeInMs, sessionTimeout, rebalanceTimeout, heartbeatInterval, allowAutoTopicCreation, maxBytesPerPartition, maxBytes } = options;
    this.consumer = kafka.consumer({
      kafkaJS: given({
        groupId,
        readUncommitted: false,
        // The port's contract: a group without committed offsets starts at the partition's start.
        fromBeginning: true,
        autoCommit: false,
        maxWaitTimeInMs,
        // The port's default (kafkaClient.ts): librdkafka heartbeats from its own thread, so a short
        // session evicts only a process that is gone, not one busy with a long batch.
        sessionTimeout: sessionTimeout ?? CONFLUENT_SESSION_TIMEOUT_MS,
        rebalanceTimeout,
        heartbeatInterval,
        allowAutoTopicCreation,
        maxBytesPerPartition,
        maxBytes,
        partitionAssigners: [ckjs.KafkaJS.PartitionAssigners.cooperativeSticky],
      }),
      ...CONSUMER_FETCH,
      // The KafkaJS API has no name for it: librdkafka's own property.
      ...(groupInstanceId === undefined ? {} : { 'group.instance.id': groupInstanceId }),
      // Awaited by the library before it applies the change (lib/kafkajs/_consumer.js #rebalanceCallback).
      rebalance_cb: (err: { code: number }, partitions: TopicPartition[]) => this.onRebalance(err.code === ASSIGN_PARTITIONS, partitions),
    });
  }

  async connect(): Promise<void> {
    await this.consumer.connect();
    if (!this.groupMembers.has(this.options.groupId)) this.groupMembers.set(this.options.groupId, this.consumer);
  }

  async subscribe(request: { topics: string[]; fromBeginning?: boolean }): Promise<void> {
    if (request.fromBeginning === false) throw new Error('a group consumer starts a partition without committed offsets at its start (fromBeginning)');
    await this.consumer.subscribe({ topics: request.topics });
  }

  async run(run: GroupConsumerRun): Promise<void> {
    await this.consumer.run({
      partitionsConsumedConcurrently: run.partitionsConsumedConcurrently ?? 1,
      // The library resolves the batch when this returns; when it throws, it seeks back to the
      // batch's first offset and hands it over again: the port's re-delivery, a crash with restart.
      eachBatch: async (payload) => {
        const { batch } = payload;
        if (batch.messages.length === 0) return;
        try {
          await run.eachBatch({ batch: { topic: batch.topic, partition: batch.partition, highWatermark: batch.highWatermark, messages: batch.messages }, heartbeat: () => payload.heartbeat() });
        } catch (error) {
          const crash = { error: error instanceof Error ? error : new Error(String(error)), restart: true };
          for (const listener of this.crashListeners) listener(crash);
          throw error;
        }
      },
    });
  }

  commitOffsets(offsets: TopicPartitionOffset[]): Promise<void> {
    return this.consumer.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
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

  onCrash(listener: CrashListener): void {
    this.crashListeners.push(listener);
  }

  async disconnect(): Promise<void> {
    if (this.groupMembers.get(this.options.groupId) === this.consumer) this.groupMembers.delete(this.options.groupId);
    await this.consumer.disconnect();
  }

  /** One incremental change: partitions added or revoked; the listeners are awaited before the library applies it. */
  private async onRebalance(assigning: boolean, partitions: TopicPartition[]): Promise<void> {
    const key = (tp: TopicPartition) => partitionKey(tp.topic, tp.partition);
    const changed = partitions.map(({ topic, partition }) => ({ topic, partition }));
    for (const tp of changed) {
      if (assigning) this.owned.set(key(tp), tp);
      else this.owned.delete(key(tp));
    }
    const change: AssignmentChange = { owned: [...this.owned.values()], assigned: assigning ? changed : [], revoked: assigning ? [] : changed };
    await Promise.all(this.assignmentListeners.map((listener) => Promise.resolve(listener(change)).catch(() => undefined)));
  }
}
