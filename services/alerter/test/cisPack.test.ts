import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileFilterPattern, FilterPatternError, parseRuleFile, RuleLibrary, type CompiledRule } from '@opentrail/rules';
import type { CloudTrailRecord } from '@opentrail/cloudtrail';
import { builtinPackDirectory } from '../src/rulePacks.js';
import { ev } from './events.js';

const library = new RuleLibrary({ directories: [builtinPackDirectory('cis')] });
const loaded = library.load();
const rule = (id: string): CompiledRule => {
  const found = loaded.ruleSet.rules.find((r) => r.id === id);
  if (!found) throw new Error(`no rule ${id}`);
  return found;
};

const iamUser = { type: 'IAMUser', principalId: 'AIDAEXAMPLE', arn: 'arn:aws:iam::111122223333:user/alice', accountId: '111122223333', userName: 'alice' };
const root = { type: 'Root', principalId: '111122223333', arn: 'arn:aws:iam::111122223333:root', accountId: '111122223333' };

/**
 * The pattern of each control exactly as cloudtrail-spec.md §8.2 prints it (v3.0.0 text). The pack's
 * files must hold these strings unchanged: a "fixed" or reformatted pattern is no longer the CIS one.
 */
const SPEC_PATTERNS = new Map<string, string>([
  ['cis-4.1-unauthorized-api-calls', '{ ($.errorCode ="*UnauthorizedOperation") || ($.errorCode ="AccessDenied*") && ($.sourceIPAddress!="delivery.logs.amazonaws.com") && ($.eventName!="HeadBucket") }'],
  ['cis-4.2-console-signin-without-mfa', '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }'],
  ['cis-4.3-root-account-usage', '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }'],
  ['cis-4.4-iam-policy-changes', '{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}'],
  ['cis-4.5-cloudtrail-configuration-changes', '{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || ($.eventName = StartLogging) || ($.eventName = StopLogging) }'],
  ['cis-4.6-console-authentication-failures', '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }'],
  ['cis-4.7-cmk-disabled-or-scheduled-for-deletion', '{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }'],
  ['cis-4.8-s3-bucket-policy-changes', '{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || ($.eventName = PutBucketPolicy) || ($.eventName = PutBucketCors) || ($.eventName = PutBucketLifecycle) || ($.eventName = PutBucketReplication) || ($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || ($.eventName = DeleteBucketLifecycle) || ($.eventName = DeleteBucketReplication)) }'],
  ['cis-4.9-aws-config-changes', '{ ($.eventSource = config.amazonaws.com) && (($.eventName=StopConfigurationRecorder)||($.eventName=DeleteDeliveryChannel)||($.eventName=PutDeliveryChannel)||($.eventName=PutConfigurationRecorder)) }'],
  ['cis-4.10-security-group-changes', '{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || ($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || ($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }'],
  ['cis-4.11-nacl-changes', '{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || ($.eventName = DeleteNetworkAcl) || ($.eventName = DeleteNetworkAclEntry) || ($.eventName = ReplaceNetworkAclEntry) || ($.eventName = ReplaceNetworkAclAssociation) }'],
  ['cis-4.12-network-gateway-changes', '{ ($.eventName = CreateCustomerGateway) || ($.eventName = DeleteCustomerGateway) || ($.eventName = AttachInternetGateway) || ($.eventName = CreateInternetGateway) || ($.eventName = DeleteInternetGateway) || ($.eventName = DetachInternetGateway) }'],
  ['cis-4.13-route-table-changes', '{ ($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) || ($.eventName = ReplaceRoute) || ($.eventName = ReplaceRouteTableAssociation) || ($.eventName = DeleteRouteTable) || ($.eventName = DeleteRoute) || ($.eventName = DisassociateRouteTable) }'],
  ['cis-4.14-vpc-changes', '{ ($.eventName = CreateVpc) || ($.eventName = DeleteVpc) || ($.eventName = ModifyVpcAttribute) || ($.eventName = AcceptVpcPeeringConnection) || ($.eventName = CreateVpcPeeringConnection) || ($.eventName = DeleteVpcPeeringConnection) || ($.eventName = RejectVpcPeeringConnection) || ($.eventName = AttachClassicLinkVpc) || ($.eventName = DetachClassicLinkVpc) || ($.eventName = DisableVpcClassicLink) || ($.eventName = EnableVpcClassicLink) }'],
  ['cis-4.15-organizations-changes', '{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || ($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") || ($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || ($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || ($.eventName = "EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || ($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") || ($.eventName = "UpdateOrganizationalUnit")) }'],
]);

