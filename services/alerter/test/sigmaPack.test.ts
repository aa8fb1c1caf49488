import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RuleLibrary, type CompiledRule } from '@opentrail/rules';
import type { CloudTrailRecord } from '@opentrail/cloudtrail';
import { builtinPackDirectory } from '../src/rulePacks.js';
import { ev } from './events.js';

const dir = builtinPackDirectory('sigma');
const library = new RuleLibrary({ directories: [dir] });
const loaded = library.load();
const byTitle = (title: string): CompiledRule => {
  const found = loaded.ruleSet.rules.find((r) => r.title === title);
  if (!found) throw new Error(`no rule titled ${title}`);
  return found;
};

const alice = { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice', accountId: '111122223333', userName: 'alice' };

const cases: Record<string, { match: CloudTrailRecord[]; noMatch: CloudTrailRecord[] }> = {
  'AWS Root User Activity': {
    match: [{ eventName: 'CreateUser', eventType: 'AwsApiCall', userIdentity: { type: 'Root', accountId: '111122223333' } }],
    noMatch: [
      { eventName: 'RotateKey', eventType: 'AwsServiceEvent', userIdentity: { type: 'Root', accountId: '111122223333' } },
      { eventName: 'CreateUser', userIdentity: alice },
    ],
  },
  'AWS Console Sign-In Without MFA': {
    // Case-insensitive: the rule says SUCCESS and NO, CloudTrail writes Success and No.
    match: [{ eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'Success' }, additionalEventData: { MFAUsed: 'No' } }],
    noMatch: [
      { eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'Success' }, additionalEventData: { MFAUsed: 'Yes' } },
      { eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'Failure' }, additionalEventData: { MFAUsed: 'No' } },
    ],
  },
  'AWS Console Sign-In Failed Authentication': {
    match: [{ eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', errorMessage: 'Failed authentication' }],
    noMatch: [{ eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'Success' } }],
  },
  'AWS CloudTrail Logging Stopped Or Changed': {
    match: ['StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors'].map((eventName) => ({ eventSource: 'cloudtrail.amazonaws.com', eventName })),
    noMatch: [{ eventSource: 'cloudtrail.amazonaws.com', eventName: 'StartLogging' }, { eventSource: 's3.amazonaws.com', eventName: 'DeleteTrail' }],
  },
  'AWS Security Group Rule Added Or Removed': {
    match: ['AuthorizeSecurityGroupIngress', 'AuthorizeSecurityGroupEgress', 'RevokeSecurityGroupIngress', 'RevokeSecurityGroupEgress'].map((eventName) => ({ eventSource: 'ec2.amazonaws.com', eventName })),
    noMatch: [{ eventSource: 'ec2.amazonaws.com', eventName: 'DescribeSecurityGroups' }, { eventSource: 'ec2.amazonaws.com', eventName: 'CreateSecurityGroup' }],
  },
  'AWS GuardDuty Detector Deleted Or Disabled': {
    match: [
      { eventSource: 'guardduty.amazonaws.com', eventName: 'DeleteDetector' },
      { eventSource: 'guardduty.amazonaws.com', eventName: 'UpdateDetector', requestParameters: { detectorId: 'd', enable: false } },
      { eventSource: 'guardduty.amazonaws.com', eventName: 'DeleteDetector', errorCode: 'Success' },
    ],
    noMatch: [
      { eventSource: 'guardduty.amazonaws.com', eventName: 'UpdateDetector', requestParameters: { detectorId: 'd', enable: true } },
      { eventSource: 'guardduty.amazonaws.com', eventName: 'DeleteDetector', errorCode: 'AccessDenied' },
      { eventSource: 'guardduty.amazonaws.com', eventName: 'ListDetectors' },
    ],
  },
  'AWS VPC Flow Logs Deleted': {
    match: [{ eventSource: 'ec2.amazonaws.com', eventName: 'DeleteFlowLogs' }, { eventSource: 'ec2.amazonaws.com', eventName: 'DeleteFlowLogs', errorCode: 'Success' }],
    noMatch: [{ eventSource: 'ec2.amazonaws.com', eventName: 'DeleteFlowLogs', errorCode: 'Client.UnauthorizedOperation' }],
  },
  'AWS IAM Login Profile Changed By Another Principal': {
    match: [{ eventSource: 'iam.amazonaws.com', eventName: 'UpdateLoginProfile', userIdentity: alice, requestParameters: { userName: 'bob' } }],
    noMatch: [{ eventSource: 'iam.amazonaws.com', eventName: 'UpdateLoginProfile', userIdentity: alice, requestParameters: { userName: 'alice' } }],
  },
  'AWS S3 Bucket Versioning Suspended': {
    match: [{ eventSource: 's3.amazonaws.com', eventName: 'PutBucketVersioning', requestParameters: { bucketName: 'b', VersioningConfiguration: { Status: 'Suspended' } } }],
    noMatch: [{ eventSource: 's3.amazonaws.com', eventName: 'PutBucketVersioning', requestParameters: { bucketName: 'b', VersioningConfiguration: { Status: 'Enabled' } } }],
  },
  'AWS S3 Bucket Policy Grants Access To Everyone': {
    match: [{ eventSource: 's3.amazonaws.com', eventName: 'PutBucketPolicy', requestParameters: { bucketPolicy: { Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject' }] } } }],
    noMatch: [
      { eventSource: 's3.amazonaws.com', eventName: 'PutBucketPolicy', requestParameters: { bucketPolicy: { Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' } }] } } },
      { eventSource: 's3.amazonaws.com', eventName: 'PutBucketPolicy', requestParameters: { bucketPolicy: { Statement: [{ Effect: 'Deny', Principal: '*' }] } } },
    ],
  },
  'AWS EC2 Instance Credentials Used From Outside AWS': {
    match: [{ eventName: 'ListBuckets', sourceIPAddress: '198.51.100.7', userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/web/i-0123456789abcdef0' } }],
    noMatch: [
      { eventName: 'ListBuckets', sourceIPAddress: '10.1.2.3', userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/web/i-0123456789abcdef0' } },
      { eventName: 'ListBuckets', sourceIPAddress: 'ec2.amazonaws.com', userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/web/i-0123456789abcdef0' } },
      { eventName: 'ListBuckets', sourceIPAddress: '198.51.100.7', userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/web/alice' } },
    ],
  },
  'AWS Enumeration With An Offensive Security Tool': {
    match: [{ eventName: 'ListUsers', userAgent: 'aws-cli/2 Pacu/1.5' }, { eventName: 'DescribeInstances', userAgent: 'ScoutSuite/5.12' }],
    noMatch: [{ eventName: 'ListUsers', userAgent: 'aws-cli/2.15' }, { eventName: 'CreateUser', userAgent: 'Pacu/1.5' }],
  },
  'AWS KMS Key Disabled Or Scheduled For Deletion': {
    match: [{ eventSource: 'kms.amazonaws.com', eventName: 'ScheduleKeyDeletion' }],
    noMatch: [{ eventSource: 'kms.amazonaws.com', eventName: 'Decrypt' }],
  },
  'AWS IAM AdministratorAccess Policy Attached': {
    match: [{ eventSource: 'iam.amazonaws.com', eventName: 'AttachRolePolicy', requestParameters: { roleName: 'r', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' } }],
    noMatch: [{ eventSource: 'iam.amazonaws.com', eventName: 'AttachRolePolicy', requestParameters: { roleName: 'r', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess-Amplify' } }],
  },
  'AWS Config Recorder Or Delivery Channel Stopped': {
    match: [{ eventSource: 'config.amazonaws.com', eventName: 'StopConfigurationRecorder' }],
    noMatch: [{ eventSource: 'config.amazonaws.com', eventName: 'StopConfigurationRecorder', errorCode: 'AccessDenied' }],
  },
};

describe('the Sigma pack (SigmaHQ format, product aws / service cloudtrail)', () => {
  it('loads every rule without a problem, the correlation as a threshold', () => {
    expect(loaded.problems).toEqual([]);
    expect(loaded.ruleSet.rules.filter((r) => r.kind === 'SIGMA').map((r) => r.title).sort()).toEqual(Object.keys(cases).sort());
    const correlation = loaded.ruleSet.rules.find((r) => r.kind === 'THRESHOLD')!;
    expect(correlation).toMatchObject({ title: 'AWS Console Sign-In Brute Force From One Address', threshold: { count: 10, windowMs: 300_000 }, groupBy: ['sourceIPAddress'] });
    expect(correlation.matches(ev({ eventName: 'ConsoleLogin', errorMessage: 'Failed authentication' }))).toBe(true);
  });

  it('every file has the fields SigmaHQ rules have', () => {
    for (const file of readdirSync(dir)) {
      const doc = parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
      for (const field of ['title', 'id', 'status', 'description', 'author', 'date', 'tags', 'level']) expect(doc, `${file}: ${field}`).toHaveProperty(field);
      expect(doc.id, file).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      if (!('correlation' in doc)) expect(doc.logsource, file).toEqual({ product: 'aws', service: 'cloudtrail' });
    }
  });

  it('together they use case-insensitive values, null, lists, every modifier, wildcards and every condition form', () => {
    const text = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    for (const needle of ['|contains', '|startswith', '|endswith', '|re:', '|all', '|fieldref', 'errorCode: null', "- null", "'List*'", 'SUCCESS', ' and not ', ' or ', '1 of ', 'all of ', 'not 1 of']) {
      expect(text, needle).toContain(needle);
    }
  });

  for (const [title, { match, noMatch }] of Object.entries(cases)) {
    it(`${title}: matches ${match.length} and not ${noMatch.length}`, () => {
      const r = byTitle(title);
      for (const record of match) expect(r.matches(ev(record)), JSON.stringify(record)).toBe(true);
      for (const record of noMatch) expect(r.matches(ev(record)), JSON.stringify(record)).toBe(false);
    });
  }
});
