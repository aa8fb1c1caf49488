import type { ServiceMetrics } from '@opentrail/observability';

/** The lake service's own metrics (opentrail_lake_*), beside the runtime's events in/out/dead-lettered. */
export function lakeMetrics(metrics: ServiceMetrics) {
  return {
    rowsWritten: metrics.counter('rows_written_total', 'Events written into event data store tables (one per store that selects the event)'),
    filesWritten: metrics.counter('files_written_total', 'Parquet files stored in S3'),
    bytesWritten: metrics.counter('bytes_written_total', 'Bytes of Parquet stored in S3'),
    segmentsSealed: metrics.counter('segments_sealed_total', 'Segments (a partition\'s offset range) written out, by reason', ['reason']),
    segmentsReplayed: metrics.counter('segments_replayed_total', 'Segments rebuilt to the bounds a manifest recorded (a replay after a crash or rebalance)'),
    refused: metrics.counter('events_refused_total', 'Events set aside to the dead-letter topic, by reason', ['reason']),
    s3Retries: metrics.counter('s3_retries_total', 'S3 calls retried because S3 was unreachable or failed'),
    daysDropped: metrics.counter('days_dropped_total', 'Day partitions deleted by retention'),
    ingestLatency: metrics.histogram('ingest_latency_seconds', 'From the event’s Kafka timestamp to its file being durable', [], [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900]),
    sealSeconds: metrics.histogram('seal_duration_seconds', 'Encoding and storing one segment', [], [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
  };
}

export type LakeMetrics = ReturnType<typeof lakeMetrics>;
