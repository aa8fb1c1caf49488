import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { attributeValueLength, HistoryQueryError, LOOKUP_ATTRIBUTE_KEYS, parseLookupEvents, parseQueryEvents, parseResourceHistory } from '../../src/query/index.js';

const code = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return err instanceof HistoryQueryError ? `${err.code}: ${err.message}` : `not a HistoryQueryError: ${String(err)}`;
  }
  return 'no error';
};
const lookup = (input: Record<string, unknown>) => parseLookupEvents(input, 'us-east-1');
const attr = (AttributeKey: unknown, AttributeValue: unknown) => ({ LookupAttributes: [{ AttributeKey, AttributeValue }] });

describe('LookupEvents request', () => {
  it('defaults: management events of the signed region, 50 per page', () => {
    const r = lookup({});
    expect(r.filter).toEqual({ region: 'us-east-1', category: 'management' });
    expect(r.maxResults).toBe(50);
    expect(r.startTime).toBeUndefined();
  });

  it('maps each of the eight attribute keys to its filter', () => {
    const members = LOOKUP_ATTRIBUTE_KEYS.map((k) => Object.keys(lookup(attr(k, k === 'ReadOnly' ? 'false' : 'v')).filter).filter((m) => m !== 'region' && m !== 'category'));
    expect(members).toEqual([['eventId'], ['eventName'], ['readOnly'], ['username'], ['resourceType'], ['resourceName'], ['eventSource'], ['accessKeyId']]);
    expect(lookup(attr('ReadOnly', 'true')).filter.readOnly).toBe(true);
    expect(lookup(attr('ReadOnly', 'false')).filter.readOnly).toBe(false);
  });

  it('refuses more than one attribute, unknown keys (case-sensitive), bad values', () => {
    expect(code(() => lookup({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'a' }, { AttributeKey: 'Username', AttributeValue: 'b' }] }))).toMatch(/^InvalidLookupAttributesException: You cannot have more than one/);
    expect(code(() => lookup(attr('eventName', 'x')))).toMatch(/^InvalidLookupAttributesException/);
    expect(code(() => lookup(attr('EventName', '')))).toMatch(/^InvalidLookupAttributesException/);
    expect(code(() => lookup(attr('EventName', 5)))).toMatch(/^InvalidLookupAttributesException/);
    expect(code(() => lookup(attr('ReadOnly', 'yes')))).toMatch(/^InvalidLookupAttributesException: The ReadOnly/);
    expect(code(() => lookup({ LookupAttributes: 'EventName' }))).toMatch(/^InvalidLookupAttributesException/);
    expect(code(() => lookup({ LookupAttributes: [null] }))).toMatch(/^InvalidLookupAttributesException/);
  });

  it('counts _, space, comma and newline twice toward the 2000-character limit', () => {
    expect(attributeValueLength('a_b c,d\ne')).toBe(13);
    expect(code(() => lookup(attr('EventName', 'a'.repeat(2000))))).toBe('no error');
    expect(code(() => lookup(attr('EventName', `${'a'.repeat(1999)}_`)))).toMatch(/^InvalidLookupAttributesException/);
    expect(code(() => lookup(attr('EventName', '_'.repeat(1000))))).toBe('no error');
    expect(code(() => lookup(attr('EventName', '_'.repeat(1001))))).toMatch(/^InvalidLookupAttributesException/);
  });

  it('EventCategory: insight only, and then only EventId, EventName, EventSource', () => {
    expect(lookup({ EventCategory: 'insight' }).filter.category).toBe('insight');
    expect(code(() => lookup({ EventCategory: 'Insight' }))).toMatch(/^InvalidEventCategoryException/);
    expect(code(() => lookup({ EventCategory: 'management' }))).toMatch(/^InvalidEventCategoryException/);
    expect(code(() => lookup({ EventCategory: 'insight', ...attr('EventSource', 's3.amazonaws.com') }))).toBe('no error');
    expect(code(() => lookup({ EventCategory: 'insight', ...attr('Username', 'alice') }))).toMatch(/^InvalidLookupAttributesException/);
  });

  it('MaxResults 1..50 integers only', () => {
    for (const ok of [1, 25, 50]) expect(lookup({ MaxResults: ok }).maxResults).toBe(ok);
    for (const bad of [0, 51, -1, 1.5, '10', true]) expect(code(() => lookup({ MaxResults: bad }))).toMatch(/^InvalidMaxResultsException/);
  });

  it('times: epoch seconds (fractional) or ISO; start after end is InvalidTimeRangeException; equal is fine', () => {
    expect(lookup({ StartTime: 1_700_000_000.5 }).startTime).toBe(1_700_000_000_500_000n);
    expect(lookup({ EndTime: '2026-12-01T00:00:00Z' }).endTime).toBe(BigInt(Date.UTC(2026, 11, 1)) * 1000n);
    expect(code(() => lookup({ StartTime: 20, EndTime: 10 }))).toMatch(/^InvalidTimeRangeException/);
    expect(code(() => lookup({ StartTime: 10, EndTime: 10 }))).toBe('no error');
    for (const bad of ['yesterday', {}, [], -5, 1e20]) expect(code(() => lookup({ StartTime: bad }))).toMatch(/^SerializationException/);
  });

  it('answers any JSON input with a HistoryQueryError or a request, never another error', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('LookupAttributes', 'StartTime', 'EndTime', 'EventCategory', 'MaxResults', 'NextToken', 'X'), fc.jsonValue()), (input) => {
        expect(code(() => lookup(input))).not.toMatch(/^not a HistoryQueryError/);
      }),
    );
  });
});

