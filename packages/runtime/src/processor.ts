import { CONSUMER_GROUP_DEFAULTS } from '@opentrail/config';
import type { AssignmentChange, ConsumedMessage, GroupBatchPayload, GroupConsumer, GroupConsumerOptions, KafkaAdmin, KafkaClient, KafkaProducer, MessageHeaders, ProducedMessage, TopicMessages } from './kafkaClient.js';
import type { Logger, ServiceMetrics } from '@opentrail/observability';
import { SerdeError, type AvroSerde } from '@opentrail/serde';
import { logConsumerCrash } from './kafka.js';
import { deadLetterMessage, failureDetail, PROCESSING_FAILED, recordDeadLetterMessage, type DeadLetter, type RecordDeadLetter } from './dead-letter.js';
import { isInfrastructureError } from './infrastructure.js';
import { processIsolating } from './isolation.js';
import { OutputPartitioner, splitRequests } from './produceRequests.js';
import { retry, RetryAbortedError } from './retry.js';
import { startupStep } from './startup.js';
import { OpentrailError } from '@opentrail/errors';

/** One decoded input message. */
export interface InputRecord<T> {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: T;
  headers: MessageHeaders;
  /** Kafka timestamp (ms since epoch, as a string). */
  timestamp: string;
  /** Size of the encoded value. */
  bytes: number;
  /**
   * The value as read (Confluent-framed): lets a handler copy an unchanged Avro body into its output
   * instead of encoding it again (see AvroSerde.bodyIfReaderSchema). Always set by StreamProcessor.
   */
  raw?: Buffer;
}

/** A message to produce. Values are already encoded (see AvroSerde.encode). */
export interface OutputMessage extends ProducedMessage {
  topic: string;
}

/**
 * What a batch (or a flush) asks the runtime to produce. The runtime produces it, then commits the
 * input offset (atomically, in transactional mode).
 */
