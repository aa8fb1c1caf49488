import { advancedSelectorView } from '@opentrail/trails';
import type { EventDataStoreRecord } from './catalog.js';
import type { EventDataStoreDefinition } from './schema.js';

/** arn:aws:cloudtrail:<homeRegion>:<accountId>:eventdatastore/<id> */
export function eventDataStoreArn(store: Pick<EventDataStoreDefinition, 'id' | 'homeRegion' | 'accountId'>): string {
  return `arn:aws:cloudtrail:${store.homeRegion}:${store.accountId}:eventdatastore/${store.id}`;
}

/** `arn:aws:cloudtrail:<region>:<account>:eventdatastore/<uuid>`: each part bounded, so the match is linear. */
const STORE_ARN = /^arn:aws[a-z-]{0,20}:cloudtrail:([a-z]{2}(?:-[a-z]+){1,3}-\d{1,2}):(\d{12}):eventdatastore\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export function parseEventDataStoreArn(arn: string): { region: string; accountId: string; id: string } | undefined {
  const m = STORE_ARN.exec(arn);
  return m ? { region: m[1]!, accountId: m[2]!, id: m[3]! } : undefined;
}

/**
 * A store as GetEventDataStore, CreateEventDataStore and UpdateEventDataStore return it
 * (botocore's response shapes; timestamps in epoch seconds, as the JSON protocol carries them).
 */
export function describeEventDataStore(record: EventDataStoreRecord) {
  const d = record.definition;
  return {
    EventDataStoreArn: eventDataStoreArn(d),
    Name: d.name,
    Status: record.status,
    AdvancedEventSelectors: d.advancedEventSelectors.map(advancedSelectorView),
    MultiRegionEnabled: d.multiRegionEnabled,
    OrganizationEnabled: d.organizationId !== undefined,
    RetentionPeriod: d.retentionPeriodDays,
    TerminationProtectionEnabled: d.terminationProtectionEnabled,
    CreatedTimestamp: record.createdAt / 1000,
    UpdatedTimestamp: record.updatedAt / 1000,
    ...(d.kmsKeyId !== undefined ? { KmsKeyId: d.kmsKeyId } : {}),
    BillingMode: d.billingMode,
  };
}
