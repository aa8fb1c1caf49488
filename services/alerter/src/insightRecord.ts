import { formatEventTime, routingKey, toApiCallEvent, type CloudTrailRecord } from '@opentrail/cloudtrail';
import type { EnrichedEvent } from '@opentrail/serde';
import type { InsightEvent } from './insights.js';

/**
 * An Insights record exactly in CloudTrail's format (cloudtrail-spec.md §7.2): eventType
 * AwsCloudTrailInsight, eventCategory Insight, the details under insightDetails, and no
 * userIdentity, eventSource, eventName, sourceIPAddress or userAgent at the top level.
 */
export function insightRecord(insight: InsightEvent): CloudTrailRecord {
  return {
    eventVersion: '1.08',
    eventTime: formatEventTime(new Date(insight.eventTime)),
    awsRegion: insight.series.region,
    eventID: insight.eventID,
    eventType: 'AwsCloudTrailInsight',
    recipientAccountId: insight.series.accountId,
    sharedEventID: insight.sharedEventID,
    insightDetails: {
      state: insight.state,
      eventSource: insight.series.eventSource,
      eventName: insight.series.eventName,
      insightType: insight.insightType,
      insightContext: {
        statistics: insight.statistics,
        attributions: insight.attributions,
      },
    },
    eventCategory: 'Insight',
  };
}

/** The record as an enriched event for the enriched topic, keyed like every event of its account and region. */
export function insightMessage(insight: InsightEvent): { key: string; value: EnrichedEvent } {
  return {
    key: routingKey(insight.series.accountId, insight.series.region),
    value: {
      event: toApiCallEvent(insightRecord(insight)),
      // Deterministic (no wall clock): the same insight re-emitted after a restart is the same record.
      enrichment: { enrichedAt: insight.eventTime, identity: null, geo: null, service: null },
    },
  };
}

export function isInsightRecord(event: { eventType: string | null }): boolean {
  return event.eventType === 'AwsCloudTrailInsight';
}