export interface Work {
  outputs?: OutputMessage[];
  /**
   * Records the handler sets aside because something in them defeats its own stage (enrichment,
   * rule evaluation, encoding, delivery formatting): produced to the dead-letter topic with the
   * reason, like the outputs, and counted.
   */
  deadLetters?: RecordDeadLetter[];
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface BatchContext extends TopicPartition {
  highWatermark: string;
  /** Keeps the group membership alive during long work. */
  heartbeat(): Promise<void>;
  /** Aborted when the processor is stopping. */
  signal: AbortSignal;
}

/**
 * A service's logic, called one partition at a time, in offset order. Calls for one partition never
 * overlap (batches, flushes, assignment and revocation are serialised per partition); calls for
 * different partitions may run concurrently.
 */
export interface PartitionHandler<T> {
  /**
   * The decoded, valid records of one fetched batch (dead letters already set aside), or a part of
   * one. Each offset is handed over once per ownership of the partition, unless a call fails: it
   * must not keep partial state from a failed call. An infrastructure failure (isInfrastructureError:
   * throw InfrastructureError or let the client's error through) retries the records from the first
   * not yet done; any other failure is taken as the data's, and the runtime re-runs the batch in
   * halves to find the record(s) it comes from and dead-letters them as PROCESSING_FAILED.
   */
  processBatch(records: InputRecord<T>[], context: BatchContext): Promise<Work | void>;
  /** Time-based work for an owned partition: every flushIntervalMs, and once at shutdown. */
  flush?(partition: TopicPartition, reason: 'tick' | 'shutdown'): Promise<Work | void>;
  /** The partitions are now this instance's; runs before their first batch. */
  onAssigned?(partitions: TopicPartition[]): Promise<void> | void;
  /** The partitions were taken away: drop their state (another instance re-reads from the committed offset). */
  onRevoked?(partitions: TopicPartition[]): Promise<void> | void;
  /**
   * The first offset of the partition that the handler holds only in memory (the archiver's open
   * files), or undefined when it holds nothing. Offsets are committed up to it and no further, so a
   * crash re-reads what was not yet made durable. Without this, everything handed over is committed.
   */
  heldFrom?(partition: TopicPartition): bigint | undefined;
  /**
   * Everything the handler returned for this partition so far is now produced and its offsets
   * committed (in transactional mode: the transaction committed). Lets a handler know that work it
   * handed over is durable, e.g. before it starts the next piece that must not overlap it.
   */
  onCommitted?(partition: TopicPartition): void;
}

export interface ProcessorOptions<T> {
  /** Service name: metric prefix, DLQ header, log field. */
  service: string;
  /**
   * Where the processor's clients come from: its group consumer, its producers (the shared
   * idempotent one, or one transactional producer per owned partition) and an admin for partition
   * counts. Any KafkaClient will do: the unit tests pass an in-memory one.
   */
  kafka: KafkaClient;
  groupId: string;
  topic: string;
  serde: AvroSerde<T>;
  /** Refuses a decoded value (`bytes`: its encoded size): returns why, or undefined to accept. Refused values are dead-lettered as VALIDATION. */
  validate?: (value: T, bytes: number) => string | undefined;
  deadLetterTopic: string;
  handler: PartitionHandler<T>;
  logger: Logger;
  metrics: ServiceMetrics;
  /**
   * Exactly-once outputs: one transactional producer per input partition (transactional.id
   * `<idPrefix>-<topic>-<partition>`), so that a new owner of a partition fences the previous one,
   * and outputs and the offset commit are one transaction.
   */
  transactional?: { idPrefix: string };
  /** Period of flush('tick') per owned partition. @default no ticks */
  flushIntervalMs?: number;
  /** Batches of different partitions processed at once. @default 4 */
  partitionsConsumedConcurrently?: number;
  /** The group member's settings (session, heartbeat, fetch size); the group and topic are the processor's. */
  consumer?: Partial<Omit<GroupConsumerOptions, 'groupId'>>;
}

/**
 * The group member's settings unless a service gives its own (issue 17; the services' configs have
 * the same defaults, consumerGroupShape). The session timeout is the client adapter's default (6 s
 * on confluent, 30 s on kafkajs: see ConsumerOptions.sessionTimeout). A 1 s heartbeat tells the
 * others of a rebalance within a second. A batch may take longer than a session: librdkafka
 * heartbeats from its own thread, and on kafkajs the processor heartbeats while a batch is in flight.
 */
const GROUP_MEMBER_DEFAULTS = { heartbeatInterval: CONSUMER_GROUP_DEFAULTS.heartbeatIntervalMs, rebalanceTimeout: 60_000 };

/** Per-partition state: a queue that serialises work, the next offset to hand over, and work not yet emitted. */
class Lane {
  private tail: Promise<unknown> = Promise.resolve();
  /** Next offset the handler has not seen. After a rejoin the consumer may re-fetch from the committed offset; older messages are skipped. */
  position: bigint | undefined;
  /** Outputs the handler returned (and dead letters) that are not yet produced. */
  pending: OutputMessage[] = [];
  lastCommitted: bigint | undefined;
  producer: KafkaProducer | undefined;

  constructor(readonly partition: number) {}

  run<R>(fn: () => Promise<R>): Promise<R> {
    const next = this.tail.then(fn);
    this.tail = next.catch(() => undefined);
    return next;
  }

  idle(): Promise<unknown> {
    return this.tail;
  }
}

/**
 * The stream runtime: consumes one topic in batches as a consumer-group member (GroupConsumer, from
 * the KafkaClient port), decodes through the schema registry, sets aside what cannot be decoded or
 * fails validation (dead-letter topic, with the reason), hands the rest to the service's handler,
 * produces its outputs and commits offsets only after those outputs are acknowledged. Backpressure
 * is the group consumer's: a partition is not fetched again until its batch is done, and a batch is
 * done once its outputs are produced and its offsets committed.
 */
export class StreamProcessor<T> {
  private readonly consumer: GroupConsumer;
  private producer: KafkaProducer | undefined;
  private admin: Promise<KafkaAdmin> | undefined;
  private readonly partitioner = new OutputPartitioner(() => (this.admin ??= this.connectAdmin()));
  private readonly lanes = new Map<number, Lane>();
  private readonly stopController = new AbortController();
  private flushTimer: NodeJS.Timeout | undefined;
  private joined = false;
  private crashed: string | undefined;
  private stopping = false;
  private readonly heartbeatIntervalMs: number;
  private readonly m;

