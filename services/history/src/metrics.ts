import type { ServiceMetrics } from '@opentrail/observability';

/** The history service's own metrics (opentrail_history_*), beside the runtime's events in/out/dead-lettered. */
export function historyMetrics(metrics: ServiceMetrics) {
  return {
    rowsInserted: metrics.counter('rows_inserted_total', 'Events stored in PostgreSQL'),
    resourceRows: metrics.counter('resource_rows_inserted_total', 'event_resources rows stored'),
    duplicates: metrics.counter('duplicates_skipped_total', 'Events already stored (a replay after a crash or rebalance), skipped'),
    expired: metrics.counter('events_expired_total', 'Events older than the retention window, not stored'),
    refused: metrics.counter('events_refused_total', 'Events set aside to the dead-letter topic, by reason', ['reason']),
    partitionsCreated: metrics.counter('partitions_created_total', 'Day partitions created'),
    partitionsDropped: metrics.counter('partitions_dropped_total', 'Day partitions dropped by retention'),
    databaseRetries: metrics.counter('database_retries_total', 'Writes retried because PostgreSQL was unreachable'),
    ingestLatency: metrics.histogram(
      'ingest_latency_seconds',
      'From the event’s Kafka timestamp to its row being durable',
      [],
      [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    ),
    writeSeconds: metrics.histogram('write_duration_seconds', 'One batch transaction', [], [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]),
  };
}

export type HistoryMetrics = ReturnType<typeof historyMetrics>;
