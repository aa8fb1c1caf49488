import type { KafkaClient } from './kafkaClient.js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ConsumedMessage as KafkaMessage, KafkaConsumer as Consumer, KafkaProducer } from './kafkaClient.js';
import type { Counter, Logger, ServiceMetrics } from '@opentrail/observability';
import { logConsumerCrash } from './kafka.js';
import { backoffDelay, sleep } from './retry.js';
import { startupStep } from './startup.js';
import { transientCondition } from './transient.js';

/**
 * A compacted topic read as a table (a KTable): the identities, the trails, the services' states.
 * Every instance needs every key, so the reader is not a member of any service's group: kafkajs has
 * no assign(), so it is the sole member of a consumer group of its own (unique per process), reads
 * from the beginning and never commits.
 *
 * Records are applied as `(key, value | null)` in offset order per partition (null: a tombstone,
 * the key is gone). A record that cannot be read (no key, a value the decoder refuses) is skipped
 * with a warning and counted, never a crash: one bad record must not stop every service that
 * follows the table. A decoder error whose `canRetry` is true (the registry cannot be reached) says
 * nothing about the record, so the batch is retried instead.
 */

/** Turns a record's value into the table's value. */
export interface CompactedTopicDecoder<V> {
  /** Once per fetched batch, before decode (e.g. fetch unknown schema ids). Throwing retries the batch. */
  prepare?(values: (Buffer | null)[]): Promise<void>;
  /**
   * One non-empty value. Throws to skip the record; an error with `canRetry: true` retries the batch
   * instead (nothing of the batch is applied before every record of it has decoded).
   */
  decode(value: Buffer, key: string): V;
}

/** Where a record is: its partition and offset (as kafkajs and a producer's RecordMetadata give it). */
export interface TopicPosition {
  partition: number;
  offset: string | bigint;
}

/** A decoded record, ready to apply. */
export interface TableRecord<V> {
  key: string;
  /** null: a tombstone (no value, or an empty one). */
  value: V | null;
  partition: number;
  offset: string;
}

/** A record that was not applied, and why. */
export interface SkippedRecord {
  partition: number;
  offset: string;
  /** The key as text, shortened (it is input), or undefined when the record has none. */
  key: string | undefined;
  reason: string;
}

export interface DecodedBatch<V> {
  records: TableRecord<V>[];
  skipped: SkippedRecord[];
}

/** Keys are input: logs carry at most this much of one. */
const MAX_LOGGED_KEY = 200;

function retriable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { canRetry?: unknown }).canRetry === true;
}

/**
 * Decodes a fetched batch of one partition: every record at or after `from` (records before it
 * were applied already, e.g. by this reader before kafkajs restarted it). Throws only what the
 * decoder marks retriable, so either the whole batch is decoded or none of it is applied.
 */
export function decodeBatch<V>(partition: number, messages: Pick<KafkaMessage, 'key' | 'value' | 'offset'>[], decoder: CompactedTopicDecoder<V>, from = 0n): DecodedBatch<V> {
  const records: TableRecord<V>[] = [];
  const skipped: SkippedRecord[] = [];
  for (const message of messages) {
    if (BigInt(message.offset) < from) continue;
    const key = message.key && message.key.length > 0 ? message.key.toString('utf8') : undefined;
    if (key === undefined) {
      skipped.push({ partition, offset: message.offset, key, reason: 'the record has no key' });
      continue;
    }
    if (message.value === null || message.value.length === 0) {
      records.push({ key, value: null, partition, offset: message.offset });
      continue;
    }
    try {
      records.push({ key, value: decoder.decode(message.value, key), partition, offset: message.offset });
    } catch (err) {
      if (retriable(err)) throw err;
      skipped.push({ partition, offset: message.offset, key: key.slice(0, MAX_LOGGED_KEY), reason: (err as Error)?.message ?? String(err) });
    }
  }
  return { records, skipped };
}