  constructor(private readonly options: ProcessorOptions<T>) {
    this.heartbeatIntervalMs = options.consumer?.heartbeatInterval ?? GROUP_MEMBER_DEFAULTS.heartbeatInterval;
    this.consumer = options.kafka.groupConsumer({
      groupId: options.groupId,
      ...GROUP_MEMBER_DEFAULTS,
      maxWaitTimeInMs: 1_000,
      allowAutoTopicCreation: false,
      ...options.consumer,
    });
    const metrics = options.metrics;
    this.m = {
      eventsIn: metrics.counter('events_in_total', 'Messages consumed', ['topic']),
      eventsOut: metrics.counter('events_out_total', 'Messages produced', ['topic']),
      deadLettered: metrics.counter('events_dead_lettered_total', 'Messages sent to the dead-letter topic, by reason', ['reason']),
      lag: metrics.gauge('consumer_lag', 'Messages behind the partition end, as of the last batch', ['topic', 'partition']),
      batchSeconds: metrics.histogram('batch_duration_seconds', 'Time to process, produce and commit one batch', [], [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
      recordAge: metrics.histogram('record_age_seconds', 'Age of a message (its Kafka timestamp) when processed', [], [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]),
      commits: metrics.counter('offset_commits_total', 'Offset commits (plain or transactional)'),
      errors: metrics.counter('processing_errors_total', 'Infrastructure failures by stage; the work is retried', ['stage']),
      isolations: metrics.counter('batch_isolations_total', 'Batches the handler failed on with a data error, re-run in parts to isolate the record(s) it came from'),
      rebalances: metrics.counter('rebalances_total', 'Group joins'),
      assigned: metrics.gauge('assigned_partitions', 'Partitions this instance owns'),
    };
    this.consumer.onAssignment((change) => this.onAssignment(change));
    this.consumer.onCrash((crash) => {
      this.joined = false;
      this.m.errors.inc({ stage: 'consumer' });
      if (!crash.restart) this.crashed = crash.error.message;
      // The client restarts the consumer after a retriable crash (coordinator moving, leader elections): that is a warning, not a page.
      logConsumerCrash(options.logger, crash, 'consumer');
    });
  }

  /** Joined the group and not stopping: for /readyz. */
  get ready(): boolean | string {
    if (this.stopping) return 'stopping';
    return this.joined || 'not a member of the consumer group yet';
  }

  /** For /healthz: false once the consumer crashed for good. */
  get healthy(): boolean | string {
    return this.crashed === undefined || `consumer stopped: ${this.crashed}`;
  }

  /** The shared idempotent producer (non-transactional mode), for services that produce outside batches. */
  get sharedProducer(): KafkaProducer | undefined {
    return this.producer;
  }

  assignedPartitions(): number[] {
    return [...this.lanes.keys()];
  }

  async start(): Promise<void> {
    const { options } = this;
    if (!options.transactional) {
      const producer = options.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      this.producer = producer;
      await startupStep('the producer', () => producer.connect());
    }
    await startupStep(`the consumer group ${options.groupId}`, () => this.consumer.connect());
    await this.consumer.subscribe({ topics: [options.topic], fromBeginning: true });
    await this.consumer.run({
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 4,
      eachBatch: (payload) => this.onBatch(payload),
    });
    if (options.flushIntervalMs) {
      this.flushTimer = setInterval(() => this.tick(), options.flushIntervalMs);
      this.flushTimer.unref();
    }
  }

  /** An admin client for the output topics' partition counts (see produceRequests.ts), connected on first use. */
  private async connectAdmin(): Promise<KafkaAdmin> {
    const admin = this.options.kafka.admin();
    try {
      await admin.connect();
    } catch (err) {
      this.admin = undefined;
      throw err;
    }
    return admin;
  }

  /**
   * A (re)join. A revoked partition's lane is dropped at once, so that work still in flight on it
   * is neither produced nor committed any more (emit checks); the handler's onRevoked runs after
   * that work settled. The returned promise settles when the revoked partitions are released.
   */
  private async onAssignment(change: AssignmentChange): Promise<void> {
    this.joined = true;
    this.m.rebalances.inc();
    const { topic } = this.options;
    const owned = new Set(change.owned.filter((tp) => tp.topic === topic).map((tp) => tp.partition));
    const revoked = [...this.lanes.keys()].filter((p) => !owned.has(p));
    const added = [...owned].filter((p) => !this.lanes.has(p));
    const released: Promise<unknown>[] = [];
    for (const partition of revoked) {
      const lane = this.lanes.get(partition)!;
      this.lanes.delete(partition);
      released.push(lane.run(() => this.release(lane)).catch((err: unknown) => this.options.logger.error({ err, partition }, 'releasing a revoked partition failed')));
    }
    for (const partition of added) this.laneFor(partition);
    this.m.assigned.set(this.lanes.size);
    if (revoked.length || added.length) this.options.logger.info({ assigned: [...owned].sort((a, b) => a - b), added, revoked }, 'partitions assigned');
    await Promise.all(released);
  }

  /** Whether the lane still stands for a partition this member owns (not revoked, not replaced). */
  private owns(lane: Lane): boolean {
    return this.lanes.get(lane.partition) === lane;
  }

  private laneFor(partition: number): Lane {
    let lane = this.lanes.get(partition);
    if (lane) return lane;
    lane = new Lane(partition);
    this.lanes.set(partition, lane);
    const created = lane;
    void lane.run(async () => {
      const tp = { topic: this.options.topic, partition };
      if (this.options.transactional) {
        // Connecting a transactional producer registers its transactional.id and fences any
        // previous producer with the same id: the former owner of this partition.
        created.producer = this.options.kafka.producer({
          transactionalId: `${this.options.transactional.idPrefix}-${this.options.topic}-${partition}`,
          idempotent: true,
          maxInFlightRequests: 1,
        });
        await created.producer.connect();
      }
      await this.options.handler.onAssigned?.([tp]);
    });
    return lane;
  }

  private async release(lane: Lane) {
    await this.options.handler.onRevoked?.([{ topic: this.options.topic, partition: lane.partition }]);
    await lane.producer?.disconnect();
  }

  private async onBatch(payload: GroupBatchPayload): Promise<void> {
    const { batch } = payload;
    if (this.stopping || batch.messages.length === 0) return;
    const lane = this.lanes.get(batch.partition);
    // The consumer announces a partition (onAssignment) before its first batch. A batch of one it
    // did not announce is refused rather than processed without the partition's set-up (its
    // transactional producer would fence the rightful owner's): the consumer delivers it again.
    if (!lane) throw new Error(`a batch of ${batch.topic}[${batch.partition}], which is not assigned to this member`);
    // A batch of an announced partition: this member is in the group. A crash the client recovers
    // from in place (librdkafka hands the failed batch over again without rejoining, and does not
    // announce an unchanged assignment) would otherwise leave /readyz false until the next
    // rebalance (seen in chaos after a broker restart: ready=false for 45 s while processing).
    this.joined = true;
    // kafkajs heartbeats only between batches: a batch longer than the session (an archiver's upload
    // waiting on S3, a lane queued behind a flush) would get this member evicted and its partitions
    // moved mid-batch. The heartbeat is throttled by the client to its interval and is a no-op on
    // librdkafka; failing ones (a rebalance in progress) are left to the consumer's next rejoin.
    const keepAlive = setInterval(() => void payload.heartbeat().catch(() => undefined), this.heartbeatIntervalMs);
    try {
      await this.processBatch(lane, payload);
    } finally {
      clearInterval(keepAlive);
    }
  }

  private async processBatch(lane: Lane, payload: GroupBatchPayload): Promise<void> {
    const { batch } = payload;
    await lane.run(async () => {
      if (this.stopping || !this.owns(lane)) return;
      const started = process.hrtime.bigint();
      // Work of an earlier attempt that was handed over but not yet produced/committed goes first.
      await this.emit(lane, 'retry');
      const fresh = lane.position === undefined ? batch.messages : batch.messages.filter((m) => BigInt(m.offset) >= lane.position!);
      if (fresh.length > 0) {
        const { records, deadLetters } = await this.decode(batch.topic, batch.partition, fresh);
        const context: BatchContext = { topic: batch.topic, partition: batch.partition, highWatermark: batch.highWatermark, heartbeat: () => payload.heartbeat(), signal: this.stopController.signal };
        // The lane's position moves as parts of the batch are done, with their work and the dead
        // letters before them: an infrastructure failure half-way retries only what is not done.
        let letters = 0;
        const advance = (next: bigint) => {
          for (; letters < deadLetters.length && deadLetters[letters]!.offset < next; letters++) {
            const { message, reason } = deadLetters[letters]!;
            this.m.deadLettered.inc({ reason });
            lane.pending.push(message);
          }
          lane.position = next;
        };
        let isolating = false;
        try {
          await processIsolating(records, {
            run: async (part) => (await this.options.handler.processBatch(part, context)) ?? undefined,
            done: async (part, work, rerun) => {
              this.take(lane, work);
              advance(BigInt(part[part.length - 1]!.offset) + 1n);
              // While isolating, each part's work is produced and committed before the next part
              // runs: a handler that drops its state after a failed call and reads it back from its
              // own outputs (the alerter's changelog) then finds the parts already done.
              if (rerun) await this.emit(lane, 'batch');
            },
            poisoned: (record, err) => {
              this.m.deadLettered.inc({ reason: PROCESSING_FAILED });
              this.options.logger.warn({ err, partition: record.partition, offset: record.offset }, 'the handler fails on this record: dead-lettered');
              lane.pending.push({ topic: this.options.deadLetterTopic, ...recordDeadLetterMessage(record, this.options.service, { reason: PROCESSING_FAILED, detail: failureDetail(err) }) });
              advance(BigInt(record.offset) + 1n);
            },
            isInfrastructure: (err) => {
              // Stopping: whatever failed is left for the next owner, never dead-lettered.
              if (this.stopping || isInfrastructureError(err)) return true;
              if (!isolating) {
                isolating = true;
                this.m.isolations.inc();
                this.options.logger.warn({ err, partition: batch.partition, offset: records[0]!.offset, records: records.length }, 'processing a batch failed on its data; isolating the record(s) it comes from');
              }
              return false;
            },
            beforeRerun: () => payload.heartbeat().catch(() => undefined),
          });
        } catch (err) {
          this.m.errors.inc({ stage: 'process' });
          this.options.logger.error({ err, partition: batch.partition, offset: fresh[0]!.offset }, 'processing a batch failed (infrastructure); it will be retried');
          throw err;
        }
        advance(BigInt(fresh[fresh.length - 1]!.offset) + 1n);
        this.m.eventsIn.inc({ topic: batch.topic }, fresh.length);
        const now = Date.now();
        for (const m of fresh) this.m.recordAge.observe(Math.max(0, now - Number(m.timestamp)) / 1000);
      }
      await this.emit(lane, 'batch');
      const lastOffset = BigInt(batch.messages[batch.messages.length - 1]!.offset);
      this.m.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, Number(BigInt(batch.highWatermark) - 1n - lastOffset)));
      this.m.batchSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    });
  }

