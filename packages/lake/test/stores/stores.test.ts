import { toApiCallEvent, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { loadSchemas } from '@opentrail/serde';
import { describe, expect, it } from 'vitest';
import {
  compileEventDataStores,
  eventDataStoreRecordFromValue,
  eventDataStoreRecordValue,
  eventDataStoreSchema,
  parseEventDataStoreArn,
  eventDataStoreArn,
  type EventDataStoreInput,
  type EventDataStoreRecord,
} from '../../src/index.js';

const ACCOUNT = '111122223333';

function event(overrides: Partial<CloudTrailRecord> = {}) {
  return toApiCallEvent({
    eventVersion: '1.09',
    userIdentity: { type: 'AssumedRole', accountId: ACCOUNT, arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Admin/alice` },
    eventTime: '2026-11-01T00:00:00Z',
    eventSource: 'ec2.amazonaws.com',
    eventName: 'RunInstances',
    awsRegion: 'us-east-1',
    sourceIPAddress: '192.0.2.1',
    eventID: '3b8b7c9e-0000-4000-8000-000000000001',
    eventType: 'AwsApiCall',
    readOnly: false,
    managementEvent: true,
    eventCategory: 'Management',
    recipientAccountId: ACCOUNT,
    ...overrides,
  });
}

function record(input: Partial<EventDataStoreInput>, status: EventDataStoreRecord['status'] = 'ENABLED'): EventDataStoreRecord {
  const definition = eventDataStoreSchema.parse({
    id: '0233062e-51e6-4d18-8fec-4d6ae1a8cd2b',
    name: 'audit',
    accountId: ACCOUNT,
    homeRegion: 'us-east-1',
    retentionPeriodDays: 366,
    ...input,
  });
  return { definition, status, tags: [], createdAt: 1, updatedAt: 2 };
}

describe('event data store definitions', () => {
  it('default to every management event, multi-region, with termination protection', () => {
    const d = record({}).definition;
    expect(d.advancedEventSelectors).toEqual([{ name: 'Default management events', fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }] }]);
    expect(d.multiRegionEnabled).toBe(true);
    expect(d.terminationProtectionEnabled).toBe(true);
  });

  it('allow the fields only Lake selects on, which trails refuse', () => {
    const selectors = [{ fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }, { field: 'userIdentity.arn', startsWith: ['arn:aws:sts::'] }] }];
    expect(eventDataStoreSchema.safeParse({ ...record({}).definition, advancedEventSelectors: selectors }).success).toBe(true);
    const bad = eventDataStoreSchema.safeParse({ ...record({}).definition, advancedEventSelectors: [{ fieldSelectors: [{ field: 'eventTime', equals: ['x'] }] }] });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['advancedEventSelectors', 0, 'fieldSelectors', 0, 'field']);
  });

  it('refuse more than seven years under the fixed plan', () => {
    expect(eventDataStoreSchema.safeParse({ ...record({}).definition, billingMode: 'FIXED_RETENTION_PRICING', retentionPeriodDays: 2558 }).success).toBe(false);
  });

  it('travel through the topic unchanged (Avro value and back)', () => {
    const r: EventDataStoreRecord = { ...record({ organizationId: 'o-exampleorgid1', multiRegionEnabled: false }, 'PENDING_DELETION'), tags: [{ key: 'team', value: 'audit' }, { key: 'bare' }], deletedAt: 5 };
    const type = loadSchemas().EventDataStoreRecord.type;
    const decoded = type.fromBuffer(type.toBuffer(eventDataStoreRecordValue(r)));
    expect(eventDataStoreRecordFromValue(r.definition.id, decoded)).toEqual(r);
    expect(() => eventDataStoreRecordFromValue('00000000-0000-4000-8000-000000000000', decoded)).toThrow(/under the key/);
  });

  it('have ARNs the parser reads back, and nothing else', () => {
    const arn = eventDataStoreArn(record({}).definition);
    expect(arn).toBe(`arn:aws:cloudtrail:us-east-1:${ACCOUNT}:eventdatastore/0233062e-51e6-4d18-8fec-4d6ae1a8cd2b`);
    expect(parseEventDataStoreArn(arn)).toEqual({ region: 'us-east-1', accountId: ACCOUNT, id: '0233062e-51e6-4d18-8fec-4d6ae1a8cd2b' });
    expect(parseEventDataStoreArn(`arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/audit`)).toBeUndefined();
  });
});

describe('which stores take an event', () => {
  it('only ingesting stores, in their account and regions, whose selectors select it', () => {
    const stores = compileEventDataStores([
      record({ id: '00000000-0000-4000-8000-000000000001', name: 'all' }),
      record({ id: '00000000-0000-4000-8000-000000000002', name: 'home', multiRegionEnabled: false, homeRegion: 'eu-west-1' }),
      record({ id: '00000000-0000-4000-8000-000000000003', name: 'stopped' }, 'STOPPED_INGESTION'),
      record({ id: '00000000-0000-4000-8000-000000000004', name: 'other', accountId: '444455556666' }),
      record({ id: '00000000-0000-4000-8000-000000000005', name: 'org', accountId: '444455556666', organizationId: 'o-exampleorgid1' }),
      record({ id: '00000000-0000-4000-8000-000000000006', name: 'roles', advancedEventSelectors: [{ fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }, { field: 'userIdentity.arn', startsWith: [`arn:aws:sts::${ACCOUNT}:assumed-role/Admin/`] }] }] }),
      record({ id: '00000000-0000-4000-8000-000000000007', name: 'deleted' }, 'PENDING_DELETION'),
    ]);
    const names = (e: ReturnType<typeof event>) => stores.select(e).map((s) => s.record.definition.name);
    expect(names(event())).toEqual(['all', 'org', 'roles']);
    expect(names(event({ awsRegion: 'eu-west-1' }))).toEqual(['all', 'home', 'org', 'roles']);
    expect(names(event({ userIdentity: { type: 'IAMUser', accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/bob` } }))).toEqual(['all', 'org']);
    // A data event is no management event: the default selectors leave it out.
    expect(names(event({ eventCategory: 'Data', managementEvent: false }))).toEqual([]);
  });
});
