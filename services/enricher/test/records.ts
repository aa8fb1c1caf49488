/** CloudTrail records for the enricher's tests, shaped like real ones (test/fixtures, cloudtrail-spec.md §1.4-1.5). */
import { randomUUID } from 'node:crypto';
import { toApiCallEvent, type CloudTrailRecord } from '@opentrail/cloudtrail';
import type { ApiCallEvent, Identity } from '@opentrail/serde';

export const ACCOUNT = '123456789012';

export function eventTime(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** CloudTrail's (Java medium) spelling of an STS expiration, in UTC: `Jul 30, 2024, 9:46:15 PM`. */
export function javaMediumDate(date: Date): string {
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][date.getUTCMonth()]!;
  const h = date.getUTCHours();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${month} ${date.getUTCDate()}, ${date.getUTCFullYear()}, ${h % 12 === 0 ? 12 : h % 12}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} ${h < 12 ? 'AM' : 'PM'}`;
}

export function iamUser(userName: string, accessKeyId: string, account = ACCOUNT): Record<string, unknown> {
  return { type: 'IAMUser', principalId: `AIDA${userName.toUpperCase().padEnd(16, 'X').slice(0, 16)}`, arn: `arn:aws:iam::${account}:user/${userName}`, accountId: account, accessKeyId, userName };
}

export function assumedRole(roleName: string, sessionName: string, accessKeyId: string, account = ACCOUNT): Record<string, unknown> {
  return {
    type: 'AssumedRole',
    principalId: `AROAEXAMPLEROLEID0001:${sessionName}`,
    arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`,
    accountId: account,
    accessKeyId,
    sessionContext: {
      sessionIssuer: { type: 'Role', principalId: 'AROAEXAMPLEROLEID0001', arn: `arn:aws:iam::${account}:role/${roleName}`, accountId: account, userName: roleName },
      attributes: { creationDate: eventTime(), mfaAuthenticated: 'false' },
    },
  };
}

/** An AssumeRole call by `caller`, answered with the new key `newAccessKeyId`. */
export function assumeRoleRecord(options: {
  caller: Record<string, unknown>;
  roleName: string;
  sessionName: string;
  newAccessKeyId: string;
  expiration?: string;
  time?: Date;
  account?: string;
  sourceIdentity?: string;
}): CloudTrailRecord {
  const account = options.account ?? ACCOUNT;
  const time = options.time ?? new Date();
  return {
    eventVersion: '1.08',
    userIdentity: options.caller,
    eventTime: eventTime(time),
    eventSource: 'sts.amazonaws.com',
    eventName: 'AssumeRole',
    awsRegion: 'us-east-1',
    sourceIPAddress: '81.2.69.160',
    userAgent: 'aws-cli/2.13.5',
    requestParameters: { roleArn: `arn:aws:iam::${account}:role/${options.roleName}`, roleSessionName: options.sessionName, durationSeconds: 3600, ...(options.sourceIdentity ? { sourceIdentity: options.sourceIdentity } : {}) },
    responseElements: {
      credentials: { accessKeyId: options.newAccessKeyId, sessionToken: 'IQoJb3JpZ2luX2VjEGYaCXVzLWVhc3QtMSJGMEQCIGWK', expiration: options.expiration ?? javaMediumDate(new Date(time.getTime() + 3600_000)) },
      assumedRoleUser: { assumedRoleId: `AROAEXAMPLEROLEID0001:${options.sessionName}`, arn: `arn:aws:sts::${account}:assumed-role/${options.roleName}/${options.sessionName}` },
      ...(options.sourceIdentity ? { sourceIdentity: options.sourceIdentity } : {}),
    },
    requestID: randomUUID(),
    eventID: randomUUID(),
    readOnly: true,
    resources: [{ ARN: `arn:aws:iam::${account}:role/${options.roleName}`, accountId: account, type: 'AWS::IAM::Role' }],
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: 'Management',
  };
}

/** An ordinary API call made with `userIdentity`. */
export function callRecord(options: {
  userIdentity?: Record<string, unknown> | null;
  eventSource?: string;
  eventName?: string;
  sourceIPAddress?: string | null;
  readOnly?: boolean;
  time?: Date;
  account?: string;
  region?: string;
}): CloudTrailRecord {
  const record: CloudTrailRecord = {
    eventVersion: '1.08',
    eventTime: eventTime(options.time),
    eventSource: options.eventSource ?? 's3.amazonaws.com',
    eventName: options.eventName ?? 'ListBuckets',
    awsRegion: options.region ?? 'us-east-1',
    userAgent: 'aws-cli/2.13.5',
    requestParameters: null,
    responseElements: null,
    requestID: randomUUID(),
    eventID: randomUUID(),
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: options.account ?? ACCOUNT,
    eventCategory: 'Management',
  };
  if (options.userIdentity !== null) record.userIdentity = options.userIdentity ?? iamUser('alice', 'AKIAALICEEXAMPLE0001');
  if (options.sourceIPAddress !== null) record.sourceIPAddress = options.sourceIPAddress ?? '81.2.69.160';
  if (options.readOnly !== undefined) record.readOnly = options.readOnly;
  return record;
}

export function asEvent(record: CloudTrailRecord): ApiCallEvent {
  return toApiCallEvent(record);
}

/** A fixed clock for table tests. */
export const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

/** An inventory entry of the identities topic: an IAM user's long-term key. */
export function inventoryIdentity(accessKeyId: string, userName: string, extra: Partial<Identity> = {}): Identity {
  return {
    accessKeyId,
    principalType: 'IAMUser',
    principalArn: `arn:aws:iam::123456789012:user/${userName}`,
    principalId: `AIDA${userName.toUpperCase()}`,
    accountId: '123456789012',
    userName,
    source: 'inventory',
    observedAt: NOW,
    expiresAt: null,
    session: null,
    ...extra,
  };
}
