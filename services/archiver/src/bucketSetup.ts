import {
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Trail } from '@opentrail/trails';

/**
 * What the archiver sets up on its buckets at start: the buckets themselves (local stacks only,
 * `archiver.createBuckets`) and each trail's storage lifecycle, as CloudTrail users do with S3
 * lifecycle rules: expire log files after N days, move them to an archive storage class after M.
 *
 * A bucket's lifecycle configuration is one document, possibly shared with other trails and other
 * tools: only rules whose ID starts with `opentrail-` are replaced; the others are kept.
 */

export const RULE_PREFIX = 'opentrail-';

/** The lifecycle rule of a trail, scoped to its log files (`[prefix/]AWSLogs/`), or undefined when it has none. */
export function lifecycleRule(trail: Trail): LifecycleRule | undefined {
  const lifecycle = trail.lifecycle;
  if (!lifecycle || (lifecycle.expireAfterDays === undefined && lifecycle.archiveAfterDays === undefined)) return undefined;
  return {
    ID: `${RULE_PREFIX}${trail.name}`,
    Status: 'Enabled',
    Filter: { Prefix: `${trail.prefix ? `${trail.prefix}/` : ''}AWSLogs/` },
    ...(lifecycle.expireAfterDays !== undefined ? { Expiration: { Days: lifecycle.expireAfterDays } } : {}),
    ...(lifecycle.archiveAfterDays !== undefined ? { Transitions: [{ Days: lifecycle.archiveAfterDays, StorageClass: lifecycle.archiveStorageClass ?? 'GLACIER' }] } : {}),
  };
}

const isNoLifecycle = (err: unknown) => (err as Error).name === 'NoSuchLifecycleConfiguration';

/** Applies the lifecycle rules of the trails that write to `bucket`; returns the rules now in place. */
export async function applyLifecycle(s3: S3Client, bucket: string, trails: readonly Trail[]): Promise<LifecycleRule[]> {
  const ours = trails.filter((t) => t.bucket === bucket).flatMap((t) => lifecycleRule(t) ?? []);
  let existing: LifecycleRule[] = [];
  try {
    existing = (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
  } catch (err) {
    if (!isNoLifecycle(err)) throw err;
  }
  const others = existing.filter((r) => !r.ID?.startsWith(RULE_PREFIX));
  const rules = [...others, ...ours];
  if (rules.length === 0) {
    if (existing.length > 0) await s3.send(new DeleteBucketLifecycleCommand({ Bucket: bucket }));
    return [];
  }
  await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: rules } }));
  return rules;
}
