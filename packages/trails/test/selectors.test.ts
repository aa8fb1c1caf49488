import { describe, expect, it } from 'vitest';
import { compileAdvancedSelector, compileBasicSelector, compileFieldSelector, compileSelectors, eventCategoryOf } from '../src/selectors.js';
import { eventSelectorSchema, type FieldSelector } from '../src/index.js';
import { event, insightEvent, lambdaDataEvent, s3DataEvent } from './events.js';

const basic = (input: Record<string, unknown> = {}) => compileBasicSelector(eventSelectorSchema.parse(input));
const field = (selector: FieldSelector) => compileFieldSelector(selector);
const advanced = (...fieldSelectors: FieldSelector[]) => compileAdvancedSelector({ fieldSelectors });

const read = event({ eventName: 'DescribeInstances', readOnly: true });
const write = event({ eventName: 'RunInstances', readOnly: false });
const kms = event({ eventSource: 'kms.amazonaws.com', eventName: 'Decrypt', readOnly: true });
const objectRead = s3DataEvent('logs', 'a/b.txt');
const objectWrite = s3DataEvent('logs', 'a/c.txt', { eventName: 'PutObject', readOnly: false });
const otherBucket = s3DataEvent('secret', 'x.txt');
const invoke = lambdaDataEvent('arn:aws:lambda:us-east-1:111122223333:function:hello');
const network = event({ eventType: 'AwsVpceEvent', eventCategory: 'NetworkActivity', eventSource: 'kms.amazonaws.com', vpcEndpointId: 'vpce-0abc', errorCode: 'VpceAccessDenied', readOnly: undefined, managementEvent: undefined });

describe('event categories', () => {
  it('reads eventCategory, or infers it for records older than 1.07', () => {
    expect(eventCategoryOf(objectRead)).toBe('Data');
    expect(eventCategoryOf(event({ eventCategory: undefined, managementEvent: undefined }))).toBe('Management');
    expect(eventCategoryOf(event({ eventCategory: undefined, managementEvent: false }))).toBe('Data');
    expect(eventCategoryOf(insightEvent('ApiCallRateInsight', { eventCategory: undefined }))).toBe('Insight');
    expect(eventCategoryOf(event({ eventCategory: undefined, eventType: 'AwsVpceEvent' }))).toBe('NetworkActivity');
  });
});

