import { basename } from 'node:path';
import type { Counter, ServiceMetrics } from '@opentrail/observability';

/** What the gauges read when Prometheus scrapes. */
export interface GaugeSources {
  tableEntries(): number;
  geoDatabases(): readonly { path: string; buildEpoch: Date }[];
}

/** The enricher's own metrics (opentrail_enricher_*), beside the runtime's events in/out/dead-lettered. */
export function enricherMetrics(metrics: ServiceMetrics, sources: GaugeSources) {
  return {
    enriched: metrics.counter('events_enriched_total', 'Events written to the enriched topic'),
    resolutions: metrics.counter('identity_resolutions_total', 'Events by where their identity came from: inventory, sts (learned session), event (the record itself), unresolved', ['source']),
    tableLookups: metrics.counter('identity_table_lookups_total', 'Lookups of signing access keys in the identities table: hit, miss, expired', ['result']),
    identityAnomalies: metrics.counter(
      'identity_anomalies_total',
      'Odd identities, counted and passed on: missing_user_identity, unknown_identity_type, unreadable_session_context, unreadable_sts_response, chain_cycle, chain_too_deep',
      ['kind'],
    ),
    learned: metrics.counter('identities_learned_total', 'Temporary access keys learned from STS responses and published, by STS API', ['api']),
    tableEntries: metrics.gauge('identities_table_entries', 'Access keys in the identities table', [], function collect() {
      this.set(sources.tableEntries());
    }),
    evicted: metrics.counter('identities_evicted_total', 'Access keys dropped from the table: expired, capacity', ['reason']),
    topicRecords: metrics.counter('identities_topic_records_total', 'Records read from the identities topic: value, tombstone, undecodable', ['kind']),
    geoLookups: metrics.counter('geo_lookups_total', 'Public source addresses looked up: hit (some database knew it), miss', ['result']),
    geoClassifications: metrics.counter(
      'geo_classifications_total',
      'Source addresses by class: public, private, loopback, link-local, reserved, aws-service, aws-internal, hostname, invalid, absent',
      ['classification'],
    ),
    geoDatabaseAge: metrics.gauge('geo_database_age_seconds', "Seconds since the geo database's build time (mmdb build_epoch), by file", ['database'], function collect() {
      for (const db of sources.geoDatabases()) this.set({ database: basename(db.path) }, Math.max(0, (Date.now() - db.buildEpoch.getTime()) / 1000));
    }),
    geoReloads: metrics.counter('geo_database_reloads_total', 'Replaced geo database files: loaded, or refused (the previous data stays)', ['database', 'result']),
    // The runtime's own counter (same name and help): events this handler sets aside count beside those the runtime refuses.
    deadLettered: metrics.counter('events_dead_lettered_total', 'Messages sent to the dead-letter topic, by reason', ['reason']),
    serviceClassifications: metrics.counter('service_classifications_total', 'Events by whether IAM data knew their operation: known, unknown', ['result']),
  };
}

export type EnricherMetrics = ReturnType<typeof enricherMetrics>;

/**
 * Counts of one label of one counter over a batch, added to the counter once per batch:
 * prom-client's labelled inc() hashes its labels on every call, too slow for several counters per
 * event on the hot path.
 */
export class LabelCounts<L extends string> {
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly counter: Counter<L>,
    private readonly label: L,
  ) {}

  add(value: string): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + 1);
  }

  flush(): void {
    for (const [value, n] of this.counts) this.counter.inc({ [this.label]: value } as Partial<Record<L, string>>, n);
    this.counts.clear();
  }
}
