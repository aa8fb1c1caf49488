import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { digestMetadata } from '@opentrail/integrity';
import type { Logger } from '@opentrail/observability';
import { retry } from '@opentrail/runtime';
import type { TrailEncryption } from '@opentrail/trails';
import type { DigesterMetrics } from './metrics.js';

/**
 * Stores digest objects: the gzipped bytes, the signature in the user metadata
 * (x-amz-meta-signature, x-amz-meta-signature-algorithm), server-side encryption as the trail has
 * it (a digest is never client-side encrypted: the validator reads it as it is). No Content-Encoding,
 * so that no client inflates the body on the way.
 */
export class DigestStore {
  constructor(
    private readonly s3: S3Client,
    private readonly metrics: DigesterMetrics,
    private readonly logger: Logger,
    private readonly attemptTimeoutMs: number,
  ) {}

  async put(bucket: string, key: string, body: Buffer, signature: string, encryption: TrailEncryption, signal: AbortSignal, budgetMs: number): Promise<void> {
    const sse =
      encryption.mode === 'SSE_KMS' ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: encryption.kmsKeyId } : encryption.mode === 'NONE' ? {} : { ServerSideEncryption: 'AES256' as const };
    const deadline = Date.now() + budgetMs;
    await retry(
      () =>
        this.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json', Metadata: digestMetadata(signature), ...sse }), {
          abortSignal: AbortSignal.timeout(this.attemptTimeoutMs),
        }),
      {
        retries: Infinity,
        initialDelayMs: 200,
        maxDelayMs: 5000,
        signal,
        shouldRetry: () => Date.now() < deadline,
        onRetry: (err) => {
          this.metrics.s3Retries.inc();
          this.metrics.s3Errors.inc({ code: (err as { name?: string }).name ?? 'Error' });
          this.logger.warn({ err, bucket, key }, 'storing a digest failed; retrying');
        },
      },
    );
  }
}
