import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { OpentrailError } from '@opentrail/errors';
import type { Logger } from '@opentrail/observability';
import { checkLakeQuery } from '../sql/guard.js';
import type { EventDataStoreCatalog } from '../stores/catalog.js';
import { QueryCancelledError, QueryEngineError, type QueryEngine } from './engine.js';
import { FINAL_STATUSES, type LakeQueryRecord, type LakeQueryStore, type ResultRow } from './queryStore.js';
import type { LakeTables } from './tables.js';

/**
 * CloudTrail Lake's queries: StartQuery checks the statement (the guard: one SELECT over stores the
 * caller may read, parameters bound), records it, and runs it in the background on the engine;
 * the rows go to PostgreSQL page by page (LakeQueryStore), where any API instance reads them. A
 * cancel, from any instance, is seen at the next page and ends the engine's query.
 */

export interface LakeCaller {
  accountId: string;
  region: string;
}

export interface LakeQueriesOptions {
  engine: QueryEngine;
  store: LakeQueryStore;
  stores: EventDataStoreCatalog;
  tables: LakeTables;
  /** For DeliveryS3Uri. */
  s3?: S3Client;
  logger: Logger;
  /** Queries running at once per account (CloudTrail: 10, MaxConcurrentQueriesException beyond). */
  maxConcurrentPerAccount: number;
  /** A query running longer is TIMED_OUT (CloudTrail: one hour). */
  timeoutMs: number;
  /**
   * A query whose result values come to more bytes (UTF-8 text) is stopped and FAILED, its rows so
   * far kept: results live in PostgreSQL, and one `SELECT *` over a year must not fill it.
   */
  maxResultBytes: number;
  now?: () => number;
}

/** Why StartQuery refuses: CloudTrail's error code and message. */
export class LakeQueryRefused extends OpentrailError<'InvalidParameterException' | 'MaxConcurrentQueriesException'> {}

/** A result value as Lake gives it: text (numbers and booleans spelled out, nested values as JSON), or null. */
export function resultText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

/** Why the run's AbortController was aborted, when not by a cancel. */
const TIMEOUT = 'timeout';
const RESULT_LIMIT = 'result limit';

/** How long past its timeout a query nobody here runs may still be finished by another instance. */
const ORPHAN_GRACE_MS = 60_000;

const DELIVERY_URI = /^s3:\/\/([a-z0-9][.\-a-z0-9]{1,61}[a-z0-9])(?:\/(.*))?$/;

export class LakeQueries {
  /** Queries this instance runs: their cancel switch, and whose they are. */
  private readonly running = new Map<string, { abort: AbortController; accountId: string; done: Promise<void> }>();
  private readonly now: () => number;

  constructor(private readonly o: LakeQueriesOptions) {
    this.now = o.now ?? Date.now;
  }

  /** The stores a caller may read: its own, in its region, not pending deletion. */
  private readable(caller: LakeCaller, id: string) {
    const record = this.o.stores.get(id);
    if (!record || record.definition.accountId !== caller.accountId || record.definition.homeRegion !== caller.region || record.status === 'PENDING_DELETION') return undefined;
    return record;
  }

  async start(input: { statement: string; parameters?: string[]; deliveryS3Uri?: string }, caller: LakeCaller): Promise<{ queryId: string }> {
    if (input.deliveryS3Uri !== undefined && !DELIVERY_URI.test(input.deliveryS3Uri)) throw new LakeQueryRefused('InvalidParameterException', 'DeliveryS3Uri must be s3://<bucket>[/<prefix>].');
    const checked = checkLakeQuery(input.statement, {
      ...(input.parameters ? { parameters: input.parameters } : {}),
      resolveStore: (reference) => {
        const record = this.readable(caller, reference.toLowerCase());
        return record ? { id: record.definition.id, table: this.o.tables.qualifiedName(record.definition.id) } : undefined;
      },
    });
    const mine = [...this.running.values()].filter((r) => r.accountId === caller.accountId).length;
    if (mine >= this.o.maxConcurrentPerAccount) throw new LakeQueryRefused('MaxConcurrentQueriesException', `You are already running ${mine} queries, the maximum.`);
    const queryId = randomUUID();
    await this.o.store.create({ queryId, accountId: caller.accountId, region: caller.region, stores: [...checked.storesRead], statement: input.statement, ...(input.deliveryS3Uri ? { deliveryS3Uri: input.deliveryS3Uri } : {}), createdAt: this.now() });
    const abort = new AbortController();
    const done = this.run(queryId, checked.statement, [...checked.storesRead], caller, abort, input.deliveryS3Uri).finally(() => this.running.delete(queryId));
    this.running.set(queryId, { abort, accountId: caller.accountId, done });
    return { queryId };
  }

