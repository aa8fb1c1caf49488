import { OpentrailError } from '@opentrail/errors';

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
/** The client protocol: a 502, 503 or 504 answer is asked again (Trino's own clients wait 50-100 ms). */
const UNAVAILABLE_ATTEMPTS = 10;

export interface TrinoEngineOptions {
  url: string;
  catalog: string;
  schema: string;
}

/** One answer of Trino's client protocol (/v1/statement and its nextUri chain). */
interface StatementPage {
  id: string;
  nextUri?: string;
  columns?: { name: string }[];
  data?: unknown[][];
  stats?: { state?: string; processedRows?: number; processedBytes?: number; elapsedTimeMillis?: number };
  error?: { message: string; errorType: string; errorName: string };
}

/**
 * Trino through its client protocol (docs: develop/client-protocol): POST the statement, follow
 * nextUri page by page, DELETE the query to cancel it. Spoken here with fetch rather than through
 * trino-client, whose iterator skips every page without rows and with them the query's id and
 * statistics: an aggregation then reported no progress and could not be cancelled in Trino before
 * its first row arrived, that is, before it was done.
 */
export class TrinoEngine implements QueryEngine {
  constructor(private readonly o: TrinoEngineOptions) {}

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
    const user = { 'X-Trino-User': options.user };
    let page = await this.page(`${this.o.url}/v1/statement`, {
      method: 'POST',
      body: statement,
      headers: { ...user, 'X-Trino-Catalog': this.o.catalog, 'X-Trino-Schema': this.o.schema, 'X-Trino-Source': 'opentrail-lake', 'Content-Type': 'text/plain; charset=utf-8' },
    });
    const queryId = page.id;
    // Users may always kill their own queries (Trino's access control); a query already over says 404.
    const cancel = () => void fetch(`${this.o.url}/v1/query/${encodeURIComponent(queryId)}`, { method: 'DELETE', headers: user }).then((r) => r.body?.cancel(), () => undefined);
    let columns: string[] = [];
    let delivered = false;
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      for (;;) {
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
        if (!page.nextUri) break;
        // Trino holds this request up to a second while nothing is new: pages come at least that often.
        page = await this.page(page.nextUri, { headers: user });
      }
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
    const stats = page.stats;
    return { columns, processedBytes: stats?.processedBytes ?? 0, processedRows: stats?.processedRows ?? 0, elapsedMs: stats?.elapsedTimeMillis ?? 0 };
  }

  /** One request of the protocol; an overloaded or restarting coordinator's 502/503/504 is asked again. */
  private async page(url: string, init: RequestInit): Promise<StatementPage> {
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(url, init);
      if ((res.status === 502 || res.status === 503 || res.status === 504) && attempt < UNAVAILABLE_ATTEMPTS) {
        await res.body?.cancel();
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        continue;
      }
      if (!res.ok) throw new QueryEngineError(`Trino answered HTTP ${res.status}: ${(await res.text()).slice(0, 500)}`, 'EXTERNAL', `HTTP_${res.status}`);
      return (await res.json()) as StatementPage;
    }
  }
}
