import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface DatabaseOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Connections at most. @default 4 */
  maxConnections?: number;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
  /** Called when an idle connection fails (the server went away): logged, never a crash. */
  onIdleError?: (err: Error) => void;
}

/**
 * A connection pool. Connecting gives up after 5 s so that an unreachable server surfaces as an
 * error the caller retries, not as a hang; a broken idle connection is dropped from the pool.
 */
export function createPool(options: DatabaseOptions): Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 4,
    application_name: options.applicationName ?? 'opentrail',
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  pool.on('error', (err) => options.onIdleError?.(err));
  // Every connection has an error listener for its whole life, not only while idle in the pool
  // (pg-pool removes its own while a client is checked out). PostgreSQL shutting down sends each
  // backend's client a FATAL message: on a checked-out client between two statements it would
  // otherwise be an uncaught 'error' event that ends the process (seen once in CI, with writes
  // pipelined) instead of a failed statement, which the writer retries on another connection.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/**
 * Errors that say the database could not be reached or went away, as opposed to a statement it
 * refused: those are infrastructure failures, retried; the rest are the record's fault.
 * SQLSTATE classes 08 (connection), 53 (insufficient resources), 57 (operator intervention: shutdown,
 * admin_shutdown, cannot_connect_now), 58 (system error), 40001/40P01 (serialization, deadlock).
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  const code = e?.code;
  if (typeof code === 'string') {
    if (/^(08|53|57|58)/.test(code) || code === '40001' || code === '40P01') return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'].includes(code)) return true;
  }
  const message = e?.message ?? '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused/i.test(message);
}
