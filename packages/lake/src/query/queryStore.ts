import pg, { type Pool, type PoolClient } from 'pg';

/**
 * Lake queries and their results in PostgreSQL, so that every API instance answers
 * GetQueryResults, DescribeQuery and ListQueries for a query another one started (CloudTrail keeps
 * results seven days). Rows are kept as JSON arrays of [column, value] pairs: the column order and
 * repeated names of the result survive.
 */

export type QueryStatus = 'QUEUED' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';
export const FINAL_STATUSES: ReadonlySet<QueryStatus> = new Set(['FINISHED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);

export interface LakeQueryRecord {
  queryId: string;
  accountId: string;
  region: string;
  stores: string[];
  statement: string;
  status: QueryStatus;
  errorMessage?: string;
  deliveryS3Uri?: string;
  deliveryStatus?: string;
  createdAt: number;
  finishedAt?: number;
  resultsCount: number;
  bytesScanned: number;
  eventsScanned: number;
  executionMs?: number;
}

/** One result row: its columns in order, values as text (null when SQL NULL). */
export type ResultRow = [string, string | null][];

const SCHEMA = `
CREATE TABLE IF NOT EXISTS lake_queries (
  query_id uuid PRIMARY KEY,
  account_id text NOT NULL,
  region text NOT NULL,
  stores text[] NOT NULL,
  statement text NOT NULL,
  status text NOT NULL,
  error_message text,
  delivery_s3_uri text,
  delivery_status text,
  created_at timestamptz NOT NULL,
  finished_at timestamptz,
  results_count bigint NOT NULL DEFAULT 0,
  bytes_scanned bigint NOT NULL DEFAULT 0,
  events_scanned bigint NOT NULL DEFAULT 0,
  execution_ms integer
);
CREATE INDEX IF NOT EXISTS lake_queries_by_caller ON lake_queries (account_id, region, created_at DESC);
CREATE TABLE IF NOT EXISTS lake_query_rows (
  query_id uuid NOT NULL REFERENCES lake_queries ON DELETE CASCADE,
  row_no integer NOT NULL,
  row jsonb NOT NULL,
  PRIMARY KEY (query_id, row_no)
);`;

/** An arbitrary constant: the advisory lock instances take to create the tables one at a time. */
const SCHEMA_LOCK = 7_351_220_412;

interface Row {
  query_id: string;
  account_id: string;
  region: string;
  stores: string[];
  statement: string;
  status: QueryStatus;
  error_message: string | null;
  delivery_s3_uri: string | null;
  delivery_status: string | null;
  created_at: Date;
  finished_at: Date | null;
  results_count: string;
  bytes_scanned: string;
  events_scanned: string;
  execution_ms: number | null;
}

function fromRow(r: Row): LakeQueryRecord {
  return {
    queryId: r.query_id,
    accountId: r.account_id,
    region: r.region,
    stores: r.stores,
    statement: r.statement,
    status: r.status,
    ...(r.error_message !== null ? { errorMessage: r.error_message } : {}),
    ...(r.delivery_s3_uri !== null ? { deliveryS3Uri: r.delivery_s3_uri } : {}),
    ...(r.delivery_status !== null ? { deliveryStatus: r.delivery_status } : {}),
    createdAt: r.created_at.getTime(),
    ...(r.finished_at !== null ? { finishedAt: r.finished_at.getTime() } : {}),
    resultsCount: Number(r.results_count),
    bytesScanned: Number(r.bytes_scanned),
    eventsScanned: Number(r.events_scanned),
    ...(r.execution_ms !== null ? { executionMs: r.execution_ms } : {}),
  };
}

export class LakeQueryStore {
  constructor(private readonly pool: Pool) {}

  /** A store on its own pool; `end` closes it. A connection lost while idle is dropped, not thrown. */
  static open(connectionString: string, onIdleError: (err: Error) => void): { store: LakeQueryStore; end: () => Promise<void> } {
    const pool = new pg.Pool({ connectionString, max: 4, application_name: 'opentrail-lake-queries' });
    pool.on('error', onIdleError);
    return { store: new LakeQueryStore(pool), end: () => pool.end() };
  }

  /** Creates the tables if missing (one instance at a time). */
  async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      await client.query(SCHEMA);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async create(q: Pick<LakeQueryRecord, 'queryId' | 'accountId' | 'region' | 'stores' | 'statement' | 'deliveryS3Uri' | 'createdAt'>): Promise<void> {
    await this.pool.query(
      `INSERT INTO lake_queries (query_id, account_id, region, stores, statement, status, delivery_s3_uri, delivery_status, created_at)
       VALUES ($1, $2, $3, $4, $5, 'QUEUED', $6, $7, to_timestamp($8::double precision / 1000))`,
      [q.queryId, q.accountId, q.region, q.stores, q.statement, q.deliveryS3Uri ?? null, q.deliveryS3Uri ? 'PENDING' : null, q.createdAt],
    );
  }

  async get(queryId: string): Promise<LakeQueryRecord | undefined> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM lake_queries WHERE query_id = $1', [queryId]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  /** Moves a query on, unless it is already final (a cancel won the race): whether it moved. */
  async setStatus(queryId: string, status: QueryStatus, extra: { errorMessage?: string; executionMs?: number; bytesScanned?: number; eventsScanned?: number } = {}): Promise<boolean> {
    const final = FINAL_STATUSES.has(status);
    const { rowCount } = await this.pool.query(
      `UPDATE lake_queries SET status = $2, error_message = COALESCE($3, error_message), execution_ms = COALESCE($4, execution_ms),
         bytes_scanned = COALESCE($5, bytes_scanned), events_scanned = COALESCE($6, events_scanned),
         finished_at = CASE WHEN $7 THEN now() ELSE finished_at END
       WHERE query_id = $1 AND status NOT IN ('FINISHED', 'FAILED', 'CANCELLED', 'TIMED_OUT')`,
      [queryId, status, extra.errorMessage ?? null, extra.executionMs ?? null, extra.bytesScanned ?? null, extra.eventsScanned ?? null, final],
    );
    return (rowCount ?? 0) > 0;
  }

  async setDelivery(queryId: string, deliveryStatus: string): Promise<void> {
    await this.pool.query('UPDATE lake_queries SET delivery_status = $2 WHERE query_id = $1', [queryId, deliveryStatus]);
  }

  /** Appends rows (numbered from `from`) and counts them. */
  async appendRows(queryId: string, from: number, rows: readonly ResultRow[]): Promise<void> {
    if (rows.length === 0) return;
    const client: PoolClient = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        'INSERT INTO lake_query_rows (query_id, row_no, row) SELECT $1, $2::integer + n - 1, r FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS t(r, n)',
        [queryId, from, JSON.stringify(rows)],
      );
      await client.query('UPDATE lake_queries SET results_count = results_count + $2 WHERE query_id = $1', [queryId, rows.length]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async rows(queryId: string, from: number, limit: number): Promise<ResultRow[]> {
    const { rows } = await this.pool.query<{ row: ResultRow }>('SELECT row FROM lake_query_rows WHERE query_id = $1 AND row_no >= $2 ORDER BY row_no LIMIT $3', [queryId, from, limit]);
    return rows.map((r) => r.row);
  }

  /** The caller's queries that read `storeId`, newest first, after the cursor. */
  async list(o: { accountId: string; region: string; storeId: string; startMs?: number; endMs?: number; status?: QueryStatus; after?: { createdAt: number; queryId: string }; limit: number }): Promise<LakeQueryRecord[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM lake_queries
       WHERE account_id = $1 AND region = $2 AND $3 = ANY (stores)
         AND ($4::double precision IS NULL OR created_at >= to_timestamp($4::double precision / 1000))
         AND ($5::double precision IS NULL OR created_at <= to_timestamp($5::double precision / 1000))
         AND ($6::text IS NULL OR status = $6)
         AND ($7::double precision IS NULL OR (created_at, query_id) < (to_timestamp($7::double precision / 1000), $8::uuid))
       ORDER BY created_at DESC, query_id DESC
       LIMIT $9`,
      [o.accountId, o.region, o.storeId, o.startMs ?? null, o.endMs ?? null, o.status ?? null, o.after?.createdAt ?? null, o.after?.queryId ?? null, o.limit],
    );
    return rows.map(fromRow);
  }

  /** Queries (and their rows) older than the retention, gone. */
  async expire(olderThanMs: number): Promise<number> {
    const { rowCount } = await this.pool.query('DELETE FROM lake_queries WHERE created_at < to_timestamp($1::double precision / 1000)', [olderThanMs]);
    return rowCount ?? 0;
  }
}
