import { DescribeKeyCommand, GetKeyPolicyCommand } from '@aws-sdk/client-kms';
import { GetBucketPolicyCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { GetTopicAttributesCommand } from '@aws-sdk/client-sns';
import type { AwsClients } from '@opentrail/aws';
import { ApiError } from './errors.js';

/**
 * What CreateTrail, UpdateTrail and PutInsightSelectors check outside opentrail before they store
 * a trail, as CloudTrail does: the bucket exists and its policy lets CloudTrail deliver, the KMS
 * key exists and is usable, the SNS topic exists and lets CloudTrail publish.
 */
export interface TrailResources {
  /** S3BucketDoesNotExistException, InsufficientS3BucketPolicyException. */
  checkBucket(o: { bucket: string; prefix?: string; accountId: string; organizationId?: string }): Promise<void>;
  /**
   * The key's ARN (what CloudTrail stores and returns as KmsKeyId); KmsKeyNotFoundException,
   * KmsKeyDisabledException, InvalidKmsKeyIdException, and InsufficientEncryptionPolicyException
   * when the key policy does not let cloudtrail.amazonaws.com kms:GenerateDataKey*.
   */
  resolveKmsKey(keyId: string): Promise<string>;
  /** InsufficientSnsTopicPolicyException when the topic does not exist or does not let CloudTrail publish. */
  checkSnsTopic(topicArn: string): Promise<void>;
}

export const CLOUDTRAIL_PRINCIPAL = 'cloudtrail.amazonaws.com';

/**
 * `*` and `?` wildcards of IAM policies, matched without regular expressions and without
 * backtracking blow-up (the greedy-star algorithm: O(pattern × text) at worst, both bounded).
 */
export function wildcardMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

const strings = (value: unknown): string[] => (typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

function principalCovers(principal: unknown, service: string): boolean {
  if (principal === '*') return true;
  if (typeof principal !== 'object' || principal === null || Array.isArray(principal)) return false;
  const p = principal as Record<string, unknown>;
  return (Object.hasOwn(p, 'Service') && strings(p.Service).includes(service)) || (Object.hasOwn(p, 'AWS') && strings(p.AWS).includes('*'));
}

/**
 * Whether a resource policy has an Allow statement for `service` with `action` on `resource`.
 * Conditions are not evaluated (CloudTrail's recommended conditions, aws:SourceArn and
 * s3:x-amz-acl, hold for opentrail's own writes); Deny statements that cover the grant revoke it.
 */
export function policyAllows(policyText: string, service: string, action: string, resource: string): boolean {
  let policy: unknown;
  try {
    policy = JSON.parse(policyText);
  } catch {
    return false;
  }
  if (typeof policy !== 'object' || policy === null) return false;
  const statements = (policy as Record<string, unknown>).Statement;
  const list = Array.isArray(statements) ? statements : [statements];
  const covers = (s: Record<string, unknown>) =>
    principalCovers(s.Principal, service) &&
    strings(s.Action).some((a) => wildcardMatch(a.toLowerCase(), action.toLowerCase())) &&
    strings(s.Resource).some((r) => wildcardMatch(r, resource));
  let allowed = false;
  for (const s of list) {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) continue;
    const statement = s as Record<string, unknown>;
    if (statement.Effect === 'Deny' && statement.Condition === undefined && covers(statement)) return false;
    if (statement.Effect === 'Allow' && covers(statement)) allowed = true;
  }
  return allowed;
}

/** The object ARNs CloudTrail must be allowed to write: `<prefix>/AWSLogs/<account>/*` (and `<org id>/*` for an organization trail). */
export function requiredWrites(o: { bucket: string; prefix?: string; accountId: string; organizationId?: string }): string[] {
  const base = `arn:aws:s3:::${o.bucket}/${o.prefix ? `${o.prefix}/` : ''}AWSLogs/`;
  return [`${base}${o.accountId}/*`, ...(o.organizationId ? [`${base}${o.organizationId}/*`] : [])];
}

const statusOf = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
const nameOf = (err: unknown) => (err as { name?: string }).name;

/** The checks against S3, KMS and SNS (moto, or AWS itself) through the service's AWS clients. */
export class AwsTrailResources implements TrailResources {
  constructor(private readonly aws: AwsClients) {}

  async checkBucket(o: { bucket: string; prefix?: string; accountId: string; organizationId?: string }): Promise<void> {
    try {
      await this.aws.s3.send(new HeadBucketCommand({ Bucket: o.bucket }));
    } catch (err) {
      if (statusOf(err) === 404 || nameOf(err) === 'NotFound' || nameOf(err) === 'NoSuchBucket') throw new ApiError('S3BucketDoesNotExistException', `S3 bucket does not exist: ${o.bucket}`);
      throw err;
    }
    const insufficient = new ApiError('InsufficientS3BucketPolicyException', `Incorrect S3 bucket policy is detected for bucket: ${o.bucket}`);
    let policy: string | undefined;
    try {
      policy = (await this.aws.s3.send(new GetBucketPolicyCommand({ Bucket: o.bucket }))).Policy;
    } catch (err) {
      if (nameOf(err) === 'NoSuchBucketPolicy' || statusOf(err) === 404) throw insufficient;
      throw err;
    }
    if (!policy) throw insufficient;
    if (!policyAllows(policy, CLOUDTRAIL_PRINCIPAL, 's3:GetBucketAcl', `arn:aws:s3:::${o.bucket}`)) throw insufficient;
    for (const resource of requiredWrites(o)) if (!policyAllows(policy, CLOUDTRAIL_PRINCIPAL, 's3:PutObject', resource)) throw insufficient;
  }

  async resolveKmsKey(keyId: string): Promise<string> {
    let metadata;
    try {
      metadata = (await this.aws.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    } catch (err) {
      if (nameOf(err) === 'NotFoundException') throw new ApiError('KmsKeyNotFoundException', `KMS key not found: ${keyId}`);
      if (nameOf(err) === 'InvalidArnException') throw new ApiError('InvalidKmsKeyIdException', `Invalid KMS key id: ${keyId}`);
      throw err;
    }
    if (!metadata?.Arn) throw new ApiError('KmsKeyNotFoundException', `KMS key not found: ${keyId}`);
    if (metadata.KeyState === 'Disabled') throw new ApiError('KmsKeyDisabledException', `KMS key is disabled: ${metadata.Arn}`);
    if (metadata.KeyState === 'PendingDeletion' || metadata.KeyState === 'PendingReplicaDeletion') throw new ApiError('KmsException', `KMS key is pending deletion: ${metadata.Arn}`);
    if ((metadata.KeySpec ?? 'SYMMETRIC_DEFAULT') !== 'SYMMETRIC_DEFAULT' || (metadata.KeyUsage ?? 'ENCRYPT_DECRYPT') !== 'ENCRYPT_DECRYPT') {
      throw new ApiError('InvalidKmsKeyIdException', `KMS key ${metadata.Arn} is not a symmetric encryption key`);
    }
    const policy = (await this.aws.kms.send(new GetKeyPolicyCommand({ KeyId: metadata.Arn, PolicyName: 'default' }))).Policy;
    if (!policy || !policyAllows(policy, CLOUDTRAIL_PRINCIPAL, 'kms:GenerateDataKey', metadata.Arn)) {
      throw new ApiError('InsufficientEncryptionPolicyException', `Insufficient permissions to access KMS key ${metadata.Arn}: its key policy must allow cloudtrail.amazonaws.com kms:GenerateDataKey*.`);
    }
    return metadata.Arn;
  }

  async checkSnsTopic(topicArn: string): Promise<void> {
    const insufficient = new ApiError('InsufficientSnsTopicPolicyException', `SNS Topic does not exist or the topic policy is incorrect: ${topicArn}`);
    let policy: string | undefined;
    try {
      policy = (await this.aws.sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }))).Attributes?.Policy;
    } catch (err) {
      if (nameOf(err) === 'NotFoundException' || nameOf(err) === 'NotFound' || statusOf(err) === 404 || nameOf(err) === 'InvalidParameterException') throw insufficient;
      throw err;
    }
    if (!policy || !policyAllows(policy, CLOUDTRAIL_PRINCIPAL, 'sns:Publish', topicArn)) throw insufficient;
  }
}
