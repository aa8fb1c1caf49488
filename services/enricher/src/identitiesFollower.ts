import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from '@opentrail/observability';
import { logConsumerCrash } from '@opentrail/runtime';
import { SerdeError, type AvroSerde, type Identity } from '@opentrail/serde';
import type { IdentityTable } from './identityTable.js';
import type { EnricherMetrics } from './metrics.js';

export interface IdentitiesFollowerOptions {
  kafka: Kafka;
  topic: string;
  serde: AvroSerde<Identity>;
  table: IdentityTable;
  logger: Logger;
  metrics: EnricherMetrics;
  /** Prefix of this reader's own consumer group (a fresh one per process). */
  groupIdPrefix: string;
}

/**
 * Reads the whole compacted identities topic into the table, then keeps following it. Every
 * enricher instance needs every key, so this is not a member of the enricher's group: kafkajs has no
 * assign(), so it is the sole member of a group of its own (unique per process), reads from the
 * beginning and never commits.
 *
 * "Caught up" means: every partition read up to the end offset it had when the reader started.
 * The enricher enriches nothing before that, so a restarted instance attributes as well as the one
 * before it.
 */
export class IdentitiesFollower {
  private consumer: Consumer | undefined;
  private readonly targets = new Map<number, bigint>();
  private readonly positions = new Map<number, bigint>();
  private resolveCaughtUp!: () => void;
  private rejectCaughtUp!: (err: Error) => void;
  private isCaughtUp = false;
  private crashed: string | undefined;
  private startedAt = 0;
  /** Resolves once the table holds everything the topic held at start. */
  readonly caughtUp: Promise<void>;

  constructor(private readonly options: IdentitiesFollowerOptions) {
    this.caughtUp = new Promise<void>((resolve, reject) => {
      this.resolveCaughtUp = resolve;
      this.rejectCaughtUp = reject;
    });
    // Nobody may be awaiting yet when a start-up failure rejects it.
    this.caughtUp.catch(() => undefined);
  }

  get ready(): boolean | string {
    if (this.isCaughtUp) return true;
    const behind = [...this.targets].reduce((sum, [p, end]) => sum + Number(end - (this.positions.get(p) ?? 0n)), 0);
    return `reading the identities topic: ${behind} records to go`;
  }

  get healthy(): boolean | string {
    return this.crashed === undefined || `identities reader stopped: ${this.crashed}`;
  }

  async start(): Promise<void> {
    const { kafka, topic, serde, table, logger, metrics: m } = this.options;
    this.startedAt = Date.now();
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
        if (BigInt(high) > BigInt(low)) this.targets.set(partition, BigInt(high));
      }
    } finally {
      await admin.disconnect();
    }
    logger.info({ topic, partitions: this.targets.size, records: [...this.targets.values()].reduce((a, b) => a + b, 0n).toString() }, 'reading the identities table');

    const consumer = kafka.consumer({
      groupId: `${this.options.groupIdPrefix}-identities-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    // END_BATCH_PROCESS also fires for batches that held only transaction markers, which never
    // reach eachBatch: without it a topic ending in a marker would never count as read.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => this.advance(payload.partition, BigInt(payload.lastOffset) + 1n));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      logConsumerCrash(logger, payload, 'identities reader');
      if (!payload.restart) {
        this.crashed = payload.error.message;
        this.rejectCaughtUp(payload.error);
      }
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        // One registry round trip per unknown schema id; a registry outage throws and kafkajs retries the batch.
        await serde.prepare(batch.messages.map((message) => message.value));
        const now = Date.now();
        let values = 0;
        let tombstones = 0;
        let undecodable = 0;
        for (const message of batch.messages) {
          const key = message.key?.toString();
          if (!key) {
            undecodable++;
            continue;
          }
          if (message.value === null || message.value.length === 0) {
            table.apply(key, null);
            tombstones++;
            continue;
          }
          try {
            table.apply(key, serde.decode(message.value), now);
            values++;
          } catch (err) {
            if (!(err instanceof SerdeError) || err.canRetry) throw err;
            undecodable++;
            logger.warn({ partition: batch.partition, offset: message.offset, reason: err.code, err: err.message }, 'identities record skipped: it cannot be read');
          }
        }
        if (values) m.topicRecords.inc({ kind: 'value' }, values);
        if (tombstones) m.topicRecords.inc({ kind: 'tombstone' }, tombstones);
        if (undecodable) m.topicRecords.inc({ kind: 'undecodable' }, undecodable);
      },
    });
    this.check();
  }

  private advance(partition: number, position: bigint) {
    const known = this.positions.get(partition);
    if (known === undefined || position > known) this.positions.set(partition, position);
    this.check();
  }

  private check() {
    if (this.isCaughtUp) return;
    for (const [partition, end] of this.targets) {
      if ((this.positions.get(partition) ?? 0n) < end) return;
    }
    this.isCaughtUp = true;
    this.options.logger.info({ entries: this.options.table.size, ms: Date.now() - this.startedAt }, 'identities table caught up');
    this.resolveCaughtUp();
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.rejectCaughtUp(new Error('stopped'));
  }
}