  /** Decodes a batch; whatever cannot be read or is refused becomes a dead letter. */
  private async decode(topic: string, partition: number, messages: ConsumedMessage[]) {
    const { serde, validate, deadLetterTopic, service } = this.options;
    // One registry round trip per unknown schema id per batch, not per message. If the registry is
    // unreachable this throws (retriable): the batch is retried rather than dead-lettered.
    await serde.prepare(messages.map((m) => m.value));
    const records: InputRecord<T>[] = [];
    // Counted when handed over (see onBatch), so that a retried batch does not count them twice.
    const deadLetters: { offset: bigint; reason: string; message: OutputMessage }[] = [];
    const reject = (message: ConsumedMessage, letter: DeadLetter) => {
      deadLetters.push({ offset: BigInt(message.offset), reason: letter.reason, message: { topic: deadLetterTopic, ...deadLetterMessage(message, { topic, partition, service }, letter) } });
    };
    for (const message of messages) {
      let value: T;
      try {
        value = serde.decode(message.value);
      } catch (err) {
        if (!(err instanceof SerdeError) || err.canRetry) throw err;
        reject(message, { reason: err.code, detail: err.message });
        continue;
      }
      const refusal = validate?.(value, message.value?.length ?? 0);
      if (refusal) {
        reject(message, { reason: 'VALIDATION', detail: refusal });
        continue;
      }
      records.push({ topic, partition, offset: message.offset, key: message.key, value, headers: message.headers ?? {}, timestamp: message.timestamp, bytes: message.value?.length ?? 0, raw: message.value ?? undefined });
    }
    if (deadLetters.length > 0) {
      this.options.logger.warn({ partition, count: deadLetters.length, reasons: [...new Set(deadLetters.map((d) => d.reason))] }, 'dead-lettered messages');
    }
    return { records, deadLetters };
  }

