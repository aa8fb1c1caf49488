import { HeadObjectCommand, PutObjectCommand, type PutObjectCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { OpentrailError } from '@opentrail/errors';
import type { Logger, ServiceMetrics } from '@opentrail/observability';
import { retry } from '@opentrail/runtime';

/**
 * Writes log files to S3: patient retries with backoff (an S3 outage never loses a file nor stops
 * the process), multipart uploads for large files (@aws-sdk/lib-storage), and conditional writes
 * that settle who may write a key.
 *
 * Keys are deterministic, so after a crash the partition's next owner rewrites the one file per
 * group that may have been uploaded without its delivery being committed. A stale owner (paused,
 * still retrying, already fenced in Kafka) must not then overwrite that rewrite. Every object
 * carries its writer's ownership (`opentrail-owner`: when that instance took the partition, and
 * who it is) and the SHA-256 of its content:
 *
 * - the first attempt is a create-only PUT (If-None-Match: *);
 * - if the key exists and is our own earlier attempt with the same content, it is done;
 * - if it was written by an earlier owner, it is replaced, conditionally on its ETag (If-Match),
 *   so a concurrent change is noticed and settled again;
 * - if it was written by a later owner, this instance lost the partition: StaleOwnerError, and
 *   nothing is written.
 *
 * Ownership times come from the instances' clocks; a later owner joins the group at least a
 * rebalance after the earlier one took the partition, so clocks need only agree to within that
 * (NTP does).
 */

export const OWNER_METADATA = 'opentrail-owner';
export const SHA256_METADATA = 'opentrail-sha256';

/** Which archiver instance owns a partition, and since when. */
export interface Ownership {
  sinceMs: number;
  instance: string;
}

const ownershipToken = (o: Ownership) => `${o.sinceMs}.${o.instance}`;

function parseOwnership(token: string | undefined): Ownership | undefined {
  const match = token ? /^(\d+)\.(.+)$/.exec(token) : null;
  return match ? { sinceMs: Number(match[1]), instance: match[2]! } : undefined;
}

function later(a: Ownership, b: Ownership): boolean {
  return a.sinceMs !== b.sinceMs ? a.sinceMs > b.sinceMs : a.instance > b.instance;
}

export class StaleOwnerError extends OpentrailError<'STALE_OWNER'> {
  constructor(readonly key: string, readonly newer: Ownership) {
    super('STALE_OWNER', `s3 key ${key} was rewritten by the partition's newer owner (${ownershipToken(newer)}): this instance no longer owns it`);
  }
}

/**
 * The store's own metrics, registered on the writing service's registry (opentrail_archiver_* in
 * the archiver): the service spreads them into its metrics object.
 */
export function logFileStoreMetrics(metrics: ServiceMetrics) {
  return {
    uploadRetries: metrics.counter('upload_retries_total', 'Failed attempts to store a log file (S3 or KMS) that were retried'),
    uploadErrors: metrics.counter('upload_errors_total', 'Failed attempts to store a log file, by error code', ['code']),
    uploadSeconds: metrics.histogram('upload_duration_seconds', 'Time to store one log file, retries included', [], [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]),
    conditionalWrites: metrics.counter('conditional_write_conflicts_total', 'Keys that already existed when written: already_stored (own earlier attempt), replaced (an earlier owner\'s uncommitted file), stale_owner (a newer owner holds it)', ['outcome']),
  };
}

export type LogFileStoreMetrics = ReturnType<typeof logFileStoreMetrics>;

export interface ObjectToStore {
  bucket: string;
  key: string;
  body: Buffer;
  contentType: string;
  /** SHA-256 of the uncompressed content: identifies our own earlier attempt. */
  sha256: string;
  metadata?: Record<string, string>;
  encryption?: Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId'>;
}

export interface LogFileStoreOptions {
  conditionalWrites: boolean;
  /** One attempt is abandoned after this long. */
  attemptTimeoutMs: number;
  /** Bodies above this go multipart. @default 16 MiB */
  partSize?: number;
}

export interface StoreOptions {
  owner: Ownership;
  /** Stops retrying (RetryAbortedError) when aborted. */
  signal: AbortSignal;
  /** Called between attempts (keeps the consumer group membership alive). */
  onWait?: () => void;
  /** Called with every failed attempt's error (trail activity: GetTrailStatus' LatestDeliveryError). */
  onError?: (err: unknown) => void;
}

const isStatus = (err: unknown, status: number) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === status;
const isPreconditionFailed = (err: unknown) => (err as Error).name === 'PreconditionFailed' || isStatus(err, 412);
const isNotFound = (err: unknown) => ['NotFound', 'NoSuchKey'].includes((err as Error).name) || isStatus(err, 404);
const errorCode = (err: unknown) => (err as { Code?: string }).Code ?? (err as Error).name ?? 'Error';

export class LogFileStore {
  private readonly partSize: number;
  private lastWarning = 0;

  constructor(
    private readonly s3: S3Client,
    private readonly options: LogFileStoreOptions,
    private readonly metrics: LogFileStoreMetrics,
    private readonly logger: Logger,
  ) {
    this.partSize = options.partSize ?? 16 * 1024 * 1024;
  }

  /** Stores the object, retrying until it is in S3, the signal aborts (RetryAbortedError) or a newer owner holds the key (StaleOwnerError). */
  async store(object: ObjectToStore, options: StoreOptions): Promise<void> {
    const started = Date.now();
    await retry(
      async (bail) => {
        const attempt = AbortSignal.any([options.signal, AbortSignal.timeout(this.options.attemptTimeoutMs)]);
        try {
          await this.storeOnce(object, options.owner, attempt);
        } catch (err) {
          if (err instanceof StaleOwnerError) {
            this.metrics.conditionalWrites.inc({ outcome: 'stale_owner' });
            bail(err);
          }
          this.metrics.uploadErrors.inc({ code: errorCode(err) });
          if (!options.signal.aborted) options.onError?.(err);
          throw err;
        }
      },
      {
        retries: Infinity,
        initialDelayMs: 250,
        maxDelayMs: 5000,
        signal: options.signal,
        // Every failure is worth another try: S3 down, throttled or misconfigured (a bucket created
        // later), the file stays in memory and its records uncommitted until it lands.
        shouldRetry: (err) => !(err instanceof StaleOwnerError),
        onRetry: (err, attempt, delayMs) => {
          this.metrics.uploadRetries.inc();
          options.onWait?.();
          if (Date.now() - this.lastWarning > 5000) {
            this.lastWarning = Date.now();
            this.logger.warn({ err, bucket: object.bucket, key: object.key, attempt, delayMs }, 'storing a log file failed; retrying');
          }
        },
      },
    );
    this.metrics.uploadSeconds.observe((Date.now() - started) / 1000);
  }

  private async storeOnce(object: ObjectToStore, owner: Ownership, signal: AbortSignal): Promise<void> {
    const metadata = { ...object.metadata, [OWNER_METADATA]: ownershipToken(owner), [SHA256_METADATA]: object.sha256 };
    if (!this.options.conditionalWrites) return this.put(object, metadata, {}, signal);
    for (let round = 0; round < 5; round++) {
      try {
        await this.put(object, metadata, { IfNoneMatch: '*' }, signal);
        return;
      } catch (err) {
        if (!isPreconditionFailed(err)) throw err;
      }
      let existing;
      try {
        existing = await this.s3.send(new HeadObjectCommand({ Bucket: object.bucket, Key: object.key }), { abortSignal: signal });
      } catch (err) {
        if (isNotFound(err)) continue;
        throw err;
      }
      const writer = parseOwnership(existing.Metadata?.[OWNER_METADATA]);
      if (writer && ownershipToken(writer) === ownershipToken(owner) && existing.Metadata?.[SHA256_METADATA] === object.sha256) {
        // Our own earlier attempt landed (its response was lost).
        this.metrics.conditionalWrites.inc({ outcome: 'already_stored' });
        return;
      }
      if (writer && later(writer, owner)) throw new StaleOwnerError(object.key, writer);
      try {
        // An earlier owner's file whose delivery was never committed: replace it, unless it changes meanwhile.
        await this.put(object, metadata, { IfMatch: existing.ETag }, signal);
        this.metrics.conditionalWrites.inc({ outcome: 'replaced' });
        this.logger.info({ bucket: object.bucket, key: object.key, previousOwner: writer ? ownershipToken(writer) : null }, 'replaced a log file an earlier owner left uncommitted');
        return;
      } catch (err) {
        if (!isPreconditionFailed(err) && !isNotFound(err)) throw err;
      }
    }
    throw new Error(`s3 key ${object.key} kept changing while it was being written`);
  }

  private async put(object: ObjectToStore, metadata: Record<string, string>, condition: Pick<PutObjectCommandInput, 'IfNoneMatch' | 'IfMatch'>, signal: AbortSignal): Promise<void> {
    const params: PutObjectCommandInput = {
      Bucket: object.bucket,
      Key: object.key,
      Body: object.body,
      ContentLength: object.body.length,
      ContentType: object.contentType,
      Metadata: metadata,
      ...object.encryption,
      ...condition,
    };
    if (object.body.length <= this.partSize) {
      await this.s3.send(new PutObjectCommand(params), { abortSignal: signal });
      return;
    }
    // lib-storage passes IfNoneMatch / IfMatch on to CompleteMultipartUpload, where S3 checks them.
    const upload = new Upload({ client: this.s3, params, partSize: this.partSize, queueSize: 4, leavePartsOnError: false });
    const abort = () => void upload.abort().catch(() => undefined);
    signal.addEventListener('abort', abort, { once: true });
    try {
      await upload.done();
    } finally {
      signal.removeEventListener('abort', abort);
    }
  }
}
