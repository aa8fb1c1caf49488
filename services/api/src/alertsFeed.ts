import type { KafkaClient } from '@opentrail/runtime';
import type { Logger, ServiceMetrics } from '@opentrail/observability';
import { CompactedTopicReader } from '@opentrail/runtime';
import type { Alert, AvroSerde } from '@opentrail/serde';

export interface AlertsFeedOptions {
  kafka: KafkaClient;
  topic: string;
  serde: AvroSerde<Alert>;
  groupIdPrefix: string;
  logger: Logger;
  metrics?: ServiceMetrics;
  /** Where the alerts read go. */
  alerts: RecentAlerts;
}

/**
 * The console's Alerts page: the alerts topic read from the beginning by the runtime's
 * CompactedTopicReader (a consumer group of the instance's own that never commits), so every API
 * instance answers the same and needs no storage. The topic is keyed by alert id and a repeat
 * replaces its alert, as in RecentAlerts; nothing ever deletes an alert, so a tombstone is ignored.
 */
export function alertsFeed(o: AlertsFeedOptions): CompactedTopicReader<Alert> {
  return new CompactedTopicReader<Alert>({
    kafka: o.kafka,
    topic: o.topic,
    groupIdPrefix: o.groupIdPrefix,
    what: 'the alerts topic',
    decoder: o.serde,
    logger: o.logger,
    ...(o.metrics ? { metrics: o.metrics } : {}),
    apply: (_alertId, alert) => {
      if (alert !== null) o.alerts.add(alert);
    },
  });
}

/** The most recent alerts, by alert id (a repeat of an alert replaces it: the alerter's id is stable per rule, group and window). */
export class RecentAlerts {
  private readonly byId = new Map<string, Alert>();

  constructor(private readonly capacity = 1000) {}

  add(alert: Alert): void {
    this.byId.delete(alert.alertId);
    this.byId.set(alert.alertId, alert);
    // A Map iterates in insertion order: the first key is the one least recently fired.
    while (this.byId.size > this.capacity) this.byId.delete(this.byId.keys().next().value!);
  }

  get size(): number {
    return this.byId.size;
  }

  /** Newest first (firedAt, then alert id), at most `max`, optionally only alerts fired at or after `sinceMs`. */
  recent(max: number, sinceMs = 0): Alert[] {
    return [...this.byId.values()]
      .filter((a) => a.firedAt >= sinceMs)
      .sort((a, b) => b.firedAt - a.firedAt || (a.alertId < b.alertId ? 1 : a.alertId > b.alertId ? -1 : 0))
      .slice(0, max);
  }
}

/** An alert as `ListRecentAlerts` answers it: the Alert schema's fields, times in epoch seconds. */
export function alertOutput(a: Alert) {
  return {
    AlertId: a.alertId,
    RuleId: a.ruleId,
    RuleKind: a.ruleKind,
    Title: a.title,
    ...(a.description !== null ? { Description: a.description } : {}),
    Severity: a.severity,
    Tags: a.tags,
    ...(a.groupKey !== null ? { GroupKey: a.groupKey } : {}),
    Count: a.count,
    WindowStart: a.windowStart / 1000,
    WindowEnd: a.windowEnd / 1000,
    FirstSeen: a.firstSeen / 1000,
    LastSeen: a.lastSeen / 1000,
    EventIds: a.eventIds,
    ...(a.accountId !== null ? { AccountId: a.accountId } : {}),
    ...(a.region !== null ? { Region: a.region } : {}),
    ...(a.sampleEvent !== null ? { SampleEvent: a.sampleEvent } : {}),
    FiredAt: a.firedAt / 1000,
  };
}
