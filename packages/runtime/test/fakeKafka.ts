/**
 * An in-memory, deterministic KafkaClient for unit tests of StreamProcessor: one input topic whose
 * partitions the test fills, a group consumer the test drives batch by batch (deliver, assign,
 * rejoin), and producers that record what was acknowledged and what was committed, in order. It
 * keeps the promises the port makes (kafkaClient.ts: GroupConsumer, transactions), so the
 * processor's commit rules can be checked without a broker; failures are injected per operation.
 */
import type { AssignmentChange, GroupConsumer, GroupConsumerOptions, GroupConsumerRun, KafkaAdmin, KafkaClient, KafkaConsumer, KafkaProducer, KafkaTransaction, ProduceBatchRequest, ProducedMessage, ProducerOptions, RecordMetadata, TopicOffsets, TopicPartitionOffset } from '../src/kafkaClient.js';

/** An output the cluster acknowledged (for a transaction: once it committed). */
export interface Acknowledged {
  topic: string;
  message: ProducedMessage;
  /** The transactional.id it was written under, if any. */
  transactionalId?: string;
}

/** A commit the coordinator stored: the next offset to read in the input partition. */
export interface Commit {
  partition: number;
  offset: bigint;
  via: 'consumer' | 'transaction';
}

/** What happened, in order: enough to assert that one thing came before another. */
export type Happening =
  | { kind: 'acknowledged'; topic: string; count: number; transactionalId?: string }
  | { kind: 'committed'; partition: number; offset: bigint; via: 'consumer' | 'transaction' }
  | { kind: 'aborted'; transactionalId: string }
  | { kind: 'paused'; topic: string }
  | { kind: 'batch'; partition: number; from: bigint; outcome: 'done' | 'failed' };

/** Operations a test can make fail, each the next n times. */
export type FailingOperation = 'send' | 'commitOffsets' | 'transactionCommit' | 'sendOffsets';

export class InjectedFailure extends Error {
  constructor(operation: FailingOperation) {
    super(`injected failure of ${operation}`);
    this.name = 'KafkaJSConnectionError';
  }
}

interface InputMessage {
  key: Buffer | null;
  value: Buffer | null;
  offset: bigint;
}

export class FakeKafka implements KafkaClient {
  readonly acknowledged: Acknowledged[] = [];
  readonly commits: Commit[] = [];
  readonly happenings: Happening[] = [];
  /** The input topic's partitions, by partition number. */
  readonly log = new Map<number, InputMessage[]>();
  /** Called at each commit, before it is recorded: where a test checks an invariant. */
  onCommit: ((commit: Commit) => void) | undefined;
  private readonly failures = new Map<FailingOperation, number>();
  /** Per transactional.id, the producer that holds it now: an older one is fenced. */
  private readonly transactionalOwners = new Map<string, FakeProducer>();
  groupMember: FakeGroupConsumer | undefined;

  constructor(
    readonly inputTopic: string,
    /** Partitions every output topic has (what the processor's partitioner reads). */
    readonly outputPartitions = 3,
  ) {}

  /** Appends messages to an input partition; returns their offsets. */
  append(partition: number, messages: { key?: Buffer | null; value: Buffer | null }[]): bigint[] {
    let list = this.log.get(partition);
    if (!list) this.log.set(partition, (list = []));
    return messages.map((m) => {
      const offset = BigInt(list.length);
      list.push({ key: m.key ?? null, value: m.value, offset });
      return offset;
    });
  }

  failNext(operation: FailingOperation, times = 1): void {
    this.failures.set(operation, (this.failures.get(operation) ?? 0) + times);
  }

  /** Throws if the operation is due to fail. */
  maybeFail(operation: FailingOperation): void {
    const left = this.failures.get(operation) ?? 0;
    if (left > 0) {
      this.failures.set(operation, left - 1);
      throw new InjectedFailure(operation);
    }
  }

  /** The last committed offset of a partition (the next to read), or undefined. */
  committed(partition: number): bigint | undefined {
    let last: bigint | undefined;
    for (const c of this.commits) if (c.partition === partition) last = c.offset;
    return last;
  }

  recordCommit(commit: Commit): void {
    this.onCommit?.(commit);
    this.commits.push(commit);
    this.happenings.push({ kind: 'committed', ...commit });
  }

  recordAcknowledged(topic: string, messages: ProducedMessage[], transactionalId?: string): void {
    for (const message of messages) this.acknowledged.push({ topic, message, transactionalId });
    this.happenings.push({ kind: 'acknowledged', topic, count: messages.length, transactionalId });
  }

  claimTransactionalId(id: string, producer: FakeProducer): void {
    this.transactionalOwners.set(id, producer);
  }

  isFenced(id: string, producer: FakeProducer): boolean {
    return this.transactionalOwners.get(id) !== producer;
  }

