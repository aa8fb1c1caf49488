import type { ServiceMetrics } from '@opentrail/observability';

/** The digester's own metrics (opentrail_digester_*), beside the runtime's events_in/out, lag and commits. */
export function digesterMetrics(metrics: ServiceMetrics, gauges: { groups: () => number; pendingLogFiles: () => number }) {
  return {
    digestsWritten: metrics.counter('digests_written_total', 'Digest files stored in S3, per trail; type: chained, starting (no previous digest) ; empty: no log file listed', ['trail', 'type', 'empty']),
    logFilesCovered: metrics.counter('log_files_covered_total', 'Log files listed in a stored digest', ['trail']),
    signingErrors: metrics.counter('signing_errors_total', 'Failed attempts to sign a digest (local key or KMS), retried', ['source']),
    s3Retries: metrics.counter('s3_retries_total', 'Failed attempts to store a digest file that were retried'),
    s3Errors: metrics.counter('s3_errors_total', 'Failed attempts to store a digest file, by error code', ['code']),
    chainBreaks: metrics.counter('chain_breaks_total', 'Chains restarted with a starting digest although a previous digest existed (the group was silent for more than maxCatchUpPeriods)', ['trail']),
    deliveriesSkipped: metrics.counter('deliveries_skipped_total', 'Delivery records not listed: not a log file (kind), trail unknown or without digests, or already in a stored digest (re-read after a crash)', ['reason']),
    digestDelay: metrics.histogram('digest_delay_seconds', 'From the end of a digest period to its digest being in S3', [], [0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 900, 3600]),
    groups: metrics.gauge('groups', '(trail, account, region) chains this instance owns', [], function collect() {
      this.set(gauges.groups());
    }),
    pendingLogFiles: metrics.gauge('pending_log_files', 'Delivered log files not yet in a digest', [], function collect() {
      this.set(gauges.pendingLogFiles());
    }),
  };
}

export type DigesterMetrics = ReturnType<typeof digesterMetrics>;
