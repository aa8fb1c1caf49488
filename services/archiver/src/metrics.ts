import { LATENCY_BUCKETS, type ServiceMetrics } from '@opentrail/observability';

/** The archiver's own metrics (opentrail_archiver_*), beside the runtime's events_in/out, lag and commits. */
export function archiverMetrics(metrics: ServiceMetrics, gauges: { openGroups: () => number; bufferedBytes: () => number; openFiles: () => number }) {
  return {
    eventsArchived: metrics.counter('events_archived_total', 'Records in delivered log files, per trail (an event selected by two trails counts twice)', ['trail', 'kind']),
    eventsSkipped: metrics.counter('events_skipped_total', 'Records not archived: selected by no trail (unselected) or already in a delivered file (delivered, re-read after a crash or rebalance)', ['reason']),
    filesDelivered: metrics.counter('files_delivered_total', 'Log files stored in S3', ['trail', 'kind']),
    bytesDelivered: metrics.counter('bytes_delivered_total', 'Compressed bytes of the log files stored in S3', ['trail']),
    uncompressedBytesDelivered: metrics.counter('uncompressed_bytes_delivered_total', 'Uncompressed bytes of the log files stored in S3', ['trail']),
    rolls: metrics.counter('rolls_total', 'Log files closed, by reason: size, age, memory (budget exceeded), shutdown, trail (stopped, deleted or changed)', ['reason']),
    uploadRetries: metrics.counter('upload_retries_total', 'Failed attempts to store a log file (S3 or KMS) that were retried'),
    uploadErrors: metrics.counter('upload_errors_total', 'Failed attempts to store a log file, by error code', ['code']),
    uploadSeconds: metrics.histogram('upload_duration_seconds', 'Time to store one log file, retries included', [], [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]),
    conditionalWrites: metrics.counter('conditional_write_conflicts_total', 'Keys that already existed when written: already_stored (own earlier attempt), replaced (an earlier owner\'s uncommitted file), stale_owner (a newer owner holds it)', ['outcome']),
    deliveryLatency: metrics.histogram('delivery_latency_seconds', 'End-to-end delivery latency: from a record\'s eventTime to its log file being in S3', [], LATENCY_BUCKETS),
    openGroups: metrics.gauge('open_groups', '(trail, account, region) groups with an open or unuploaded file', [], function collect() {
      this.set(gauges.openGroups());
    }),
    openFiles: metrics.gauge('open_files', 'Open log files', [], function collect() {
      this.set(gauges.openFiles());
    }),
    bufferedBytes: metrics.gauge('buffered_bytes', 'Bytes held in memory for files not yet in S3', [], function collect() {
      this.set(gauges.bufferedBytes());
    }),
  };
}

export type ArchiverMetrics = ReturnType<typeof archiverMetrics>;