  /**
   * Produces the lane's pending outputs, then commits up to what the handler no longer holds only in
   * memory; in one transaction when transactional. Nothing is produced or committed for a partition
   * this member no longer owns: the next owner re-reads it from the committed offset.
   */
  private async emit(lane: Lane, stage: 'batch' | 'retry' | 'flush'): Promise<void> {
    const { topic, handler } = this.options;
    if (!this.owns(lane)) return;
    const outputs = lane.pending;
    if (lane.position === undefined && outputs.length === 0) return;
    const held = handler.heldFrom?.({ topic, partition: lane.partition });
    let commit = held !== undefined && (lane.position === undefined || held < lane.position) ? held : lane.position;
    // Commit only forward.
    if (commit !== undefined && lane.lastCommitted !== undefined && commit <= lane.lastCommitted) commit = undefined;
    if (outputs.length === 0 && commit === undefined) return;
    const topicMessages = groupByTopic(outputs);
    const requests = splitRequests(await this.partitioner.assign(topicMessages));
    const offsets = commit !== undefined ? [{ topic, partitions: [{ partition: lane.partition, offset: commit.toString() }] }] : [];
    try {
      if (this.options.transactional) {
        const producer = lane.producer;
        if (!producer) throw new Error(`no transactional producer for partition ${lane.partition}`);
        // A transaction begun right after the previous one committed can meet the coordinator still
        // writing that one's markers (CONCURRENT_TRANSACTIONS): retried here, briefly, rather than
        // failing the batch, which would restart the consumer and rebalance the group.
        await retry(
          async () => {
            const transaction = await producer.transaction();
            try {
              for (const request of requests) await transaction.sendBatch({ topicMessages: request });
              if (offsets.length > 0) await transaction.sendOffsets({ consumerGroupId: this.options.groupId, topics: offsets });
              // Revoked while sending: the outputs and offsets are the next owner's to write.
              if (!this.owns(lane)) throw new RevokedError(lane.partition);
              await transaction.commit();
            } catch (err) {
              await transaction.abort().catch(() => undefined);
              throw err;
            }
          },
          { retries: 4, initialDelayMs: 50, maxDelayMs: 1000, shouldRetry: isTransientTransactionError, signal: this.stopController.signal },
        ).catch((err: unknown) => {
          throw err instanceof RetryAbortedError ? err.lastError : err;
        });
      } else {
        for (const request of requests) await this.producer!.sendBatch({ topicMessages: request, acks: -1 });
        // Revoked while producing: the outputs are out (at least once), the offsets the next owner's.
        if (!this.owns(lane)) return;
        if (offsets.length > 0) await this.consumer.commitOffsets(offsets.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, ...p }))));
      }
    } catch (err) {
      // Revoked during the transaction (or the flush that began before the rebalance): the new
      // owner's producer fences this one, and the partition is re-read from its committed offset.
      // Nothing failed that anyone must act on.
      if (err instanceof RevokedError || !this.owns(lane)) {
        this.options.logger.debug({ err, partition: lane.partition }, 'partition revoked while producing or committing: left to its new owner');
        return;
      }
      this.m.errors.inc({ stage: stage === 'flush' ? 'flush' : 'emit' });
      this.options.logger.warn({ err, partition: lane.partition, outputs: outputs.length }, 'producing or committing failed; it will be retried');
      throw err;
    }
    for (const t of topicMessages) this.m.eventsOut.inc({ topic: t.topic }, t.messages.length);
    if (commit !== undefined) {
      lane.lastCommitted = commit;
      this.m.commits.inc();
    }
    lane.pending = [];
    handler.onCommitted?.({ topic, partition: lane.partition });
  }

  private tick() {
    if (this.stopping) return;
    for (const lane of this.lanes.values()) {
      void lane
        .run(() => this.flushLane(lane, 'tick'))
        .catch((err: unknown) => this.options.logger.warn({ err, partition: lane.partition }, 'flush failed; it will be retried on the next tick'));
    }
  }

  private async flushLane(lane: Lane, reason: 'tick' | 'shutdown') {
    if (this.lanes.get(lane.partition) !== lane) return;
    const work = await this.options.handler.flush?.({ topic: this.options.topic, partition: lane.partition }, reason);
    if (work) this.take(lane, work);
    await this.emit(lane, 'flush');
  }

  /** Queues a handler's work on its lane: the outputs, and its dead letters (counted by reason). */
  private take(lane: Lane, work: Work | undefined) {
    if (!work) return;
    if (work.outputs) lane.pending.push(...work.outputs);
    for (const letter of work.deadLetters ?? []) {
      this.m.deadLettered.inc({ reason: letter.reason });
      lane.pending.push({ topic: this.options.deadLetterTopic, ...recordDeadLetterMessage(letter.record, this.options.service, letter) });
    }
  }

  /**
   * Clean stop (SIGTERM): no new batches are taken, in-flight batches finish, the handler flushes
   * what it holds, outputs are produced and offsets committed, then the consumer leaves the group
   * so its partitions move at once instead of after a session timeout.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.stopController.abort();
    if (this.flushTimer) clearInterval(this.flushTimer);
    const { logger, topic } = this.options;
    try {
      this.consumer.pause([{ topic }]);
    } catch {
      /* not running */
    }
    // Each phase is timed: the partitions wait for all three before another member serves them.
    const started = Date.now();
    await Promise.all([...this.lanes.values()].map((lane) => lane.idle()));
    const batchesDone = Date.now();
    await Promise.all(
      [...this.lanes.values()].map((lane) =>
        lane.run(() => this.flushLane(lane, 'shutdown')).catch((err: unknown) => logger.error({ err, partition: lane.partition }, 'final flush failed; the partition will be re-read from its committed offset')),
      ),
    );
    const flushed = Date.now();
    await this.consumer.disconnect().catch((err: unknown) => logger.warn({ err }, 'consumer disconnect failed'));
    logger.info({ partitions: this.lanes.size, inFlightMs: batchesDone - started, finalFlushMs: flushed - batchesDone, leaveMs: Date.now() - flushed }, 'left the consumer group');
    await Promise.all([...this.lanes.values()].map(async (lane) => lane.producer?.disconnect().catch(() => undefined)));
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.then((admin) => admin.disconnect()).catch(() => undefined);
    this.lanes.clear();
    this.m.assigned.set(0);
  }
}

/** A transaction given up because its partition was revoked during it: not a failure. */
class RevokedError extends OpentrailError<'REVOKED'> {
  constructor(partition: number) {
    super('REVOKED', `partition ${partition} was revoked during its transaction`);
  }
}

/** Errors a new attempt at the same transaction can get past (not fencing: a fenced producer must stop). */
function isTransientTransactionError(err: unknown): boolean {
  for (let e = err as { type?: string; retriable?: boolean; cause?: unknown; originalError?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (e.type === 'CONCURRENT_TRANSACTIONS' || e.type === 'COORDINATOR_LOAD_IN_PROGRESS' || e.type === 'NOT_COORDINATOR' || e.type === 'COORDINATOR_NOT_AVAILABLE') return true;
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return false;
}

function groupByTopic(outputs: OutputMessage[]): TopicMessages[] {
  const byTopic = new Map<string, ProducedMessage[]>();
  for (const { topic, ...message } of outputs) {
    let list = byTopic.get(topic);
    if (!list) byTopic.set(topic, (list = []));
    list.push(message);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