  producer(options?: ProducerOptions): KafkaProducer {
    return new FakeProducer(this, options?.transactionalId);
  }

  groupConsumer(options: GroupConsumerOptions): GroupConsumer {
    this.groupMember = new FakeGroupConsumer(this, options.groupId);
    return this.groupMember;
  }

  consumer(): KafkaConsumer {
    throw new Error('FakeKafka has no plain consumer: StreamProcessor uses groupConsumer');
  }

  admin(): KafkaAdmin {
    const partitions = Array.from({ length: this.outputPartitions }, (_, partitionId) => ({ partitionId, leader: 1 }));
    const unsupported = async () => {
      throw new Error('not in FakeKafka');
    };
    return {
      connect: async () => undefined,
      disconnect: async () => undefined,
      fetchTopicMetadata: async ({ topics }) => ({ topics: topics.map((name) => ({ name, partitions })) }),
      listTopics: unsupported,
      fetchTopicOffsets: unsupported,
      fetchOffsets: unsupported,
      setOffsets: unsupported,
      createTopics: unsupported,
      describeCluster: unsupported,
      deleteGroups: unsupported,
      describeConfigs: unsupported,
    };
  }
}

class FakeProducer implements KafkaProducer {
  constructor(
    private readonly kafka: FakeKafka,
    private readonly transactionalId: string | undefined,
  ) {}

  async connect(): Promise<void> {
    // Registering the transactional.id fences the producer that held it before.
    if (this.transactionalId) this.kafka.claimTransactionalId(this.transactionalId, this);
  }

  async disconnect(): Promise<void> {}

  async send(request: { topic: string; messages: ProducedMessage[] }): Promise<RecordMetadata[]> {
    return this.sendBatch({ topicMessages: [request] });
  }

  async sendBatch(request: ProduceBatchRequest): Promise<RecordMetadata[]> {
    if (this.transactionalId) throw new Error('a transactional producer sends in a transaction');
    this.kafka.maybeFail('send');
    for (const { topic, messages } of request.topicMessages) this.kafka.recordAcknowledged(topic, messages);
    return [];
  }

  async transaction(): Promise<KafkaTransaction> {
    const id = this.transactionalId;
    if (!id) throw new Error('not a transactional producer');
    const kafka = this.kafka;
    const outputs: { topic: string; messages: ProducedMessage[] }[] = [];
    const offsets: TopicOffsets[] = [];
    let open = true;
    const guard = () => {
      if (!open) throw new Error('the transaction is over');
      if (kafka.isFenced(id, this)) throw Object.assign(new Error(`producer ${id} is fenced`), { type: 'INVALID_PRODUCER_EPOCH' });
    };
    const transaction: KafkaTransaction = {
      send: async (request) => transaction.sendBatch({ topicMessages: [request] }),
      sendBatch: async (request) => {
        guard();
        kafka.maybeFail('send');
        outputs.push(...request.topicMessages);
        return [];
      },
      sendOffsets: async (request) => {
        guard();
        kafka.maybeFail('sendOffsets');
        offsets.push(...request.topics);
      },
      commit: async () => {
        guard();
        kafka.maybeFail('transactionCommit');
        open = false;
        // Outputs and offsets become visible together.
        for (const { topic, messages } of outputs) kafka.recordAcknowledged(topic, messages, id);
        for (const t of offsets) for (const p of t.partitions) kafka.recordCommit({ partition: p.partition, offset: BigInt(p.offset), via: 'transaction' });
      },
      abort: async () => {
        if (!open) return;
        open = false;
        kafka.happenings.push({ kind: 'aborted', transactionalId: id });
      },
    };
    return transaction;
  }
}

/**
 * The group member, driven by the test: nothing is fetched unless the test calls deliver(). Its
 * position per partition moves past a batch when eachBatch resolves and stays when it rejects, as
 * GroupConsumer promises; a rejoin resets positions to the committed offsets (eager protocol).
 */
export class FakeGroupConsumer implements GroupConsumer {
  private run_: GroupConsumerRun | undefined;
  private readonly listeners: ((change: AssignmentChange) => void | Promise<void>)[] = [];
  private readonly crashListeners: ((crash: { error: Error; restart: boolean }) => void)[] = [];
  readonly owned = new Set<number>();
  private readonly positions = new Map<number, bigint>();
  private readonly inFlight = new Map<number, Promise<unknown>>();
  readonly paused = new Set<number | 'all'>();
  heartbeats = 0;
  disconnected = false;

  constructor(
    private readonly kafka: FakeKafka,
    readonly groupId: string,
  ) {}

  async connect(): Promise<void> {}

  async subscribe(request: { topics: string[] }): Promise<void> {
    if (!request.topics.includes(this.kafka.inputTopic)) throw new Error(`subscribed to ${request.topics.join(', ')}, not ${this.kafka.inputTopic}`);
  }

