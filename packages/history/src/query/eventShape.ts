import type { EventRow } from './eventFilter.js';
import { epochSeconds } from './timeRange.js';

/**
 * The `Event` of LookupEventsResponse (cloudtrail-spec.md §5.1): ReadOnly as the string
 * "true"/"false", EventTime in epoch seconds, Resources as stored ({ResourceType, ResourceName},
 * ResourceType possibly null), CloudTrailEvent the record's JSON text exactly as archived.
 * Members with no value are left out, as CloudTrail does.
 */
export interface LookupEvent {
  EventId: string;
  EventName: string;
  ReadOnly?: string;
  AccessKeyId?: string;
  EventTime: number;
  EventSource: string;
  Username?: string;
  Resources: { ResourceType: string | null; ResourceName: string }[];
  CloudTrailEvent: string;
}

/** opentrail's queries add who-from-where members CloudTrail's Event lacks. */
export interface HistoryEvent extends LookupEvent {
  SourceIPAddress?: string;
  ErrorCode?: string;
  AccountId: string;
  AwsRegion: string;
  EventCategory: string;
}

function resources(value: unknown): LookupEvent['Resources'] {
  if (!Array.isArray(value)) return [];
  return value.map((r: { ResourceType?: unknown; ResourceName?: unknown }) => ({
    ResourceType: typeof r.ResourceType === 'string' ? r.ResourceType : null,
    ResourceName: String(r.ResourceName),
  }));
}

export function lookupEvent(row: EventRow): LookupEvent {
  return {
    EventId: row.event_id,
    EventName: row.event_name,
    ...(row.read_only !== null ? { ReadOnly: String(row.read_only) } : {}),
    ...(row.access_key_id !== null ? { AccessKeyId: row.access_key_id } : {}),
    EventTime: epochSeconds(BigInt(row.time_us)),
    EventSource: row.event_source,
    ...(row.username !== null ? { Username: row.username } : {}),
    Resources: resources(row.resources),
    CloudTrailEvent: row.record,
  };
}

export function historyEvent(row: EventRow): HistoryEvent {
  return {
    ...lookupEvent(row),
    ...(row.source_ip !== null ? { SourceIPAddress: row.source_ip } : {}),
    ...(row.error_code !== null ? { ErrorCode: row.error_code } : {}),
    AccountId: row.account_id,
    AwsRegion: row.region,
    EventCategory: row.event_category,
  };
}
