import type { AdvancedEventSelector, EventSelector, Trail } from './schema.js';
import { OPERATORS } from './selectorRules.js';

/**
 * CloudTrail-shaped views of a configured trail, for the CloudTrail-compatible API
 * (DescribeTrails, GetEventSelectors, GetInsightSelectors; cloudtrail-spec.md §5.2, §5.5).
 * Optional members are omitted when unset, as CloudTrail does.
 */

/** arn:aws:cloudtrail:<homeRegion>:<accountId>:trail/<name> (spec §5.2). */
export function trailArn(trail: Pick<Trail, 'name' | 'homeRegion' | 'accountId'>): string {
  return `arn:aws:cloudtrail:${trail.homeRegion}:${trail.accountId}:trail/${trail.name}`;
}

/** DescribeTrails' `Trail` shape. */
export interface TrailDescription {
  Name: string;
  S3BucketName: string;
  S3KeyPrefix?: string;
  SnsTopicName?: string;
  SnsTopicARN?: string;
  IncludeGlobalServiceEvents: boolean;
  IsMultiRegionTrail: boolean;
  HomeRegion: string;
  TrailARN: string;
  LogFileValidationEnabled: boolean;
  CloudWatchLogsLogGroupArn?: string;
  CloudWatchLogsRoleArn?: string;
  KmsKeyId?: string;
  HasCustomEventSelectors: boolean;
  HasInsightSelectors: boolean;
  IsOrganizationTrail: boolean;
}

export function describeTrail(trail: Trail): TrailDescription {
  const sns = trail.notifications.snsTopicArn;
  const kmsKeyId = trail.encryption.mode === 'SSE_KMS' || trail.encryption.mode === 'CSE_KMS' ? trail.encryption.kmsKeyId : undefined;
  return {
    Name: trail.name,
    S3BucketName: trail.bucket,
    ...(trail.prefix ? { S3KeyPrefix: trail.prefix } : {}),
    // SnsTopicName echoes what CreateTrail/UpdateTrail was given (a name or an ARN).
    ...(sns ? { SnsTopicName: trail.notifications.snsTopicName ?? sns.slice(sns.lastIndexOf(':') + 1), SnsTopicARN: sns } : {}),
    IncludeGlobalServiceEvents: trail.includeGlobalServiceEvents,
    IsMultiRegionTrail: trail.regions === 'all',
    HomeRegion: trail.homeRegion,
    TrailARN: trailArn(trail),
    LogFileValidationEnabled: trail.digests.enabled,
    ...(trail.cloudWatchLogs ? { CloudWatchLogsLogGroupArn: trail.cloudWatchLogs.logGroupArn, CloudWatchLogsRoleArn: trail.cloudWatchLogs.roleArn } : {}),
    ...(kmsKeyId ? { KmsKeyId: kmsKeyId } : {}),
    HasCustomEventSelectors: trail.eventSelectors !== undefined || trail.advancedEventSelectors !== undefined,
    HasInsightSelectors: trail.insightSelectors.length > 0,
    IsOrganizationTrail: trail.organizationId !== undefined,
  };
}

/** GetEventSelectors' response (PascalCase members, as the API has them). */
export interface EventSelectorsView {
  TrailARN: string;
  EventSelectors?: {
    ReadWriteType: EventSelector['readWriteType'];
    IncludeManagementEvents: boolean;
    DataResources: { Type: string; Values: string[] }[];
    ExcludeManagementEventSources: string[];
  }[];
  AdvancedEventSelectors?: { Name?: string; FieldSelectors: Record<string, unknown>[] }[];
}

const API_OPERATOR: Record<(typeof OPERATORS)[number], string> = {
  equals: 'Equals',
  startsWith: 'StartsWith',
  endsWith: 'EndsWith',
  notEquals: 'NotEquals',
  notStartsWith: 'NotStartsWith',
  notEndsWith: 'NotEndsWith',
};

/** An advanced selector as the API shows it (PascalCase members, operators left out when unset). */
export function advancedSelectorView(selector: AdvancedEventSelector) {
  return {
    ...(selector.name !== undefined ? { Name: selector.name } : {}),
    FieldSelectors: selector.fieldSelectors.map((f) => {
      const out: Record<string, unknown> = { Field: f.field };
      for (const op of OPERATORS) if (f[op]) out[API_OPERATOR[op]] = f[op];
      return out;
    }),
  };
}

/** The trail's selectors as GetEventSelectors returns them; a trail without selectors shows CloudTrail's default one. */
export function eventSelectorsView(trail: Trail): EventSelectorsView {
  if (trail.advancedEventSelectors) return { TrailARN: trailArn(trail), AdvancedEventSelectors: trail.advancedEventSelectors.map(advancedSelectorView) };
  const selectors = trail.eventSelectors ?? [{ readWriteType: 'All' as const, includeManagementEvents: true, dataResources: [], excludeManagementEventSources: [] }];
  return {
    TrailARN: trailArn(trail),
    EventSelectors: selectors.map((s) => ({
      ReadWriteType: s.readWriteType,
      IncludeManagementEvents: s.includeManagementEvents,
      DataResources: s.dataResources.map((r) => ({ Type: r.type, Values: r.values })),
      ExcludeManagementEventSources: s.excludeManagementEventSources,
    })),
  };
}

/** GetInsightSelectors' response; undefined when the trail has none (the API then raises InsightNotEnabledException). */
export function insightSelectorsView(trail: Trail): { TrailARN: string; InsightSelectors: { InsightType: string; EventCategories?: string[] }[] } | undefined {
  if (trail.insightSelectors.length === 0) return undefined;
  return {
    TrailARN: trailArn(trail),
    InsightSelectors: trail.insightSelectors.map((s) => ({ InsightType: s.insightType, ...(s.eventCategories ? { EventCategories: s.eventCategories } : {}) })),
  };
}