  async run(run: GroupConsumerRun): Promise<void> {
    this.run_ = run;
  }

  async commitOffsets(offsets: TopicPartitionOffset[]): Promise<void> {
    // The coordinator refuses a commit for a partition of another member (a later generation).
    for (const o of offsets) if (!this.owned.has(o.partition)) throw Object.assign(new Error(`partition ${o.partition} is not this member's`), { type: 'ILLEGAL_GENERATION' });
    this.kafka.maybeFail('commitOffsets');
    for (const o of offsets) this.kafka.recordCommit({ partition: o.partition, offset: BigInt(o.offset), via: 'consumer' });
  }

  pause(topics: { topic: string; partitions?: number[] }[]): void {
    for (const t of topics) {
      if (t.partitions) for (const p of t.partitions) this.paused.add(p);
      else this.paused.add('all');
      this.kafka.happenings.push({ kind: 'paused', topic: t.topic });
    }
  }

  resume(topics: { topic: string; partitions?: number[] }[]): void {
    for (const t of topics) {
      if (t.partitions) for (const p of t.partitions) this.paused.delete(p);
      else this.paused.clear();
    }
  }

  onAssignment(listener: (change: AssignmentChange) => void | Promise<void>): void {
    this.listeners.push(listener);
  }

  onCrash(listener: (crash: { error: Error; restart: boolean }) => void): void {
    this.crashListeners.push(listener);
  }

  async disconnect(): Promise<void> {
    await Promise.allSettled([...this.inFlight.values()]);
    this.disconnected = true;
  }

  /** A (re)join with these partitions; kept ones restart from their committed offset. Resolves once the listeners did. */
  async assign(partitions: number[]): Promise<void> {
    const topic = this.kafka.inputTopic;
    const now = new Set(partitions);
    const change: AssignmentChange = {
      owned: partitions.map((partition) => ({ topic, partition })),
      assigned: partitions.filter((p) => !this.owned.has(p)).map((partition) => ({ topic, partition })),
      revoked: [...this.owned].filter((p) => !now.has(p)).map((partition) => ({ topic, partition })),
    };
    this.owned.clear();
    for (const p of partitions) this.owned.add(p);
    this.positions.clear();
    await Promise.all(this.listeners.map((l) => Promise.resolve(l(change))));
  }

  /** A rejoin that keeps every partition (eager protocol): fetching restarts at the committed offsets. */
  rejoin(): Promise<void> {
    return this.assign([...this.owned]);
  }

  crash(error: Error, restart: boolean): void {
    for (const l of this.crashListeners) l({ error, restart });
  }

  isBusy(partition: number): boolean {
    return this.inFlight.has(partition);
  }

  /**
   * Fetches the next batch of a partition (up to maxMessages from the consumer's position) and
   * hands it over. 'failed' when eachBatch rejected (the position stays), 'nothing' when there was
   * nothing to hand over (not owned, paused, at the end, or a batch of it still in flight).
   */
  deliver(partition: number, maxMessages = Infinity): Promise<'done' | 'failed' | 'nothing'> {
    const run = this.run_;
    if (!run || !this.owned.has(partition) || this.paused.has(partition) || this.paused.has('all') || this.inFlight.has(partition)) return Promise.resolve('nothing');
    const from = this.positions.get(partition) ?? this.kafka.committed(partition) ?? 0n;
    const log = this.kafka.log.get(partition) ?? [];
    const messages = log.filter((m) => m.offset >= from).slice(0, maxMessages);
    if (messages.length === 0) return Promise.resolve('nothing');
    const batch = {
      topic: this.kafka.inputTopic,
      partition,
      highWatermark: String(log.length),
      messages: messages.map((m) => ({ key: m.key, value: m.value, offset: String(m.offset), timestamp: '1700000000000', headers: {} })),
    };
    const delivery = run
      .eachBatch({ batch, heartbeat: async () => void this.heartbeats++ })
      .then(
        () => {
          if (this.owned.has(partition)) this.positions.set(partition, messages[messages.length - 1]!.offset + 1n);
          this.kafka.happenings.push({ kind: 'batch', partition, from, outcome: 'done' });
          return 'done' as const;
        },
        () => {
          this.kafka.happenings.push({ kind: 'batch', partition, from, outcome: 'failed' });
          return 'failed' as const;
        },
      )
      .finally(() => this.inFlight.delete(partition));
    this.inFlight.set(partition, delivery);
    return delivery;
  }

  /** Delivers until every owned partition is read to its end and nothing fails; at most `rounds` rounds. */
  async drain(rounds = 50): Promise<void> {
    for (let round = 0; round < rounds; round++) {
      const outcomes = await Promise.all([...this.owned].map((p) => this.deliver(p)));
      if (outcomes.every((o) => o === 'nothing') && this.inFlight.size === 0) return;
    }
    throw new Error(`not drained after ${rounds} rounds`);
  }
}
