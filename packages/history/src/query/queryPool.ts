import pg from 'pg';

/**
 * The read side's connection pool. Every connection plans each statement with its actual
 * parameters (plan_cache_mode = force_custom_plan): a cached generic plan ignores both the skew
 * of attribute values and the window's constant bounds, and so scans partitions it could prune.
 * statement_timeout bounds what one request may cost the database.
 */
export interface QueryPoolOptions {
  connectionString: string;
  max: number;
  statementTimeoutMs: number;
}

export function openQueryPool(o: QueryPoolOptions): pg.Pool {
  return new pg.Pool({
    connectionString: o.connectionString,
    max: o.max,
    options: `-c plan_cache_mode=force_custom_plan -c statement_timeout=${Math.trunc(o.statementTimeoutMs)} -c default_transaction_read_only=on`,
    application_name: 'opentrail-history-query',
  });
}