describe('basic event selectors (spec §6.1)', () => {
  it('defaults to every management event, read and write, and no data events', () => {
    const all = basic();
    expect([read, write, kms].map((e) => all(e))).toEqual([true, true, true]);
    expect([objectRead, invoke, network].map((e) => all(e))).toEqual([false, false, false]);
  });

  it('ReadWriteType ReadOnly / WriteOnly / All', () => {
    expect([read, write].map((e) => basic({ readWriteType: 'ReadOnly' })(e))).toEqual([true, false]);
    expect([read, write].map((e) => basic({ readWriteType: 'WriteOnly' })(e))).toEqual([false, true]);
    expect([read, write].map((e) => basic({ readWriteType: 'All' })(e))).toEqual([true, true]);
    // No readOnly on the record: neither ReadOnly nor WriteOnly, unless the enricher's hint says.
    const unknown = event({ readOnly: undefined });
    expect(basic({ readWriteType: 'ReadOnly' })(unknown)).toBe(false);
    expect(basic({ readWriteType: 'WriteOnly' })(unknown)).toBe(false);
    expect(basic({ readWriteType: 'ReadOnly' })(unknown, true)).toBe(true);
    // The record's own value wins over the hint.
    expect(basic({ readWriteType: 'ReadOnly' })(write, true)).toBe(false);
  });

  it('IncludeManagementEvents false logs data events only', () => {
    const selector = basic({ includeManagementEvents: false, dataResources: [{ type: 'AWS::S3::Object', values: ['arn:aws:s3'] }] });
    expect([read, write, objectRead, objectWrite].map((e) => selector(e))).toEqual([false, false, true, true]);
  });

  it('ExcludeManagementEventSources leaves kms.amazonaws.com out', () => {
    const selector = basic({ excludeManagementEventSources: ['kms.amazonaws.com'] });
    expect([read, kms].map((e) => selector(e))).toEqual([true, false]);
  });

  it('DataResources: every object, a bucket prefix, one function, every function', () => {
    expect([objectRead, otherBucket, invoke].map((e) => basic({ dataResources: [{ type: 'AWS::S3::Object', values: ['arn:aws:s3'] }] })(e))).toEqual([true, true, false]);
    expect([objectRead, otherBucket].map((e) => basic({ dataResources: [{ type: 'AWS::S3::Object', values: ['arn:aws:s3:::logs/a/'] }] })(e))).toEqual([true, false]);
    expect(basic({ dataResources: [{ type: 'AWS::S3::Object', values: ['arn:aws:s3:::logs/b/'] }] })(objectRead)).toBe(false);
    const oneFunction = basic({ dataResources: [{ type: 'AWS::Lambda::Function', values: ['arn:aws:lambda:us-east-1:111122223333:function:hello'] }] });
    expect(oneFunction(invoke)).toBe(true);
    expect(oneFunction(lambdaDataEvent('arn:aws:lambda:us-east-1:111122223333:function:hello2'))).toBe(false);
    expect(basic({ dataResources: [{ type: 'AWS::Lambda::Function', values: ['arn:aws:lambda'] }] })(invoke)).toBe(true);
    // The resource type must match: an object selector does not log Lambda invocations.
    expect(basic({ dataResources: [{ type: 'AWS::DynamoDB::Table', values: ['arn:aws:dynamodb'] }] })(objectRead)).toBe(false);
  });

  it('selects data events whose resources travel in additionalFields (ARNPrefix entries of S3 list calls)', () => {
    const list = s3DataEvent('logs', 'x', {
      eventName: 'ListObjects',
      // Real S3 list calls name an ARNPrefix, which the typed Avro resources field cannot hold.
      resources: [{ ARNPrefix: 'arn:aws:s3:::logs/a/', type: 'AWS::S3::Object' }, { ARN: 'arn:aws:s3:::logs', accountId: '111122223333', type: 'AWS::S3::Bucket' }] as unknown as { type?: string }[],
    });
    expect(list.resources).toBeNull();
    expect(basic({ dataResources: [{ type: 'AWS::S3::Object', values: ['arn:aws:s3:::logs/'] }] })(list)).toBe(true);
    expect(basic({ dataResources: [{ type: 'AWS::S3::Object', values: ['arn:aws:s3:::other/'] }] })(list)).toBe(false);
    expect(field({ field: 'resources.type', equals: ['AWS::S3::Bucket'] })(list)).toBe(true);
  });

  it('applies ReadWriteType to data events too, and never selects network activity or Insights', () => {
    const writes = basic({ readWriteType: 'WriteOnly', dataResources: [{ type: 'AWS::S3::Object', values: ['arn:aws:s3'] }] });
    expect([objectRead, objectWrite].map((e) => writes(e))).toEqual([false, true]);
    expect(basic()(network)).toBe(false);
    expect(basic()(insightEvent('ApiCallRateInsight'))).toBe(false);
  });

  it('ORs the selectors of a trail', () => {
    const trail = compileSelectors({
      eventSelectors: [eventSelectorSchema.parse({ readWriteType: 'WriteOnly' }), eventSelectorSchema.parse({ includeManagementEvents: false, dataResources: [{ type: 'AWS::S3::Object', values: ['arn:aws:s3:::secret/'] }] })],
    });
    expect([read, write, objectRead, otherBucket].map((e) => trail(e))).toEqual([false, true, false, true]);
  });
});

