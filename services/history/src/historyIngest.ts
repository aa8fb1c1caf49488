import { isDatabaseUnavailable, retentionCutoff, toEventRow, UnstorableEventError, type EventRow, type EventWriter } from '@opentrail/history';
import type { Logger } from '@opentrail/observability';
import { deadLetterMessage, retry, RetryAbortedError, type BatchContext, type InputRecord, type OutputMessage, type PartitionHandler, type Work } from '@opentrail/runtime';
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
  metrics: HistoryMetrics;
  logger: Logger;
  now?: () => Date;
}

/** Dead-letter reasons the history service adds to the runtime's. */
export const HISTORY_DLQ_REASONS = {
  /** The event cannot be stored as it is (e.g. a lone surrogate, an unreadable eventTime). */
  unstorable: 'HISTORY_UNSTORABLE',
  /** Dated beyond futureToleranceSeconds from now. */
  future: 'HISTORY_EVENT_TIME_IN_FUTURE',
  /** PostgreSQL refused the row (e.g. a NUL character in text); the detail carries its SQLSTATE and message. */
  refused: 'HISTORY_DATABASE_REFUSED',
} as const;

/**
 * The history service's handler: each batch of enriched events becomes rows, written in
 * transactions of at most maxRows (up to `writers` of them at once) and durable before
 * processBatch returns, so the runtime commits the offsets only after the rows are. A replay (crash, rebalance) inserts nothing twice (ON CONFLICT
 * DO NOTHING on eventID + eventTime). While PostgreSQL is unreachable the batch waits and retries
 * (the partition is not fetched further: backpressure); what PostgreSQL refuses is dead-lettered.
 */
export class HistoryIngest implements PartitionHandler<EnrichedEvent> {
  private readonly now: () => Date;

  constructor(private readonly options: HistoryIngestOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async processBatch(records: InputRecord<EnrichedEvent>[], context: BatchContext): Promise<Work | void> {
    const { metrics, deadLetterTopic, maxRows } = this.options;
    const outputs: OutputMessage[] = [];
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
          if (!(err instanceof UnstorableEventError)) throw err;
          deadLetter(record, HISTORY_DLQ_REASONS.unstorable, err.message);
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
    // while PostgreSQL takes one chunk, this process converts and encodes the next, so the two
    // sides work on two cores instead of waiting on each other (bench/history-ingest.bench.ts).
    // Each chunk is its own transaction; processBatch still returns only when every chunk is
    // durable, and a chunk written again after the others committed is a replay the writer skips.
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
    return { outputs };
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
