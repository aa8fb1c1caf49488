import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadSchemas } from '@opentrail/serde';
import { checkJsonMembers } from '../src/codec.js';
import { toApiCallEvent, toCloudTrailRecord, withDefaults, writeRecordJson, type CloudTrailRecord } from '../src/index.js';

const fixture = fileURLToPath(new URL('../../../test/fixtures/cloudtrail-records.ndjson', import.meta.url));
const records = readFileSync(fixture, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as CloudTrailRecord);
const type = loadSchemas().ApiCallEvent.type;

describe('ApiCallEvent codec', () => {
  it('round-trips all 504 real records through Avro bytes without loss', () => {
    expect(records).toHaveLength(504);
    for (const original of records) {
      const filled = withDefaults(original);
      const decoded = type.fromBuffer(type.toBuffer(toApiCallEvent(filled)));
      expect(toCloudTrailRecord(decoded as never)).toStrictEqual(filled);
    }
  });

  it('keeps an explicit null apart from an absent member', () => {
    const record = withDefaults({ awsRegion: 'us-east-1', eventSource: 's3.amazonaws.com', eventName: 'GetObject', responseElements: null, readOnly: null as never, userIdentity: null });
    const event = toApiCallEvent(record);
    expect(event.responseElements).toBe('null');
    expect(event.readOnly).toBeNull();
    expect(JSON.parse(event.additionalFields!)).toEqual({ readOnly: null, userIdentity: null });
    expect(toCloudTrailRecord(event)).toStrictEqual(record);
    expect('requestParameters' in toCloudTrailRecord(event)).toBe(false);
  });

  it('carries unknown members and values of the wrong type in additionalFields', () => {
    const record = withDefaults({ awsRegion: 'eu-west-1', eventName: 'X', eventSource: 'x.amazonaws.com', managementEvent: 'yes' as never, futureField: { a: [1, 2] }, userIdentity: { type: 'IAMUser', futureIdentityField: 1, userName: 7 as never } });
    const event = toApiCallEvent(record);
    expect(JSON.parse(event.additionalFields!)).toEqual({ managementEvent: 'yes', futureField: { a: [1, 2] } });
    expect(JSON.parse(event.userIdentity!.additionalFields!)).toEqual({ futureIdentityField: 1, userName: 7 });
    expect(toCloudTrailRecord(event)).toStrictEqual(record);
  });

  it('writes members in CloudTrail order, splicing JSON text as is', () => {
    const event = toApiCallEvent(withDefaults({ eventTime: '2024-01-01T00:00:00Z', eventID: 'e', eventVersion: '1.09', awsRegion: 'us-east-1', requestParameters: { b: 1.5, a: 'x' }, eventName: 'N', eventSource: 's' }));
    expect(writeRecordJson(event)).toBe('{"eventVersion":"1.09","eventTime":"2024-01-01T00:00:00Z","eventSource":"s","eventName":"N","awsRegion":"us-east-1","requestParameters":{"b":1.5,"a":"x"},"eventID":"e"}');
  });

  it('finds JSON-text members that do not parse', () => {
    const event = toApiCallEvent(withDefaults({ awsRegion: 'us-east-1', eventName: 'N', eventSource: 's' }));
    expect(checkJsonMembers(event)).toBeUndefined();
    expect(checkJsonMembers({ ...event, requestParameters: '{"a":' })).toBe('requestParameters is not valid JSON text');
    expect(checkJsonMembers({ ...event, additionalFields: '[1]' })).toBe('additionalFields is not a JSON object');
  });
});
