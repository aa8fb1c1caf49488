/**
 * HistoryIngest's pipelined writes against a writer held in the test's hand (the real PostgreSQL
 * proof is test/history/*.test.ts: SIGKILL mid-ingest, PostgreSQL stopped and restarted). What is
 * checked here is the bookkeeping those rely on: offsets held until the write is durable, at most
 * writesInFlight writes a partition, dead letters handed over once written, nothing of a revoked
 * partition handed over, a record the conversion fails on dead-lettered alone.
 */
import { describe, expect, it } from 'vitest';
import { toApiCallEvent } from '@opentrail/cloudtrail';
import type { EventRow, EventWriter, WriteResult } from '@opentrail/history';
import { createLogger, ServiceMetrics } from '@opentrail/observability';
import { DLQ_HEADERS, PROCESSING_FAILED, type BatchContext, type InputRecord } from '@opentrail/runtime';
import type { EnrichedEvent } from '@opentrail/serde';
import { TrafficGenerator } from '@opentrail/testing';
import { HistoryIngest } from '../src/historyIngest.js';
import { historyMetrics } from '../src/metrics.js';

/** A writer whose writes finish when the test says so. */
class HeldWriter {
  readonly calls: { rows: EventRow[]; finish: (result?: Partial<WriteResult>) => void; fail: (err: Error) => void }[] = [];
  write(rows: EventRow[]): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.calls.push({
        rows,
        finish: (result) => resolve({ inserted: rows.length, duplicates: 0, resources: 0, refused: [], ...result }),
        fail: reject,
      });
    });
  }
}

const traffic = new TrafficGenerator({ seed: 7, clock: () => new Date() });

function records(partition: number, from: number, count: number): InputRecord<EnrichedEvent>[] {
  return Array.from({ length: count }, (_, i) => {
    const event = toApiCallEvent(traffic.next());
    return {
      topic: 'enriched',
      partition,
      offset: String(from + i),
      key: null,
      value: { event } as unknown as EnrichedEvent,
      headers: {},
      timestamp: String(Date.now()),
      bytes: 100,
      raw: Buffer.from('x'),
    };
  });
}

function context(partition: number, signal = new AbortController().signal): BatchContext {
  return { topic: 'enriched', partition, highWatermark: '0', heartbeat: async () => undefined, signal };
}

function ingest(writer: HeldWriter, options: { writesInFlight?: number; onWriteFailed?: (err: unknown) => void } = {}) {
  return new HistoryIngest({
    writer: writer as unknown as EventWriter,
    deadLetterTopic: 'dlq',
    retentionDays: 90,
    futureToleranceSeconds: 86_400,
    maxRows: 1000,
    writers: 1,
    metrics: historyMetrics(new ServiceMetrics('history')),
    logger: createLogger('history', 'silent'),
    ...options,
  });
}

const tick = () => new Promise((r) => setImmediate(r));
const tp = (partition: number) => ({ topic: 'enriched', partition });