/** Per CIS control: events it must match and events it must not (cloudtrail-spec.md §8.2). */
const cases: Record<string, { match: CloudTrailRecord[]; noMatch: CloudTrailRecord[] }> = {
  'cis-4.1-unauthorized-api-calls': {
    match: [
      { eventSource: 'ec2.amazonaws.com', eventName: 'RunInstances', errorCode: 'Client.UnauthorizedOperation', userIdentity: iamUser },
      { eventSource: 's3.amazonaws.com', eventName: 'GetObject', errorCode: 'AccessDenied', sourceIPAddress: '203.0.113.9' },
      { eventSource: 'iam.amazonaws.com', eventName: 'ListUsers', errorCode: 'AccessDeniedException', sourceIPAddress: '203.0.113.9' },
    ],
    noMatch: [
      { eventSource: 's3.amazonaws.com', eventName: 'GetObject', sourceIPAddress: '203.0.113.9' },
      { eventSource: 's3.amazonaws.com', eventName: 'HeadBucket', errorCode: 'AccessDenied', sourceIPAddress: '203.0.113.9' },
      { eventSource: 's3.amazonaws.com', eventName: 'PutObject', errorCode: 'AccessDenied', sourceIPAddress: 'delivery.logs.amazonaws.com' },
      { eventSource: 'ec2.amazonaws.com', eventName: 'RunInstances', errorCode: 'InsufficientInstanceCapacity' },
    ],
  },
  'cis-4.2-console-signin-without-mfa': {
    match: [{ eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', eventType: 'AwsConsoleSignIn', additionalEventData: { MFAUsed: 'No', MobileVersion: 'No' }, responseElements: { ConsoleLogin: 'Success' }, userIdentity: iamUser }],
    noMatch: [
      { eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', additionalEventData: { MFAUsed: 'Yes' }, responseElements: { ConsoleLogin: 'Success' }, userIdentity: iamUser },
      { eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'Success' }, userIdentity: iamUser },
      { eventSource: 'signin.amazonaws.com', eventName: 'GetSigninToken', additionalEventData: { MFAUsed: 'No' } },
    ],
  },
  'cis-4.3-root-account-usage': {
    match: [
      { eventSource: 'iam.amazonaws.com', eventName: 'CreateAccessKey', eventType: 'AwsApiCall', userIdentity: root },
      { eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', eventType: 'AwsConsoleSignIn', userIdentity: root },
    ],
    noMatch: [
      { eventSource: 'iam.amazonaws.com', eventName: 'CreateAccessKey', eventType: 'AwsApiCall', userIdentity: iamUser },
      { eventSource: 'ec2.amazonaws.com', eventName: 'RunInstances', eventType: 'AwsApiCall', userIdentity: { ...root, invokedBy: 'autoscaling.amazonaws.com' } },
      { eventSource: 'kms.amazonaws.com', eventName: 'RotateKey', eventType: 'AwsServiceEvent', userIdentity: root },
    ],
  },
  'cis-4.4-iam-policy-changes': {
    match: ['DeleteGroupPolicy', 'PutUserPolicy', 'CreatePolicyVersion', 'AttachRolePolicy', 'DetachGroupPolicy'].map((eventName) => ({ eventSource: 'iam.amazonaws.com', eventName })),
    noMatch: [{ eventSource: 'iam.amazonaws.com', eventName: 'GetPolicy' }, { eventSource: 'iam.amazonaws.com', eventName: 'ListAttachedRolePolicies' }, { eventSource: 'iam.amazonaws.com', eventName: 'attachrolepolicy' }],
  },
  'cis-4.5-cloudtrail-configuration-changes': {
    match: ['CreateTrail', 'UpdateTrail', 'DeleteTrail', 'StartLogging', 'StopLogging'].map((eventName) => ({ eventSource: 'cloudtrail.amazonaws.com', eventName })),
    noMatch: [{ eventSource: 'cloudtrail.amazonaws.com', eventName: 'DescribeTrails' }, { eventSource: 'cloudtrail.amazonaws.com', eventName: 'LookupEvents' }],
  },
  'cis-4.6-console-authentication-failures': {
    match: [{ eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', errorMessage: 'Failed authentication', responseElements: { ConsoleLogin: 'Failure' } }],
    noMatch: [
      { eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', responseElements: { ConsoleLogin: 'Success' } },
      { eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', errorMessage: 'failed authentication' },
      { eventSource: 'signin.amazonaws.com', eventName: 'CheckMfa', errorMessage: 'Failed authentication' },
    ],
  },
  'cis-4.7-cmk-disabled-or-scheduled-for-deletion': {
    match: [{ eventSource: 'kms.amazonaws.com', eventName: 'DisableKey' }, { eventSource: 'kms.amazonaws.com', eventName: 'ScheduleKeyDeletion' }],
    noMatch: [{ eventSource: 'kms.amazonaws.com', eventName: 'EnableKey' }, { eventSource: 'ec2.amazonaws.com', eventName: 'DisableKey' }],
  },
  'cis-4.8-s3-bucket-policy-changes': {
    match: ['PutBucketAcl', 'PutBucketPolicy', 'PutBucketCors', 'PutBucketLifecycle', 'PutBucketReplication', 'DeleteBucketPolicy', 'DeleteBucketCors', 'DeleteBucketLifecycle', 'DeleteBucketReplication'].map((eventName) => ({ eventSource: 's3.amazonaws.com', eventName })),
    noMatch: [{ eventSource: 's3.amazonaws.com', eventName: 'GetBucketPolicy' }, { eventSource: 'iam.amazonaws.com', eventName: 'PutBucketPolicy' }],
  },
  'cis-4.9-aws-config-changes': {
    match: ['StopConfigurationRecorder', 'DeleteDeliveryChannel', 'PutDeliveryChannel', 'PutConfigurationRecorder'].map((eventName) => ({ eventSource: 'config.amazonaws.com', eventName })),
    noMatch: [{ eventSource: 'config.amazonaws.com', eventName: 'StartConfigurationRecorder' }, { eventSource: 'config.amazonaws.com', eventName: 'DescribeConfigRules' }],
  },
  'cis-4.10-security-group-changes': {
    match: ['AuthorizeSecurityGroupIngress', 'AuthorizeSecurityGroupEgress', 'RevokeSecurityGroupIngress', 'RevokeSecurityGroupEgress', 'CreateSecurityGroup', 'DeleteSecurityGroup'].map((eventName) => ({ eventSource: 'ec2.amazonaws.com', eventName })),
    noMatch: [{ eventSource: 'ec2.amazonaws.com', eventName: 'DescribeSecurityGroups' }, { eventSource: 'ec2.amazonaws.com', eventName: 'ModifySecurityGroupRules' }],
  },
  'cis-4.11-nacl-changes': {
    match: ['CreateNetworkAcl', 'CreateNetworkAclEntry', 'DeleteNetworkAcl', 'DeleteNetworkAclEntry', 'ReplaceNetworkAclEntry', 'ReplaceNetworkAclAssociation'].map((eventName) => ({ eventSource: 'ec2.amazonaws.com', eventName })),
    noMatch: [{ eventSource: 'ec2.amazonaws.com', eventName: 'DescribeNetworkAcls' }],
  },
  'cis-4.12-network-gateway-changes': {
    match: ['CreateCustomerGateway', 'DeleteCustomerGateway', 'AttachInternetGateway', 'CreateInternetGateway', 'DeleteInternetGateway', 'DetachInternetGateway'].map((eventName) => ({ eventSource: 'ec2.amazonaws.com', eventName })),
    noMatch: [{ eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInternetGateways' }, { eventSource: 'ec2.amazonaws.com', eventName: 'CreateNatGateway' }],
  },
  'cis-4.13-route-table-changes': {
    match: ['CreateRoute', 'CreateRouteTable', 'ReplaceRoute', 'ReplaceRouteTableAssociation', 'DeleteRouteTable', 'DeleteRoute', 'DisassociateRouteTable'].map((eventName) => ({ eventSource: 'ec2.amazonaws.com', eventName })),
    noMatch: [{ eventSource: 'ec2.amazonaws.com', eventName: 'DescribeRouteTables' }, { eventSource: 'ec2.amazonaws.com', eventName: 'AssociateRouteTable' }],
  },
  'cis-4.14-vpc-changes': {
    match: ['CreateVpc', 'DeleteVpc', 'ModifyVpcAttribute', 'AcceptVpcPeeringConnection', 'CreateVpcPeeringConnection', 'DeleteVpcPeeringConnection', 'RejectVpcPeeringConnection', 'AttachClassicLinkVpc', 'DetachClassicLinkVpc', 'DisableVpcClassicLink', 'EnableVpcClassicLink'].map((eventName) => ({ eventSource: 'ec2.amazonaws.com', eventName })),
    noMatch: [{ eventSource: 'ec2.amazonaws.com', eventName: 'DescribeVpcs' }, { eventSource: 'ec2.amazonaws.com', eventName: 'CreateSubnet' }],
  },
  'cis-4.15-organizations-changes': {
    match: ['AcceptHandshake', 'AttachPolicy', 'CreateAccount', 'DeleteOrganization', 'LeaveOrganization', 'MoveAccount', 'UpdateOrganizationalUnit'].map((eventName) => ({ eventSource: 'organizations.amazonaws.com', eventName })),
    noMatch: [{ eventSource: 'organizations.amazonaws.com', eventName: 'ListAccounts' }, { eventSource: 'iam.amazonaws.com', eventName: 'AttachPolicy' }],
  },
};

describe('the CIS pack (cloudtrail-spec.md §8.2)', () => {
  it('loads all 15 controls without a problem', () => {
    expect(loaded.problems).toEqual([]);
    expect(loaded.ruleSet.rules.map((r) => r.id).sort()).toEqual(Object.keys(cases).sort());
    expect(loaded.ruleSet.rules.every((r) => r.kind === 'FILTER_PATTERN')).toBe(true);
  });

  it("each file holds its control's pattern verbatim from §8.2", () => {
    const dir = builtinPackDirectory('cis');
    const sources = new Map<string, string>();
    for (const file of readdirSync(dir)) {
      const parsed = parseRuleFile(file, readFileSync(join(dir, file), 'utf8'));
      expect(parsed.problems, file).toEqual([]);
      for (const d of parsed.definitions) if (d.type === 'detection') sources.set(d.id, d.source);
    }
    expect(sources).toEqual(SPEC_PATTERNS);
  });

  for (const [id, { match, noMatch }] of Object.entries(cases)) {
    it(`${id}: matches ${match.length} events and not ${noMatch.length} others`, () => {
      const r = rule(id);
      // The spec's text compiled on its own, and the rule as the pack loads it, agree on every event.
      const spec = compileFilterPattern(SPEC_PATTERNS.get(id)!);
      for (const record of match) expect([r.matches(ev(record)), spec.matches(ev(record))], JSON.stringify(record)).toEqual([true, true]);
      for (const record of noMatch) expect([r.matches(ev(record)), spec.matches(ev(record))], JSON.stringify(record)).toEqual([false, false]);
      // The index offers the rule every event it matches.
      for (const record of match) expect(loaded.ruleSet.candidates(ev(record))).toContain(r);
    });
  }
});

describe('every CIS pattern variant of §8.2 parses verbatim', () => {
  const variants: [string, string][] = [
    ['4.1 v1.2.0', '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }'],
    ['4.1 Security Hub', '{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}'],
    ['4.1 v3/v5/v6', '{ ($.errorCode ="*UnauthorizedOperation") || ($.errorCode ="AccessDenied*") && ($.sourceIPAddress!="delivery.logs.amazonaws.com") && ($.eventName!="HeadBucket") }'],
    ['4.1 v1.4.0 erratum', '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") || ($.sourceIPAddress!="delivery.logs.amazonaws.com") || ($.eventName!="HeadBucket") }'],
    ['4.2', '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }'],
    ['4.2 excluding SSO', '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }'],
    ['4.3', '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }'],
    ['4.10 v6', '{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || ($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || ($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) || ($.eventName = ModifySecurityGroupRules) }'],
    ['4.13 Prowler', '{($.eventSource = ec2.amazonaws.com) && (($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) || ($.eventName = ReplaceRoute) || ($.eventName = ReplaceRouteTableAssociation) || ($.eventName = DeleteRouteTable) || ($.eventName = DeleteRoute) || ($.eventName = DisassociateRouteTable))}'],
  ];
  for (const [name, pattern] of variants) {
    it(name, () => {
      expect(() => compileFilterPattern(pattern)).not.toThrow();
    });
  }

  it('the v1.4.0 erratum matches far more than intended, exactly as CloudWatch would', () => {
    const erratum = compileFilterPattern(variants[3]![1]);
    expect(erratum.matches(ev({ eventName: 'DescribeInstances', sourceIPAddress: '198.51.100.1' }))).toBe(true);
  });

  it('the v6 SSO-excluding 4.2 variant leaves out failed and federated sign-ins', () => {
    const sso = compileFilterPattern(variants[5]![1]);
    const base = { eventName: 'ConsoleLogin', additionalEventData: { MFAUsed: 'No' }, responseElements: { ConsoleLogin: 'Success' } };
    expect(sso.matches(ev({ ...base, userIdentity: iamUser }))).toBe(true);
    expect(sso.matches(ev({ ...base, userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/sso/alice' } }))).toBe(false);
  });

  it("refuses the v6.0.0 typo ($.eventName = AcceptHandshake\") and says where", () => {
    const typo = '{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = AcceptHandshake") || ($.eventName = "AttachPolicy")) }';
    expect(() => compileFilterPattern(typo)).toThrow(FilterPatternError);
    expect(() => compileFilterPattern(typo)).toThrow(`expected '&&', '||' or ')', found '"' (column ${typo.indexOf('")') + 1})`);
  });
});