  /**
   * A query as it stands. One still QUEUED or RUNNING well past the timeout belonged to an API
   * instance that stopped without finishing it (a crash): it is TIMED_OUT, not running forever.
   */
  async current(queryId: string): Promise<LakeQueryRecord | undefined> {
    const query = await this.o.store.get(queryId);
    if (query && !FINAL_STATUSES.has(query.status) && !this.running.has(queryId) && this.now() - query.createdAt > this.o.timeoutMs + ORPHAN_GRACE_MS) {
      await this.o.store.setStatus(queryId, 'TIMED_OUT', { errorMessage: 'The query was not finished: the instance running it stopped.' });
      return this.o.store.get(queryId);
    }
    return query;
  }

  /** Cancels a query of the caller's that is not final yet: its new status. */
  async cancel(queryId: string): Promise<boolean> {
    const moved = await this.o.store.setStatus(queryId, 'CANCELLED');
    this.running.get(queryId)?.abort.abort();
    return moved;
  }

  private async run(queryId: string, statement: string, stores: string[], caller: LakeCaller, abort: AbortController, deliveryS3Uri: string | undefined): Promise<void> {
    const { engine, store, logger } = this.o;
    const started = this.now();
    const timer = setTimeout(() => abort.abort(new Error(TIMEOUT)), this.o.timeoutMs);
    const header: string[] = [];
    // The CSV for DeliveryS3Uri is compressed as it comes: memory holds the gzip, not the text.
    const delivery = deliveryS3Uri ? new GzipText() : undefined;
    let resultBytes = 0;
    let next = 0;
    let lastCheck = started;
    try {
      await this.o.tables.prepare(stores, abort.signal);
      if (!(await store.setStatus(queryId, 'RUNNING'))) return;
      const result = await engine.execute(statement, {
        user: 'lake-query',
        signal: abort.signal,
        onRows: async (columns, rows) => {
          if (header.length === 0) {
            header.push(...columns);
            await delivery?.write(`${header.map((h) => csvField(h)).join(',')}\n`);
          }
          const page: ResultRow[] = rows.map((row) => columns.map((c, i): [string, string | null] => [c, resultText(row[i])]));
          for (const row of page) for (const [, v] of row) resultBytes += v === null ? 0 : Buffer.byteLength(v);
          if (resultBytes > this.o.maxResultBytes) {
            abort.abort(new Error(RESULT_LIMIT));
            throw new QueryCancelledError();
          }
          await store.appendRows(queryId, next, page);
          next += page.length;
          if (delivery) await delivery.write(page.map((row) => `${row.map(([, v]) => csvField(v)).join(',')}\n`).join(''));
        },
        // Once a second: what has been scanned so far (DescribeQuery, the console), and whether
        // the query was cancelled, which, done on another instance, is only in the database.
        onProgress: async ({ processedBytes, processedRows }) => {
          if (this.now() - lastCheck < 1000) return;
          lastCheck = this.now();
          if (!(await store.setStatus(queryId, 'RUNNING', { bytesScanned: processedBytes, eventsScanned: processedRows }))) abort.abort();
        },
      });
      if (header.length === 0) await delivery?.write(`${result.columns.map((h) => csvField(h)).join(',')}\n`);
      await store.setStatus(queryId, 'FINISHED', { executionMs: this.now() - started, bytesScanned: result.processedBytes, eventsScanned: result.processedRows });
      if (deliveryS3Uri !== undefined && delivery) await this.deliver(queryId, caller, deliveryS3Uri, await delivery.end());
    } catch (err) {
      const executionMs = this.now() - started;
      const reason = abort.signal.reason instanceof Error ? abort.signal.reason.message : undefined;
      if (reason === RESULT_LIMIT) {
        const message = `The query's results exceed ${this.o.maxResultBytes} bytes, the limit (api.lake.maxResultBytes); the rows before it are kept. Narrow the query: an eventTime range, fewer columns, or a LIMIT.`;
        await store.setStatus(queryId, 'FAILED', { executionMs, errorMessage: message }).catch(() => undefined);
        if (deliveryS3Uri) await store.setDelivery(queryId, 'FAILED').catch(() => undefined);
      } else if (abort.signal.aborted || err instanceof QueryCancelledError) {
        const timedOut = reason === TIMEOUT;
        await store.setStatus(queryId, timedOut ? 'TIMED_OUT' : 'CANCELLED', { executionMs }).catch(() => undefined);
        if (deliveryS3Uri) await store.setDelivery(queryId, 'CANCELLED').catch(() => undefined);
      } else {
        // The engine's message for the statement's faults (a column that does not exist); a
        // generic one for the engine's own, which the log keeps.
        const message = err instanceof QueryEngineError && err.errorType === 'USER_ERROR' ? err.message : 'The query failed on the query engine.';
        if (!(err instanceof QueryEngineError && err.errorType === 'USER_ERROR')) logger.error({ err, queryId }, 'a Lake query failed');
        await store.setStatus(queryId, 'FAILED', { executionMs, errorMessage: message.slice(0, 2000) }).catch(() => undefined);
        if (deliveryS3Uri) await store.setDelivery(queryId, 'FAILED').catch(() => undefined);
      }
    } finally {
      clearTimeout(timer);
      delivery?.destroy();
    }
  }

