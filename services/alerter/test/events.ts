import { toApiCallEvent, withDefaults, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { RuleEvent } from '@opentrail/rules';
import type { EnrichedEvent } from '@opentrail/serde';

/** An EnrichedEvent from CloudTrail JSON, with the minimal enrichment. */
export function enriched(record: CloudTrailRecord): EnrichedEvent {
  const event = toApiCallEvent(withDefaults({ awsRegion: 'us-east-1', recipientAccountId: '111122223333', eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstances', ...record }));
  return { event, enrichment: { enrichedAt: 0, identity: null, geo: null, service: null } };
}

export function ev(record: CloudTrailRecord): RuleEvent {
  return new RuleEvent(enriched(record));
}

/** eventTime for second `s` after 2026-03-01T10:00:00Z. */
export function at(seconds: number): string {
  return `${new Date(Date.UTC(2026, 2, 1, 10, 0, 0) + seconds * 1000).toISOString().slice(0, 19)}Z`;
}