describe('QueryEvents request', () => {
  it('combines filters; Region defaults to the signed one; CIDRs are parsed', () => {
    const r = parseQueryEvents({ Username: 'alice', EventSource: 'ec2.amazonaws.com', AccessDenied: true, ReadOnly: false, SourceIPAddress: '10.1.2.3/8', Region: 'eu-west-1' }, 'us-east-1');
    expect(r.filter).toEqual({ region: 'eu-west-1', category: 'all-but-insight', username: 'alice', eventSource: 'ec2.amazonaws.com', accessDenied: true, readOnly: false, sourceAddress: { kind: 'cidr', value: '10.1.2.3/8' } });
    expect(parseQueryEvents({ SourceIPAddress: 's3.amazonaws.com' }, 'us-east-1').filter.sourceAddress).toEqual({ kind: 'exact', value: 's3.amazonaws.com' });
    expect(parseQueryEvents({ SourceIPAddress: '2001:db8::/32' }, 'us-east-1').filter.sourceAddress).toEqual({ kind: 'cidr', value: '2001:db8::/32' });
  });

  it('refuses bad CIDRs, unknown members and wrongly typed members', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0/8', 'x/8', '10.0.0.0/', '::/129', "1.2.3.4/8'; DROP TABLE events; --"]) {
      expect(code(() => parseQueryEvents({ SourceIPAddress: bad }, 'us-east-1'))).toMatch(/^InvalidParameterException/);
    }
    expect(code(() => parseQueryEvents({ Usrname: 'x' }, 'us-east-1'))).toMatch(/^InvalidParameterException: QueryEvents has no member/);
    expect(code(() => parseQueryEvents({ AccessDenied: 'yes' }, 'us-east-1'))).toMatch(/^InvalidParameterException/);
    expect(code(() => parseQueryEvents({ Username: '' }, 'us-east-1'))).toMatch(/^InvalidParameterException/);
  });
});

describe('GetResourceHistory request', () => {
  it('is the successful changes to one resource; IncludeFailed widens it', () => {
    expect(parseResourceHistory({ ResourceName: 'sg-1' }, 'us-east-1').filter).toEqual({ region: 'us-east-1', category: 'all-but-insight', resourceName: 'sg-1', changesOnly: true, succeededOnly: true });
    expect(parseResourceHistory({ ResourceName: 'sg-1', IncludeFailed: true }, 'us-east-1').filter.succeededOnly).toBeUndefined();
    expect(code(() => parseResourceHistory({}, 'us-east-1'))).toMatch(/^InvalidParameterException: ResourceName is required/);
  });
});
