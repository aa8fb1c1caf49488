import { isDatabaseUnavailable, retentionCutoff, toEventRow, UnstorableEventError, type EventRow, type EventWriter } from '@opentrail/history';
import type { Logger } from '@opentrail/observability';
import { deadLetterMessage, failureDetail, PROCESSING_FAILED, retry, RetryAbortedError, type BatchContext, type InputRecord, type OutputMessage, type PartitionHandler, type TopicPartition, type Work } from '@opentrail/runtime';
import type { EnrichedEvent } from '@opentrail/serde';
import type { HistoryMetrics } from './metrics.js';

export interface HistoryIngestOptions {
  writer: EventWriter;
  deadLetterTopic: string;
  retentionDays: number;
  futureToleranceSeconds: number;
  maxRows: number;
  /** Chunks of one batch written at once, each on its own connection. @default 1 */
  writers?: number;
  /** Batches of one partition on their way into PostgreSQL at once. @default 2 */
  writesInFlight?: number;
  /** A write failed for a reason other than a stop (the service stops itself: see main.ts). */
  onWriteFailed?: (err: unknown) => void;
  metrics: HistoryMetrics;
  logger: Logger;
  now?: () => Date;
}

const DEFAULT_WRITES_IN_FLIGHT = 2;

/** Dead-letter reasons the history service adds to the runtime's. */
export const HISTORY_DLQ_REASONS = {
  /** The event cannot be stored as it is (e.g. a lone surrogate, an unreadable eventTime). */
  unstorable: 'HISTORY_UNSTORABLE',
  /** Dated beyond futureToleranceSeconds from now. */
  future: 'HISTORY_EVENT_TIME_IN_FUTURE',
  /** PostgreSQL refused the row (e.g. a NUL character in text); the detail carries its SQLSTATE and message. */
  refused: 'HISTORY_DATABASE_REFUSED',
} as const;

/** A batch's rows on their way into PostgreSQL, and what came of it. */
interface PendingWrite {
  /** The batch's first offset: the partition's offsets are committed up to it, not past, until the write settles. */
  firstOffset: bigint;
  done: Promise<void>;
  settled: boolean;
  /** Set aside (stop, revocation): its rows are not known to be durable, so its offsets stay held. */
  abandoned: boolean;
  /** Dead letters found on the way (refused, unstorable, dated ahead), handed to the runtime once settled. */
  outputs: OutputMessage[];
}

/**
 * The history service's handler: each batch of enriched events becomes rows, written in
 * transactions of at most maxRows (up to `writers` of them at once). A replay (crash, rebalance)
 * inserts nothing twice (the primary key on eventID + eventTime). While PostgreSQL is unreachable the
 * writes wait and retry (the partition is not fetched further: backpressure); what PostgreSQL
 * refuses is dead-lettered.
 *
 * Writes are pipelined: processBatch starts a batch's write and returns, so that the runtime fetches,
 * decodes and validates the next batch of the partition while PostgreSQL takes this one (on one busy
 * partition the two sides otherwise wait on each other, bench/history-ingest.bench.ts). Offsets stay
 * safe through heldFrom: the runtime commits a partition only up to the first offset of its oldest
 * write not yet durable, so a crash re-reads exactly what might not be in the table. At most
 * `writesInFlight` batches per partition are on their way; the next one waits for the oldest.
 */
export class HistoryIngest implements PartitionHandler<EnrichedEvent> {
  private readonly now: () => Date;
  /** Per partition, its writes in offset order (settled ones leave from the front). */
  private readonly writes = new Map<number, PendingWrite[]>();

