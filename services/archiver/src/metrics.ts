import { logFileStoreMetrics } from '@opentrail/logfiles';
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
    ...logFileStoreMetrics(metrics),
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