describe('HistoryIngest: pipelined writes', () => {
  it('returns before the write is durable and holds the offsets from its first until it is', async () => {
    const writer = new HeldWriter();
    const handler = ingest(writer);
    await handler.processBatch(records(0, 100, 5), context(0));
    expect(writer.calls).toHaveLength(1);
    expect(handler.heldFrom(tp(0))).toBe(100n);
    await handler.processBatch(records(0, 105, 5), context(0));
    expect(handler.heldFrom(tp(0))).toBe(100n);
    writer.calls[0]!.finish();
    await tick();
    // The first is durable: held from the second's first offset now.
    expect(handler.heldFrom(tp(0))).toBe(105n);
    writer.calls[1]!.finish();
    await tick();
    expect(handler.heldFrom(tp(0))).toBeUndefined();
    // Another partition's bookkeeping is its own.
    expect(handler.heldFrom(tp(1))).toBeUndefined();
  });

  it('a later write settling first does not release the earlier one', async () => {
    const writer = new HeldWriter();
    const handler = ingest(writer);
    await handler.processBatch(records(0, 0, 3), context(0));
    await handler.processBatch(records(0, 3, 3), context(0));
    writer.calls[1]!.finish();
    await tick();
    expect(handler.heldFrom(tp(0))).toBe(0n);
    writer.calls[0]!.finish();
    await tick();
    expect(handler.heldFrom(tp(0))).toBeUndefined();
  });

  it('waits for the oldest write once writesInFlight are on their way', async () => {
    const writer = new HeldWriter();
    const handler = ingest(writer, { writesInFlight: 2 });
    await handler.processBatch(records(0, 0, 2), context(0));
    await handler.processBatch(records(0, 2, 2), context(0));
    let third = false;
    const pending = handler.processBatch(records(0, 4, 2), context(0)).then(() => (third = true));
    await tick();
    expect(third).toBe(false);
    expect(writer.calls).toHaveLength(2);
    writer.calls[0]!.finish();
    await pending;
    expect(writer.calls).toHaveLength(3);
    expect(handler.inFlight(0)).toBe(2);
  });

  it('hands over the dead letters of a write once it is durable, with the call after it', async () => {
    const writer = new HeldWriter();
    const handler = ingest(writer);
    const first = await handler.processBatch(records(0, 0, 3), context(0));
    expect(first?.outputs).toEqual([]);
    const refusedRow = writer.calls[0]!.rows[1]!;
    writer.calls[0]!.finish({ inserted: 2, refused: [{ row: refusedRow, reason: '22P05: unsupported Unicode escape sequence' }] });
    await tick();
    const work = await handler.flush(tp(0), 'tick');
    expect(work?.outputs).toHaveLength(1);
    expect(work?.outputs?.[0]!.topic).toBe('dlq');
    expect(String(work?.outputs?.[0]!.headers?.[DLQ_HEADERS.reason])).toBe('HISTORY_DATABASE_REFUSED');
    // Handed over once.
    expect((await handler.flush(tp(0), 'tick'))?.outputs).toEqual([]);
  });

  it('at shutdown, flush waits for the writes on their way', async () => {
    const writer = new HeldWriter();
    const handler = ingest(writer);
    await handler.processBatch(records(0, 0, 3), context(0));
    let flushed = false;
    const flush = handler.flush(tp(0), 'shutdown').then(() => (flushed = true));
    await tick();
    expect(flushed).toBe(false);
    writer.calls[0]!.finish();
    await flush;
    expect(handler.heldFrom(tp(0))).toBeUndefined();
  });

  it('a revoked partition hands over nothing more and holds nothing', async () => {
    const writer = new HeldWriter();
    const handler = ingest(writer);
    await handler.processBatch(records(3, 40, 3), context(3));
    handler.onRevoked([tp(3)]);
    expect(handler.heldFrom(tp(3))).toBeUndefined();
    writer.calls[0]!.finish({ refused: [{ row: writer.calls[0]!.rows[0]!, reason: 'x' }] });
    await tick();
    expect((await handler.flush(tp(3), 'tick'))?.outputs).toEqual([]);
  });

  it('a failed write keeps its offsets held and is reported, so that the partition is re-read', async () => {
    const writer = new HeldWriter();
    const failures: unknown[] = [];
    const handler = ingest(writer, { onWriteFailed: (err) => failures.push(err) });
    await handler.processBatch(records(0, 10, 3), context(0));
    await handler.processBatch(records(0, 13, 3), context(0));
    writer.calls[0]!.fail(new Error('42P01: relation does not exist'));
    writer.calls[1]!.finish();
    await tick();
    expect(failures).toHaveLength(1);
    expect(handler.heldFrom(tp(0))).toBe(10n);
  });

  it('a write ended by a stop is not reported as a failure, and its offsets stay held', async () => {
    const writer = new HeldWriter();
    const failures: unknown[] = [];
    const handler = ingest(writer, { onWriteFailed: (err) => failures.push(err) });
    const stop = new AbortController();
    await handler.processBatch(records(0, 0, 3), context(0, stop.signal));
    stop.abort();
    writer.calls[0]!.fail(new Error('Connection terminated'));
    await tick();
    expect(failures).toEqual([]);
    expect(handler.heldFrom(tp(0))).toBe(0n);
  });

  it('a record the conversion throws on is dead-lettered alone; the rest are written', async () => {
    const writer = new HeldWriter();
    const handler = ingest(writer);
    const batch = records(0, 0, 3);
    // A value whose event the conversion cannot read (no userIdentity getter survives): it throws.
    Object.defineProperty(batch[1]!.value.event, 'eventTime', {
      get() {
        throw new TypeError('unreadable');
      },
    });
    await handler.processBatch(batch, context(0));
    expect(writer.calls[0]!.rows.map((r) => r.eventId)).toEqual([batch[0]!.value.event.eventID, batch[2]!.value.event.eventID]);
    writer.calls[0]!.finish();
    await tick();
    const work = await handler.flush(tp(0), 'tick');
    expect(work?.outputs).toHaveLength(1);
    expect(String(work?.outputs?.[0]!.headers?.[DLQ_HEADERS.reason])).toBe(PROCESSING_FAILED);
    expect(handler.heldFrom(tp(0))).toBeUndefined();
  });
});