describe('advanced event selectors (spec §6.2)', () => {
  it('equals, OR within the value list', () => {
    expect([read, write, kms].map((e) => field({ field: 'eventName', equals: ['RunInstances', 'Decrypt'] })(e))).toEqual([false, true, true]);
  });

  it('startsWith and endsWith', () => {
    expect([read, write].map((e) => field({ field: 'eventName', startsWith: ['Desc', 'Term'] })(e))).toEqual([true, false]);
    expect([read, write].map((e) => field({ field: 'eventName', endsWith: ['Instances'] })(e))).toEqual([true, true]);
    expect(field({ field: 'eventName', endsWith: ['Volumes'] })(read)).toBe(false);
  });

  it('negative operators hold only when the field matches none of the values', () => {
    expect([read, write, kms].map((e) => field({ field: 'eventName', notEquals: ['RunInstances', 'Decrypt'] })(e))).toEqual([true, false, false]);
    expect([read, write].map((e) => field({ field: 'eventName', notStartsWith: ['Run', 'Stop'] })(e))).toEqual([true, false]);
    expect([read, kms].map((e) => field({ field: 'eventSource', notEndsWith: ['kms.amazonaws.com', 'rds.amazonaws.com'] })(e))).toEqual([true, false]);
  });

  it('a missing field fails positive operators and passes negative ones', () => {
    const noName = insightEvent('ApiCallRateInsight');
    expect(field({ field: 'eventName', equals: ['RunInstances'] })(noName)).toBe(false);
    expect(field({ field: 'eventName', notEquals: ['RunInstances'] })(noName)).toBe(true);
  });

  it('operators of one field selector must all hold', () => {
    const selector = field({ field: 'eventName', startsWith: ['Describe', 'Run'], notEndsWith: ['Instances'] });
    expect([read, write, event({ eventName: 'DescribeVolumes' })].map((e) => selector(e))).toEqual([false, false, true]);
  });

  it('eventCategory, readOnly (as "true"/"false"), eventSource, errorCode, vpcEndpointId', () => {
    expect([read, objectRead, network].map((e) => field({ field: 'eventCategory', equals: ['Data'] })(e))).toEqual([false, true, false]);
    expect([read, write].map((e) => field({ field: 'readOnly', equals: ['false'] })(e))).toEqual([false, true]);
    expect([read, write].map((e) => field({ field: 'readOnly', equals: ['true'] })(e))).toEqual([true, false]);
    expect(field({ field: 'readOnly', equals: ['true'] })(event({ readOnly: undefined }), true)).toBe(true);
    expect([read, kms].map((e) => field({ field: 'eventSource', notEquals: ['kms.amazonaws.com'] })(e))).toEqual([true, false]);
    expect([network, read].map((e) => field({ field: 'errorCode', equals: ['VpceAccessDenied'] })(e))).toEqual([true, false]);
    expect(field({ field: 'vpcEndpointId', startsWith: ['vpce-0'] })(network)).toBe(true);
  });

  it('resources.type and resources.ARN: any resource for positive operators, every resource for negative ones', () => {
    expect([objectRead, invoke].map((e) => field({ field: 'resources.type', equals: ['AWS::S3::Object'] })(e))).toEqual([true, false]);
    expect([objectRead, otherBucket].map((e) => field({ field: 'resources.ARN', startsWith: ['arn:aws:s3:::logs/'] })(e))).toEqual([true, false]);
    // The bucket ARN arn:aws:s3:::logs does not start with "arn:aws:s3:::logs/", the object ARN does:
    // with no resources.type to narrow it, NotStartsWith sees both and excludes the event.
    expect(field({ field: 'resources.ARN', notStartsWith: ['arn:aws:s3:::logs/'] })(objectRead)).toBe(false);
    expect(field({ field: 'resources.ARN', notStartsWith: ['arn:aws:s3:::logs/'] })(otherBucket)).toBe(true);
    expect(field({ field: 'resources.ARN', endsWith: ['.txt'] })(objectRead)).toBe(true);
    expect(field({ field: 'resources.ARN', equals: ['arn:aws:s3:::logs'] })(objectRead)).toBe(true);
    expect(field({ field: 'resources.ARN', equals: ['arn:aws:s3:::logs'] })(read)).toBe(false);
  });

  it('resources.ARN applies to the resources of the selector\'s resources.type', () => {
    const objectsOutsideLogs = advanced(
      { field: 'eventCategory', equals: ['Data'] },
      { field: 'resources.type', equals: ['AWS::S3::Object'] },
      { field: 'resources.ARN', notEquals: ['arn:aws:s3:::logs'] },
    );
    // The object's bucket is arn:aws:s3:::logs, but the condition is on object ARNs.
    expect(objectsOutsideLogs(objectRead)).toBe(true);
  });

  it('ANDs the field selectors of one selector', () => {
    const writesToLogs = advanced(
      { field: 'eventCategory', equals: ['Data'] },
      { field: 'resources.type', equals: ['AWS::S3::Object'] },
      { field: 'eventName', equals: ['PutObject', 'DeleteObject'] },
      { field: 'resources.ARN', startsWith: ['arn:aws:s3:::logs/'] },
    );
    expect([objectRead, objectWrite, otherBucket, write].map((e) => writesToLogs(e))).toEqual([false, true, false, false]);
  });

  it('ORs the selectors of a trail (the UG example: management events, or writes to two prefixes)', () => {
    const trail = compileSelectors({
      advancedEventSelectors: [
        { name: 'management writes', fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }, { field: 'readOnly', equals: ['false'] }] },
        { fieldSelectors: [{ field: 'eventCategory', equals: ['Data'] }, { field: 'resources.type', equals: ['AWS::S3::Object'] }, { field: 'resources.ARN', startsWith: ['arn:aws:s3:::secret/'] }] },
      ],
    });
    expect([read, write, kms, objectRead, objectWrite, otherBucket, invoke, network].map((e) => trail(e))).toEqual([false, true, false, false, false, true, false, false]);
  });

  it('network activity selectors', () => {
    const denied = advanced({ field: 'eventCategory', equals: ['NetworkActivity'] }, { field: 'eventSource', equals: ['kms.amazonaws.com'] }, { field: 'errorCode', equals: ['VpceAccessDenied'] });
    expect([network, kms].map((e) => denied(e))).toEqual([true, false]);
  });
});
