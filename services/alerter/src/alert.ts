import { createHash } from 'node:crypto';
import type { CompiledRule, RuleEvent, ThresholdCrossing } from '@opentrail/rules';
import type { Alert } from '@opentrail/serde';

/** A UUID-shaped id from data (RFC 9562 version 8: custom), so that the same inputs give the same id. */
export function deterministicUuid(...parts: (string | number)[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The alert id: derived from the rule, the group key and the window (its start and the first event
 * that opened it), so re-processing the same events after a restart names the same alert, and a
 * receiver can recognise a repeat.
 */
export function alertId(ruleId: string, groupKey: string, windowStart: number, firstEventId: string): string {
  return deterministicUuid('alert', ruleId, groupKey, windowStart, firstEventId);
}

/** Events listed in an alert; a threshold over thousands of matches names the first ones. */
const MAX_EVENT_IDS = 100;

export function buildAlert(rule: CompiledRule, groupKey: string, crossing: ThresholdCrossing, trigger: RuleEvent, firedAt: number): Alert {
  const first = crossing.matches[0]!;
  const event = trigger.event;
  return {
    alertId: alertId(rule.id, groupKey, crossing.windowStart, first.eventId),
    ruleId: rule.id,
    // An alert raised by an Insights record is an Insights alert, whatever kind of rule noticed it.
    ruleKind: event.eventType === 'AwsCloudTrailInsight' ? 'INSIGHT' : rule.kind,
    title: rule.title,
    description: rule.description,
    severity: rule.severity,
    tags: rule.tags,
    groupKey: groupKey === '' ? null : groupKey,
    count: crossing.matches.length,
    windowStart: crossing.windowStart,
    windowEnd: crossing.windowEnd,
    firstSeen: crossing.firstSeen,
    lastSeen: crossing.lastSeen,
    eventIds: crossing.matches.slice(0, MAX_EVENT_IDS).map((m) => m.eventId),
    accountId: event.recipientAccountId ?? event.userIdentity?.accountId ?? null,
    region: event.awsRegion,
    sampleEvent: trigger.recordJson(),
    firedAt,
  };
}

/** The alert as JSON for webhooks and SNS: times as ISO-8601, the sample event as an object. */
export function alertJson(alert: Alert): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  let sample: unknown = alert.sampleEvent;
  try {
    sample = alert.sampleEvent === null ? null : JSON.parse(alert.sampleEvent);
  } catch {
    // keep the text
  }
  return JSON.stringify({
    type: 'opentrail.alert',
    alertId: alert.alertId,
    ruleId: alert.ruleId,
    ruleKind: alert.ruleKind,
    title: alert.title,
    description: alert.description,
    severity: alert.severity,
    tags: alert.tags,
    groupKey: alert.groupKey,
    count: alert.count,
    windowStart: iso(alert.windowStart),
    windowEnd: iso(alert.windowEnd),
    firstSeen: iso(alert.firstSeen),
    lastSeen: iso(alert.lastSeen),
    eventIds: alert.eventIds,
    accountId: alert.accountId,
    region: alert.region,
    firedAt: iso(alert.firedAt),
    sampleEvent: sample,
  });
}

const SEVERITY_ORDER = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];

export function atLeast(severity: Alert['severity'], minimum: string): boolean {
  return SEVERITY_ORDER.indexOf(severity) >= SEVERITY_ORDER.indexOf(minimum.toUpperCase());
}