  /** Results to `<uri>/AWSLogs/<account>/CloudTrail-Lake/Query/<yyyy>/<mm>/<dd>/<queryId>/result_1.csv.gz`, as Lake files them. */
  private async deliver(queryId: string, caller: LakeCaller, uri: string, body: Buffer): Promise<void> {
    const m = DELIVERY_URI.exec(uri)!;
    const bucket = m[1]!;
    const prefix = (m[2] ?? '').replace(/\/+$/, '');
    const day = new Date(this.now()).toISOString().slice(0, 10).replace(/-/g, '/');
    const key = `${prefix ? `${prefix}/` : ''}AWSLogs/${caller.accountId}/CloudTrail-Lake/Query/${day}/${queryId}/result_1.csv.gz`;
    try {
      if (!this.o.s3) throw new Error('no S3 client');
      await this.o.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/csv', ContentEncoding: 'gzip' }));
      await this.o.store.setDelivery(queryId, 'SUCCESS');
    } catch (err) {
      const name = (err as { name?: string }).name;
      this.o.logger.warn({ err, queryId, bucket }, 'delivering Lake query results to S3 failed');
      await this.o.store.setDelivery(queryId, name === 'NoSuchBucket' ? 'RESOURCE_NOT_FOUND' : name === 'AccessDenied' ? 'ACCESS_DENIED' : 'FAILED');
    }
  }

  /** Waits for the queries this instance runs (shutdown: cancels them first). */
  async stop(): Promise<void> {
    for (const r of this.running.values()) r.abort.abort();
    await Promise.all([...this.running.values()].map((r) => r.done.catch(() => undefined)));
  }
}

/** Text compressed with gzip as it is written; end() gives the whole file. */
class GzipText {
  private readonly gzip = createGzip();
  private readonly chunks: Buffer[] = [];

  constructor() {
    this.gzip.on('data', (chunk: Buffer) => this.chunks.push(chunk));
  }

  /** Resolves once zlib takes more: the text waiting for it stays bounded. */
  async write(text: string): Promise<void> {
    if (!this.gzip.write(text)) await once(this.gzip, 'drain');
  }

  async end(): Promise<Buffer> {
    const ended = once(this.gzip, 'end');
    this.gzip.end();
    await ended;
    return Buffer.concat(this.chunks);
  }

  destroy(): void {
    this.gzip.destroy();
  }
}

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
function csvField(value: string | null): string {
  if (value === null) return '';
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
