import {
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ensureBucket } from '@opentrail/aws';
import type { Logger } from '@opentrail/observability';
import { retry } from '@opentrail/runtime';
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

export interface BucketSetupOptions {
  s3: S3Client;
  region: string;
  createBuckets: boolean;
  applyLifecycle: boolean;
  logger: Logger;
}

/**
 * Sets up the trails' buckets in the background, patiently (an S3 outage at start delays nothing
 * else: uploads wait for S3 on their own), and again when trails come or change: one run at a
 * time, the latest request winning over one still waiting.
 */
export class BucketSetup {
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private next: readonly Trail[] | undefined;

  constructor(private readonly options: BucketSetupOptions) {}

  /** Sets up every bucket of `trails` (every trail: a bucket's lifecycle rules come from all the trails writing to it). */
  setUp(trails: readonly Trail[]): void {
    if (!this.options.createBuckets && !this.options.applyLifecycle) return;
    this.next = [...trails];
    this.running ??= this.drain();
  }

  stop(): void {
    this.abort.abort();
  }

  private async drain(): Promise<void> {
    const { s3, region, logger } = this.options;
    while (this.next && !this.abort.signal.aborted) {
      const trails = this.next;
      this.next = undefined;
      const buckets = [...new Set(trails.map((t) => t.bucket))];
      try {
        await retry(
          async () => {
            for (const bucket of buckets) {
              if (this.options.createBuckets) await ensureBucket(s3, bucket, region);
              if (this.options.applyLifecycle) {
                const rules = await applyLifecycle(s3, bucket, trails);
                logger.info({ bucket, rules: rules.map((r) => r.ID) }, 'bucket lifecycle applied');
              }
            }
          },
          { retries: Infinity, initialDelayMs: 1000, maxDelayMs: 30_000, signal: this.abort.signal, onRetry: (err) => logger.warn({ err, buckets }, 'setting up the buckets failed; retrying') },
        );
      } catch (err) {
        if (!this.abort.signal.aborted) logger.error({ err }, 'setting up the buckets failed');
      }
    }
    this.running = undefined;
  }
}
