import { OpentrailError } from '@opentrail/errors';
import { Trino, type QueryResult } from 'trino-client';

/**
 * The engine Lake queries run on. Trino is the contract (issue 20): its SQL and its answers. The
 * query user is read-only by Trino's own access control (etc/access-control rules written by
 * packages/stack's startTrino): under the guard's parse, a second wall.
 */
export interface QueryEngine {
  execute(statement: string, options: ExecuteOptions): Promise<ExecuteResult>;
}

export interface ExecuteOptions {
  /** `lake-query` for users' statements; `lake-admin` for the table upkeep (CREATE TABLE, partitions). */
  user: 'lake-query' | 'lake-admin';
  signal?: AbortSignal;
  /** Each page of rows as it arrives, in order; the engine waits for it before fetching the next. */
  onRows?: (columns: readonly string[], rows: readonly unknown[][]) => Promise<void> | void;
  /**
   * What the query has read so far, after every page (with rows or not: Trino answers each poll
   * within about a second while it works), so that a long aggregation reports progress and notices
   * a cancel before its first row.
   */
  onProgress?: (progress: { processedBytes: number; processedRows: number }) => Promise<void> | void;
}

export interface ExecuteResult {
  columns: string[];
  /** Bytes and rows the query read (Trino's processedBytes / processedRows). */
  processedBytes: number;
  processedRows: number;
  elapsedMs: number;
}

/** A statement the engine refused or failed: its message is the engine's, its kind says whose fault. */
export class QueryEngineError extends OpentrailError<'QUERY_ENGINE_ERROR'> {
  constructor(
    message: string,
    /** USER_ERROR (the statement: a missing column, a type mismatch), or the engine's own failure. */
    readonly errorType: string,
    readonly errorName: string,
    /** Whether rows had already been handed on (a retry would hand them on twice). */
    readonly rowsDelivered = false,
  ) {
    super('QUERY_ENGINE_ERROR', message, { canRetry: errorName === 'NO_NODES_AVAILABLE' && !rowsDelivered });
  }
}

export class QueryCancelledError extends OpentrailError<'QUERY_CANCELLED'> {
  constructor() {
    super('QUERY_CANCELLED', 'the query was cancelled');
  }
}

/** About 30 s of NO_NODES_AVAILABLE is waited out before the query fails. */
const NO_NODES_ATTEMPTS = 30;

export interface TrinoEngineOptions {
  url: string;
  catalog: string;
  schema: string;
}

/** Trino through its REST protocol (trino-client): one statement, its pages in order, cancellable. */
export class TrinoEngine implements QueryEngine {
  private readonly trino: Trino;

  constructor(private readonly o: TrinoEngineOptions) {
    this.trino = Trino.create({ server: o.url, catalog: o.catalog, schema: o.schema, source: 'opentrail-lake' });
  }

  async execute(statement: string, options: ExecuteOptions): Promise<ExecuteResult> {
    // A coordinator that has just started (or lost its workers) has no node to schedule on for a
    // few seconds: that is the engine's state, not the statement's, so it is waited out.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(statement, options);
      } catch (err) {
        const noNodes = err instanceof QueryEngineError && err.errorName === 'NO_NODES_AVAILABLE' && !err.rowsDelivered;
        if (!noNodes || attempt >= NO_NODES_ATTEMPTS || options.signal?.aborted) throw err;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  private async attempt(statement: string, options: ExecuteOptions): Promise<ExecuteResult> {
    const { signal } = options;
    if (signal?.aborted) throw new QueryCancelledError();
    const iterator = await this.trino.query({ query: statement, user: options.user, catalog: this.o.catalog, schema: this.o.schema });
    let queryId: string | undefined;
    let columns: string[] = [];
    let last: QueryResult | undefined;
    let delivered = false;
    const cancel = () => {
      if (queryId) void this.trino.cancel(queryId).catch(() => undefined);
    };
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      for await (const page of iterator) {
        queryId ??= page.id;
        last = page;
        if (page.error) throw new QueryEngineError(page.error.message, page.error.errorType, page.error.errorName, delivered);
        if (page.columns && columns.length === 0) columns = page.columns.map((c) => c.name);
        if (page.data && page.data.length > 0) {
          delivered = true;
          await options.onRows?.(columns, page.data);
        }
        await options.onProgress?.({ processedBytes: page.stats?.processedBytes ?? 0, processedRows: page.stats?.processedRows ?? 0 });
        if (signal?.aborted) {
          cancel();
          throw new QueryCancelledError();
        }
      }
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
    if (signal?.aborted) throw new QueryCancelledError();
    const stats = last?.stats;
    return { columns, processedBytes: stats?.processedBytes ?? 0, processedRows: stats?.processedRows ?? 0, elapsedMs: stats?.elapsedTimeMillis ?? 0 };
  }
}