  constructor(private readonly options: HistoryIngestOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async processBatch(records: InputRecord<EnrichedEvent>[], context: BatchContext): Promise<Work | void> {
    const queue = this.queueOf(context.partition);
    const limit = Math.max(1, this.options.writesInFlight ?? DEFAULT_WRITES_IN_FLIGHT);
    // Backpressure: a partition whose writes are all on their way waits for its oldest.
    while (this.inFlight(context.partition) >= limit) await queue.find((w) => !w.settled)!.done;
    if (records.length > 0) queue.push(this.startWrite(records, context));
    return { outputs: this.collect(context.partition) };
  }

  /** Everything written so far (at shutdown: after the writes on their way settle) is handed over. */
  async flush(partition: TopicPartition, reason: 'tick' | 'shutdown'): Promise<Work | void> {
    if (reason === 'shutdown') await Promise.all((this.writes.get(partition.partition) ?? []).map((w) => w.done));
    return { outputs: this.collect(partition.partition) };
  }

  heldFrom(partition: TopicPartition): bigint | undefined {
    const oldest = (this.writes.get(partition.partition) ?? []).find((w) => !w.settled || w.abandoned);
    return oldest?.firstOffset;
  }

  /**
   * The partitions moved: their writes on their way may still land (the next owner's replay then
   * skips those rows), but nothing of them is handed over or committed here any more.
   */
  onRevoked(partitions: TopicPartition[]): void {
    for (const p of partitions) this.writes.delete(p.partition);
  }

  /** How many writes of this partition are still on their way. */
  inFlight(partition: number): number {
    return (this.writes.get(partition) ?? []).filter((w) => !w.settled).length;
  }

  private queueOf(partition: number): PendingWrite[] {
    let queue = this.writes.get(partition);
    if (!queue) this.writes.set(partition, (queue = []));
    return queue;
  }

  /** The settled writes at the queue's front leave it; their dead letters go out with this call's work. */
  private collect(partition: number): OutputMessage[] {
    const queue = this.writes.get(partition);
    if (!queue) return [];
    const outputs: OutputMessage[] = [];
    while (queue.length > 0 && queue[0]!.settled && !queue[0]!.abandoned) outputs.push(...queue.shift()!.outputs);
    return outputs;
  }

  private startWrite(records: InputRecord<EnrichedEvent>[], context: BatchContext): PendingWrite {
    const write: PendingWrite = { firstOffset: BigInt(records[0]!.offset), done: Promise.resolve(), settled: false, abandoned: false, outputs: [] };
    write.done = this.writeBatch(records, context, write.outputs).then(
      () => {
        write.settled = true;
      },
      (err: unknown) => {
        // A stop ends a write without its rows (its retries aborted); anything else here is
        // unexpected (unreachable is retried for as long as it lasts, refusals are dead letters).
        // Either way its offsets stay held, and the partition is re-read from the committed offset.
        write.settled = true;
        write.abandoned = true;
        if (!(err instanceof RetryAbortedError) && !context.signal.aborted) {
          this.options.logger.error({ err, partition: context.partition, offset: write.firstOffset.toString() }, 'writing a batch failed; its offsets stay uncommitted and the partition is re-read by its next owner');
          this.options.onWriteFailed?.(err);
        }
      },
    );
    return write;
  }

  /** Writes one batch: rows in chunks of maxRows on up to `writers` connections; dead letters into `outputs`. */
  private async writeBatch(records: InputRecord<EnrichedEvent>[], context: BatchContext, outputs: OutputMessage[]): Promise<void> {
    const { metrics, deadLetterTopic, maxRows } = this.options;
    const deadLetter = (record: InputRecord<EnrichedEvent>, reason: string, detail: string) => {
      metrics.refused.inc({ reason });
      outputs.push({
        topic: deadLetterTopic,
        ...deadLetterMessage(
          { key: record.key, value: record.raw ?? null, headers: record.headers, offset: record.offset, timestamp: record.timestamp },
          { topic: record.topic, partition: record.partition, service: 'history' },
          { reason, detail },
        ),
      });
    };

    const now = this.now();
    const keepFrom = retentionCutoff(now, this.options.retentionDays);
    const latest = now.getTime() + this.options.futureToleranceSeconds * 1000;
    /** A chunk of the batch's records → the rows to write; the rest dead-lettered or skipped here. */
    const rowsOf = (chunk: InputRecord<EnrichedEvent>[]) => {
      const rows: { row: EventRow; record: InputRecord<EnrichedEvent> }[] = [];
      for (const record of chunk) {
        let row: EventRow;
        try {
          row = toEventRow(record.value.event);
        } catch (err) {
          // Anything else thrown here is this record's doing too (the conversion reads nothing but
          // the record): dead-lettered as the runtime dead-letters a record its handler fails on.
          if (err instanceof UnstorableEventError) deadLetter(record, HISTORY_DLQ_REASONS.unstorable, err.message);
          else deadLetter(record, PROCESSING_FAILED, failureDetail(err));
          continue;
        }
        if (row.day < keepFrom) {
          metrics.expired.inc();
          continue;
        }
        if (row.timeMs > latest) {
          deadLetter(record, HISTORY_DLQ_REASONS.future, `eventTime ${row.eventTime} is more than ${this.options.futureToleranceSeconds} s ahead of ${now.toISOString()}`);
          continue;
        }
        rows.push({ row, record });
      }
      return rows;
    };

    // The batch goes out in chunks of at most maxRows, on up to `writers` connections at once:
    // while PostgreSQL takes one chunk, this process converts and encodes the next. Each chunk is
    // its own transaction; the write settles when every chunk is durable, and a chunk written again
    // after the others committed is a replay the writer skips.
    let next = 0;
    let failed = false;
    const writeChunks = async () => {
      // A failed chunk fails the batch (its records are read again); the other writers stop taking chunks.
      while (next < records.length && !failed) {
        const chunk = rowsOf(records.slice(next, (next += maxRows)));
        if (chunk.length === 0) continue;
        const result = await this.writeDurably(chunk.map((c) => c.row), context).catch((err: unknown) => {
          failed = true;
          throw err;
        });
        metrics.rowsInserted.inc(result.inserted);
        metrics.duplicates.inc(result.duplicates);
        metrics.resourceRows.inc(result.resources);
        if (result.refused.length > 0) {
          const refused = new Map(result.refused.map((r) => [r.row, r.reason]));
          for (const c of chunk) {
            const reason = refused.get(c.row);
            if (reason !== undefined) deadLetter(c.record, HISTORY_DLQ_REASONS.refused, reason);
          }
          this.options.logger.warn({ partition: context.partition, count: result.refused.length, first: result.refused[0]!.reason }, 'PostgreSQL refused events; dead-lettered');
        }
        const durableAt = Date.now();
        for (const c of chunk) {
          const ts = Number(c.record.timestamp);
          if (ts > 0) metrics.ingestLatency.observe(Math.max(0, durableAt - ts) / 1000);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.options.writers ?? 1, Math.ceil(records.length / maxRows))) }, writeChunks));
  }

  /**
   * Writes until PostgreSQL takes the rows. Only "unreachable" is retried, for as long as it lasts
   * (the group membership is kept alive meanwhile); the processor stopping ends the wait, and the
   * rows are then re-read by the next owner from the committed offset.
   */
  private async writeDurably(rows: EventRow[], context: BatchContext) {
    const { writer, metrics, logger } = this.options;
    try {
      return await retry(
        async () => {
          const end = metrics.writeSeconds.startTimer();
          try {
            return await writer.write(rows);
          } finally {
            end();
          }
        },
        {
          retries: Infinity,
          initialDelayMs: 200,
          maxDelayMs: 5000,
          shouldRetry: isDatabaseUnavailable,
          signal: context.signal,
          onRetry: (err, attempt, delayMs) => {
            metrics.databaseRetries.inc();
            if (attempt === 1 || attempt % 10 === 0) logger.warn({ err, attempt, delayMs, partition: context.partition }, 'PostgreSQL unreachable; retrying the batch');
            void context.heartbeat().catch(() => undefined);
          },
        },
      );
    } catch (err) {
      throw err instanceof RetryAbortedError ? err.lastError : err;
    }
  }
}