interface Waiter {
  partition: number;
  offset: bigint;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * How far a reader has read, per partition (the next offset to read), and who waits for what. The
 * position comes from kafkajs's END_BATCH_PROCESS as well as from applied records: that event also
 * fires for batches that held only transaction markers or compacted-away records, which never reach
 * eachBatch, so a partition ending in a marker still counts as read to its end.
 */
export class ReadPositions {
  private readonly next = new Map<number, bigint>();
  private readonly waiters = new Set<Waiter>();
  private failure: Error | undefined;

  /** The next offset to read of a partition (0 before anything was read). */
  position(partition: number): bigint {
    return this.next.get(partition) ?? 0n;
  }

  /** Records that everything before `next` has been read; positions only move forward. */
  advance(partition: number, next: bigint): void {
    if (next <= this.position(partition)) return;
    this.next.set(partition, next);
    for (const waiter of this.waiters) {
      if (waiter.partition === partition && waiter.offset < next) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /** Whether the record at `offset` has been read. */
  reached(partition: number, offset: bigint): boolean {
    return offset < this.position(partition);
  }

  /** Resolves once the record at `offset` of `partition` has been read; rejects if the reader fails or the signal aborts. */
  wait(partition: number, offset: bigint, signal?: AbortSignal): Promise<void> {
    if (this.reached(partition, offset)) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.waiters.delete(waiter);
        reject(abortReason(signal!));
      };
      const waiter: Waiter = {
        partition,
        offset,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      this.waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Records still to read before every partition reaches its target (next offset). */
  behind(targets: ReadonlyMap<number, bigint>): bigint {
    let sum = 0n;
    for (const [partition, end] of targets) {
      const gap = end - this.position(partition);
      if (gap > 0n) sum += gap;
    }
    return sum;
  }

  /** The reader stopped: every wait, now and later, rejects with `err`. */
  fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.waiters) waiter.reject(this.failure);
    this.waiters.clear();
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** Runs `fn` again while it fails for a reason that passes by itself (a leader election), a few times; then throws its last error as is. */
async function untilNotTransient<T>(fn: () => Promise<T>, attempts = 8): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || transientCondition(err) === undefined) throw err;
      await sleep(backoffDelay(attempt, 100, 2000));
    }
  }
}

export interface CompactedTopicReaderOptions<V> {
  kafka: KafkaClient;
  topic: string;
  /** Prefix of the reader's own consumer group; a unique suffix is added per reader. */
  groupIdPrefix: string;
  /** What the table is, for logs and /readyz ("the trails topic"). */
  what: string;
  decoder: CompactedTopicDecoder<V>;
  /** Applies one record, in offset order per partition. An error it throws is logged and the record counts as applied. */
  apply: (key: string, value: V | null, position: { partition: number; offset: string }) => void;
  logger: Logger;
  /** Counts records read (opentrail_<service>_table_records_total{topic,kind}). */
  metrics?: ServiceMetrics;
  /** Called for each record skipped as unreadable, after its warning (a service's own metric). */
  onSkip?: (skipped: SkippedRecord) => void;
  /**
   * Read only committed records (read_committed). A transactional writer's aborted state describes
   * nothing that happened. @default true
   */
  readCommitted?: boolean;
  /** @default 250 */
  maxWaitTimeInMs?: number;
}

/**
 * Follows a compacted topic from its beginning: `start()` begins reading, `caughtUp` resolves once
 * every partition has been read to the end offset it had at start, `waitFor(position)` gives
 * read-your-writes for a record this process produced, `catchUp()` waits for everything written
 * to the topic before the call.
 */
export class CompactedTopicReader<V> {
  private consumer: Consumer | undefined;
  private readonly positions = new ReadPositions();
  private readonly targets = new Map<number, bigint>();
  /** Partitions of the topic, empty ones included (known once started). */
  private partitions = 0;
  private crashed: string | undefined;
  private stopped = false;
  private isCaughtUp = false;
  private startedAt = 0;
  private resolveCaughtUp!: () => void;
  private rejectCaughtUp!: (err: Error) => void;
  private readonly counter: Counter<'topic' | 'kind'> | undefined;
  /** Resolves once the table holds everything the topic held when the reader started. */
  readonly caughtUp: Promise<void>;

