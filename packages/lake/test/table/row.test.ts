import { describe, expect, it } from 'vitest';
import type { CloudTrailRecord } from '@opentrail/cloudtrail';
import { LAKE_MAX_JSON_DEPTH, lakeSchema, toLakeRow, type LakeRow } from '../../src/index.js';
import { accessDenied, assumedRoleGetObject, awsServiceEvent, iamUserStartLogging, identityCenterListObjects, nestedRequestParameters } from './records.js';

const at = (iso: string) => Date.parse(iso);

function withMember<T extends object>(target: T, name: string, value: unknown): T {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

/** A record with members defined as own data properties, so that `__proto__` is a member too. */
function recordOf(entries: [string, unknown][]): CloudTrailRecord {
  const record: CloudTrailRecord = {};
  for (const [name, value] of entries) withMember(record, name, value);
  return record;
}

const base: [string, unknown][] = [
  ['eventVersion', '1.11'],
  ['eventTime', '2026-03-01T12:00:00Z'],
  ['awsRegion', 'eu-west-1'],
  ['eventID', '6d2f2a5e-0000-4000-8000-000000000000'],
];

describe('toLakeRow', () => {
  it('converts an IAM user record to exactly the Lake row', () => {
    const expected: LakeRow = {
      eventversion: '1.09',
      useridentity: {
        type: 'IAMUser',
        principalid: 'EXAMPLE6E4XEGITWATV6R',
        arn: 'arn:aws:iam::123456789012:user/Mary_Major',
        accountid: '123456789012',
        accesskeyid: 'AKIAIOSFODNN7EXAMPLE',
        username: 'Mary_Major',
        sessioncontext: {
          attributes: { creationdate: at('2023-07-19T21:11:57Z'), mfaauthenticated: 'false' },
          sessionissuer: null,
          webidfederationdata: null,
          sourceidentity: null,
          ec2roledelivery: null,
          ec2issuedinvpc: null,
        },
        onbehalfof: null,
        inscopeof: null,
        invokedby: null,
        identityprovider: null,
        credentialid: null,
      },
      eventtime: at('2023-07-19T21:33:41Z'),
      eventsource: 'cloudtrail.amazonaws.com',
      eventname: 'StartLogging',
      awsregion: 'us-east-1',
      sourceipaddress: '192.0.2.0',
      useragent: 'aws-cli/2.13.5 Python/3.11.4 Linux/4.14.255-314-253.539.amzn2.x86_64 exec-env/CloudShell exe/x86_64.amzn.2 prompt/off command/cloudtrail.start-logging',
      errorcode: null,
      errormessage: null,
      requestparameters: new Map([['name', 'myTrail']]),
      responseelements: null,
      additionaleventdata: null,
      requestid: '9d478fc1-4f10-490f-a26b-EXAMPLE0e932',
      eventid: 'eae87c48-d421-4626-94f5-EXAMPLEac994',
      readonly: false,
      resources: null,
      eventtype: 'AwsApiCall',
      apiversion: null,
      managementevent: true,
      recipientaccountid: '123456789012',
      sharedeventid: null,
      annotation: null,
      vpcendpointid: null,
      vpcendpointaccountid: null,
      serviceeventdetails: null,
      addendum: null,
      edgedevicedetails: null,
      insightdetails: null,
      eventcategory: 'Management',
      tlsdetails: { tlsversion: 'TLSv1.2', ciphersuite: 'ECDHE-RSA-AES128-GCM-SHA256', clientprovidedhostheader: 'cloudtrail.us-east-1.amazonaws.com' },
      sessioncredentialfromconsole: 'true',
      eventjson: JSON.stringify(iamUserStartLogging),
      eventjsonchecksum: null,
      eventdate: '2023-07-19',
    };
    const row = toLakeRow(iamUserStartLogging);
    expect(row).toStrictEqual(expected);
    // Columns in lakeSchema's order, the partition column last.
    expect(Object.keys(row)).toEqual([...lakeSchema.map((f) => f.name), 'eventdate']);
  });

  it('keeps an assumed role session context, reading creationDate in ISO-8601 basic form too', () => {
    const row = toLakeRow(assumedRoleGetObject);
    expect(row.useridentity).toStrictEqual({
      type: 'AssumedRole',
      principalid: 'AROAIDPPEZS35WEXAMPLE:i-0123456789abcdef0',
      arn: 'arn:aws:sts::111122223333:assumed-role/app-role/i-0123456789abcdef0',
      accountid: '111122223333',
      accesskeyid: 'ASIAIOSFODNN7EXAMPLE',
      username: null,
      sessioncontext: {
        attributes: { creationdate: at('2013-11-02T01:06:28Z'), mfaauthenticated: 'false' },
        sessionissuer: { type: 'Role', principalid: 'AROAIDPPEZS35WEXAMPLE', arn: 'arn:aws:iam::111122223333:role/app-role', accountid: '111122223333', username: 'app-role' },
        // Present but empty in the record: a row of nulls, not a null row.
        webidfederationdata: { federatedprovider: null, attributes: null },
        sourceidentity: 'alice',
        ec2roledelivery: '2.0',
        ec2issuedinvpc: null,
      },
      onbehalfof: null,
      inscopeof: null,
      invokedby: null,
      identityprovider: null,
      credentialid: null,
    });
    expect(row.resources).toStrictEqual([
      { accountid: null, type: 'AWS::S3::Object', arn: 'arn:aws:s3:::invoices/2026/12/07/ünïcødé €.pdf', arnprefix: null },
      { accountid: '111122223333', type: 'AWS::S3::Bucket', arn: 'arn:aws:s3:::invoices', arnprefix: null },
    ]);
    // Numbers in a free-form member are their JSON text.
    expect(row.additionaleventdata).toStrictEqual(
      new Map([
        ['SignatureVersion', 'SigV4'],
        ['CipherSuite', 'TLS_AES_128_GCM_SHA256'],
        ['bytesTransferredIn', '0'],
        ['AuthenticationMethod', 'AuthHeader'],
        ['x-amz-id-2', 'EXAMPLEid2'],
        ['bytesTransferredOut', '48213'],
      ]),
    );
    // Lake's tlsdetails has three members; keyExchange is in eventjson only.
    expect(row.tlsdetails).toStrictEqual({ tlsversion: 'TLSv1.3', ciphersuite: 'TLS_AES_128_GCM_SHA256', clientprovidedhostheader: 'invoices.s3.eu-west-1.amazonaws.com' });
    expect(row.eventjson).toContain('"keyExchange":"X25519MLKEM768"');
    expect([row.eventtime, row.eventdate]).toEqual([at('2026-12-07T23:59:59Z'), '2026-12-07']);
    expect([row.vpcendpointid, row.vpcendpointaccountid, row.eventcategory, row.managementevent]).toEqual(['vpce-EXAMPLE08c1b6b9b7', '111122223333', 'Data', false]);
  });

  it('converts an AWS service caller: invokedBy, no principal', () => {
    const row = toLakeRow(awsServiceEvent);
    expect(row.useridentity).toMatchObject({ type: 'AWSService', accountid: '111122223333', invokedby: 'cloudtrail.amazonaws.com', principalid: null, arn: null, sessioncontext: null });
    expect(row.requestparameters).toStrictEqual(
      new Map([
        ['keySpec', 'AES_256'],
        ['encryptionContext', '{"aws:cloudtrail:arn":"arn:aws:cloudtrail:us-east-2:111122223333:trail/main","aws:s3:arn":"arn:aws:s3:::trail-bucket/AWSLogs/111122223333/CloudTrail/us-east-2/2026/01/01/f.json.gz"}'],
      ]),
    );
    expect([row.sharedeventid, row.tlsdetails, row.eventdate]).toEqual(['c1f1c1d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d', null, '2026-01-01']);
  });

  it('keeps the error of a denied call', () => {
    const row = toLakeRow(accessDenied);
    expect(row.errorcode).toBe('Client.UnauthorizedOperation');
    expect(row.errormessage).toBe(accessDenied.errorMessage);
    expect(row.responseelements).toBeNull();
    expect(row.requestparameters).toStrictEqual(new Map([['instanceId', 'i-0a1b2c3d4e5f60718']]));
  });

  it('holds nested request parameters as JSON text, as AWS sample queries read them', () => {
    const row = toLakeRow(nestedRequestParameters);
    expect(row.requestparameters).toStrictEqual(
      new Map<string, string | null>([
        ['groupId', 'sg-0123456789abcdef0'],
        ['ipPermissions', '{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}'],
        ['dryRun', 'false'],
        ['maxResults', '1000'],
        ['tags', '[]'],
        ['nothing', null],
        ['quote"and\\slash', 'line\nbreak'],
      ]),
    );
    expect(row.responseelements?.get('_return')).toBe('true');
    expect(row.addendum).toStrictEqual(new Map([['reason', 'UPDATED_DATA'], ['updatedFields', 'responseElements'], ['originalRequestID', 'x'], ['originalEventID', 'y']]));
    expect([row.apiversion, row.annotation]).toEqual(['2016-11-15', 'note']);
  });

  it('converts an Identity Center caller, ARNPrefix resources and early years; eventContext stays in eventjson', () => {
    const row = toLakeRow(identityCenterListObjects);
    expect(row.useridentity).toMatchObject({
      onbehalfof: { userid: '544894e8-80c1-707f-60e3-3ba6510dfac1', identitystorearn: 'arn:aws:identitystore::123456789012:identitystore/d-9067642ac7' },
      inscopeof: { sourcearn: 'arn:aws:lambda:us-east-1:123456789012:function:f', sourceaccount: null, issuertype: 'AWS::Lambda::Function', credentialsissuedto: 'arn:aws:sts::123456789012:assumed-role/r/f' },
      credentialid: 'EXAMPLEVHULjJdTUdPJfofVa1sufHDoj7aYcOYcxFVllWR_Whr1fEXAMPLE',
    });
    expect(row.resources).toStrictEqual([{ accountid: null, type: 'AWS::S3::Object', arn: null, arnprefix: 'arn:aws:s3:::reports/' }]);
    expect(row.requestparameters).toStrictEqual(new Map([['bucketName', 'reports'], ['prefix', '']]));
    expect(row.eventdate).toBe('0099-03-01');
    expect(row.eventtime).toBe(new Date('0099-03-01T00:00:00Z').getTime());
    expect(JSON.parse(row.eventjson!)).toStrictEqual(identityCenterListObjects);
  });

  it('keeps data-named members (__proto__, constructor) as map entries and never reads the prototype', () => {
    const requestParameters = JSON.parse('{"__proto__":{"polluted":true},"constructor":"c","toString":1}') as Record<string, unknown>;
    const record = recordOf([...base, ['requestParameters', requestParameters], ['eventName', 'constructor']]);
    // A hole in an array must not read Array.prototype[0] either.
    const holed = (second: unknown): unknown[] => Object.assign(new Array<unknown>(2), { 1: second });
    withMember(record, 'resources', holed({ ARN: 'arn:aws:s3:::b' }));
    withMember(record, 'responseElements', { list: holed(1) });
    const polluted = Object.prototype as Record<string, unknown>;
    const pollutedArray = Array.prototype as unknown as Record<string, unknown>;
    polluted.eventSource = 'polluted.example.com';
    pollutedArray[0] = { ARN: 'arn:aws:s3:::polluted' };
    try {
      const row = toLakeRow(record);
      expect(row.resources).toStrictEqual([null, { accountid: null, type: null, arn: 'arn:aws:s3:::b', arnprefix: null }]);
      expect(row.responseelements).toStrictEqual(new Map([['list', '[null,1]']]));
      expect(row.requestparameters).toStrictEqual(new Map([['__proto__', '{"polluted":true}'], ['constructor', 'c'], ['toString', '1']]));
      expect(row.eventname).toBe('constructor');
      // Inherited members are not the record's.
      expect(row.eventsource).toBeNull();
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    } finally {
      delete polluted.eventSource;
      delete pollutedArray[0];
    }
  });

  it('leaves members of the wrong JSON type out (null), and takes non-objects as empty records', () => {
    const row = toLakeRow(
      recordOf([...base, ['readOnly', 'true'], ['eventName', 42], ['userIdentity', 'IAMUser'], ['requestParameters', ['a']], ['resources', [null, 'x', { ARN: 7, type: 'AWS::S3::Bucket' }]], ['tlsDetails', {}]]),
    );
    expect([row.readonly, row.eventname, row.useridentity, row.requestparameters]).toEqual([null, null, null, null]);
    expect(row.resources).toStrictEqual([null, null, { accountid: null, type: 'AWS::S3::Bucket', arn: null, arnprefix: null }]);
    expect(row.tlsdetails).toStrictEqual({ tlsversion: null, ciphersuite: null, clientprovidedhostheader: null });
    for (const input of [null, 'x', 1, [iamUserStartLogging]]) {
      const empty = toLakeRow(input as unknown as CloudTrailRecord);
      expect(Object.values(empty).every((v) => v === null)).toBe(true);
    }
  });

  it('gives no time and no day for an eventTime that is not a real instant', () => {
    for (const eventTime of ['2025-02-29T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01 00:00:00', '1770000000', '']) {
      const row = toLakeRow(recordOf([...base.filter(([k]) => k !== 'eventTime'), ['eventTime', eventTime]]));
      expect([row.eventtime, row.eventdate]).toEqual([null, null]);
    }
    expect(toLakeRow(recordOf([...base.filter(([k]) => k !== 'eventTime'), ['eventTime', '2024-02-29T23:59:59.1234Z']])).eventtime).toBe(at('2024-02-29T23:59:59.123Z'));
  });

  it('drops values nested deeper than the limit, and the eventjson that would hold them, without recursion', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    let justDeepEnough: unknown = 'bottom';
    for (let i = 0; i < LAKE_MAX_JSON_DEPTH; i++) justDeepEnough = [justDeepEnough];
    const row = toLakeRow(recordOf([...base, ['requestParameters', { deep, ok: justDeepEnough }]]));
    expect(row.requestparameters?.get('deep')).toBeNull();
    expect(row.requestparameters?.get('ok')).toBe(JSON.stringify(justDeepEnough));
    expect(row.eventjson).toBeNull();
    expect(row.eventtime).toBe(at('2026-03-01T12:00:00Z'));
  });

  it('makes strings well-formed, keeping the first of two names that become one', () => {
    const row = toLakeRow(recordOf([...base, ['userAgent', 'a\uD800b'], ['requestParameters', recordOf([['\uD800', 'first'], ['\uDC00', 'second'], ['k', '\uDBFF']])]]));
    expect(row.useragent).toBe('a\uFFFDb');
    expect(row.requestparameters).toStrictEqual(new Map([['\uFFFD', 'first'], ['k', '\uFFFD']]));
    // JSON text escapes lone surrogates: eventjson keeps them exactly.
    expect(row.eventjson).toContain('"userAgent":"a\\ud800b"');
  });
});
