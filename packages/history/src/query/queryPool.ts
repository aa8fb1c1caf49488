import pg from 'pg';

/**
 * The read side's connection pools. With planning 'custom' every statement is planned for its
 * actual values (plan_cache_mode = force_custom_plan): a cached generic plan would ignore the skew
 * of attribute values, which decides the index of a combined query, and plans the window's bounds
 * as unknowns. With 'prepared' the connection keeps generic plans of named statements
 * (force_generic_plan): for single-attribute lookups, where one index serves every value, this
 * saves planning over the day partitions on every window (pruning then happens at executor
 * start-up). statement_timeout bounds what one request may cost the database; the connections are
 * read-only.
 */
export interface QueryPoolOptions {
  connectionString: string;
  max: number;
  statementTimeoutMs: number;
  /** @default 'custom' */
  planning?: 'custom' | 'prepared';
}

export function openQueryPool(o: QueryPoolOptions): pg.Pool {
  return new pg.Pool({
    connectionString: o.connectionString,
    max: o.max,
    options: `-c plan_cache_mode=${o.planning === 'prepared' ? 'force_generic_plan' : 'force_custom_plan'} -c statement_timeout=${Math.trunc(o.statementTimeoutMs)} -c default_transaction_read_only=on`,
    application_name: 'opentrail-history-query',
  });
}