  constructor(private readonly options: CompactedTopicReaderOptions<V>) {
    this.caughtUp = new Promise<void>((resolve, reject) => {
      this.resolveCaughtUp = resolve;
      this.rejectCaughtUp = reject;
    });
    // Nobody may be awaiting yet when a start-up failure rejects it.
    this.caughtUp.catch(() => undefined);
    this.counter = options.metrics?.counter('table_records_total', 'Records read from compacted topics (tables), by kind: value, tombstone, skipped (unreadable, not applied)', ['topic', 'kind']);
  }

  /** true once caught up; otherwise how far behind (for /readyz). */
  get ready(): boolean | string {
    if (this.isCaughtUp) return true;
    if (this.crashed !== undefined) return `${this.options.what} reader stopped: ${this.crashed}`;
    return `reading ${this.options.what}: ${this.positions.behind(this.targets)} records to go`;
  }

  /** true while the reader runs; otherwise why it stopped (for /healthz). */
  get healthy(): boolean | string {
    return this.crashed === undefined || `${this.options.what} reader stopped: ${this.crashed}`;
  }

  /** The next offset to read of a partition. */
  position(partition: number): bigint {
    return this.positions.position(partition);
  }

  /** How many partitions the topic has, empty ones included; 0 before `start()` listed them. */
  get partitionCount(): number {
    return this.partitions;
  }

  /** Starts reading. Resolves once the consumer runs; await `caughtUp` for the table to be complete. */
  async start(): Promise<void> {
    const { kafka, topic, logger, what } = this.options;
    this.startedAt = Date.now();
    const { ends, partitions } = await this.endOffsets();
    this.partitions = partitions;
    for (const [partition, end] of ends) this.targets.set(partition, end);
    logger.info({ topic, partitions: this.targets.size, records: this.positions.behind(this.targets).toString() }, `reading ${what}`);

    const consumer = kafka.consumer({
      groupId: `${this.options.groupIdPrefix}-table-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
      maxWaitTimeInMs: this.options.maxWaitTimeInMs ?? 250,
      allowAutoTopicCreation: false,
      readUncommitted: this.options.readCommitted === false,
    });
    this.consumer = consumer;
    consumer.onBatchEnd((batch) => this.advance(batch.partition, BigInt(batch.lastOffset) + 1n));
    consumer.onCrash((crash) => {
      logConsumerCrash(logger, crash, `${what} reader`);
      if (!crash.restart) this.fail(crash.error.message);
    });
    await startupStep(`reading ${what}`, () => consumer.connect());
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => this.applyBatch(batch.partition, batch.messages) });
    this.check();
  }

  private async applyBatch(partition: number, messages: KafkaMessage[]): Promise<void> {
    const { decoder, apply, logger, topic, what } = this.options;
    // A consumer kafkajs restarted reads again from the beginning (nothing is committed): what was applied stays applied.
    const from = this.positions.position(partition);
    if (decoder.prepare) await decoder.prepare(messages.filter((m) => BigInt(m.offset) >= from).map((m) => m.value));
    const { records, skipped } = decodeBatch(partition, messages, decoder, from);
    let values = 0;
    let tombstones = 0;
    for (const record of records) {
      try {
        apply(record.key, record.value, { partition, offset: record.offset });
      } catch (err) {
        logger.error({ err, topic, partition, offset: record.offset }, `applying a record of ${what} failed`);
      }
      if (record.value === null) tombstones++;
      else values++;
    }
    for (const skip of skipped) {
      logger.warn({ topic, partition: skip.partition, offset: skip.offset, key: skip.key, reason: skip.reason }, `${what}: record skipped, it cannot be read`);
      this.options.onSkip?.(skip);
    }
    if (values) this.counter?.inc({ topic, kind: 'value' }, values);
    if (tombstones) this.counter?.inc({ topic, kind: 'tombstone' }, tombstones);
    if (skipped.length) this.counter?.inc({ topic, kind: 'skipped' }, skipped.length);
    const last = messages[messages.length - 1];
    if (last) this.advance(partition, BigInt(last.offset) + 1n);
  }

  private advance(partition: number, next: bigint): void {
    this.positions.advance(partition, next);
    this.check();
  }

  private check(): void {
    if (this.isCaughtUp || this.consumer === undefined) return;
    if (this.positions.behind(this.targets) > 0n) return;
    this.isCaughtUp = true;
    this.options.logger.info({ topic: this.options.topic, ms: Date.now() - this.startedAt }, `${this.options.what} caught up`);
    this.resolveCaughtUp();
  }

  private fail(reason: string): void {
    this.crashed ??= reason;
    const err = new Error(`${this.options.what} reader stopped: ${reason}`);
    this.positions.fail(err);
    this.rejectCaughtUp(err);
  }

  /**
   * The end offset (next offset to be written) of every partition that holds records, read_committed
   * (the last stable offset: a transaction still open is not waited for), and how many partitions
   * the topic has.
   */
  private async endOffsets(): Promise<{ ends: Map<number, bigint>; partitions: number }> {
    const admin = this.options.kafka.admin();
    const ends = new Map<number, bigint>();
    let partitions = 0;
    await startupStep(`the end offsets of ${this.options.topic}`, async () => {
      await admin.connect();
      try {
        // A topic created a moment ago may not have its leaders yet; also outside a service's start.
        const offsets = await untilNotTransient(() => admin.fetchTopicOffsets(this.options.topic));
        partitions = offsets.length;
        for (const { partition, high, low } of offsets) {
          if (BigInt(high) > BigInt(low)) ends.set(partition, BigInt(high));
        }
      } finally {
        await admin.disconnect();
      }
    });
    return { ends, partitions };
  }

  /** Resolves once the record at `position` has been applied (read-your-writes for a record this process produced). */
  waitFor(position: TopicPosition, signal?: AbortSignal): Promise<void> {
    return this.positions.wait(position.partition, BigInt(position.offset), signal);
  }

  /**
   * Resolves once everything committed to the topic before this call has been applied: of every
   * partition, or only of `partitions` (a state partition, after its new owner fenced the old one).
   */
  async catchUp(signal?: AbortSignal, partitions?: readonly number[]): Promise<void> {
    const ends = [...(await this.endOffsets()).ends].filter(([partition]) => partitions === undefined || partitions.includes(partition));
    await Promise.all(ends.map(([partition, end]) => this.positions.wait(partition, end - 1n, signal)));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const err = new Error(`${this.options.what} reader stopped`);
    this.positions.fail(err);
    this.rejectCaughtUp(err);
    await this.consumer?.disconnect().catch(() => undefined);
  }
}

/**
 * Produces one record of a compacted table (a null value: a tombstone) with acks from every
 * replica, and resolves once `reader`, this process's own reader of the topic, has applied it:
 * read-your-writes for the control planes that keep their truth in compacted topics (trails,
 * CloudTrail Lake's event data stores). `what` names the record in errors, e.g. `trail "audit"`.
 */
export async function writeAndApply(o: { producer: KafkaProducer; reader: Pick<CompactedTopicReader<unknown>, 'waitFor' | 'catchUp'>; topic: string; key: string; value: Buffer | null; timeoutMs: number; what: string }): Promise<void> {
  const [written] = await o.producer.send({ topic: o.topic, acks: -1, messages: [{ key: o.key, value: o.value }] });
  if (!written) throw new Error(`writing ${o.what}: the broker acknowledged nothing`);
  try {
    const signal = AbortSignal.timeout(o.timeoutMs);
    // Without the offset (kafkajs types it optional), everything written so far covers this write.
    await (written.baseOffset !== undefined ? o.reader.waitFor({ partition: written.partition, offset: written.baseOffset }, signal) : o.reader.catchUp(signal));
  } catch (err) {
    throw new Error(`${o.what} was written (partition ${written.partition}, offset ${written.baseOffset}) but not read back within ${o.timeoutMs} ms: ${(err as Error).message}`, { cause: err });
  }
}
