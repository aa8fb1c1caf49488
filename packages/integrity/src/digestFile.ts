import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/**
 * The digest file of cloudtrail-spec.md §3.1, byte for byte: the JSON members in CloudTrail's
 * order, times as `YYYY-MM-DDTHH:MM:SSZ`. The signature covers the SHA-256 of the exact uncompressed
 * bytes, so a digest is serialised once and those bytes are what is gzipped, hashed and signed.
 */

export const HASH_ALGORITHM = 'SHA-256';
export const SIGNATURE_ALGORITHM = 'SHA256withRSA';

export interface DigestLogFile {
  s3Bucket: string;
  s3Object: string;
  /** Lower-case hex SHA-256 of the uncompressed log file. */
  hashValue: string;
  hashAlgorithm: typeof HASH_ALGORITHM;
  newestEventTime: string | null;
  oldestEventTime: string | null;
}

export interface DigestFile {
  awsAccountId: string;
  digestStartTime: string;
  digestEndTime: string;
  digestS3Bucket: string;
  digestS3Object: string;
  digestPublicKeyFingerprint: string;
  digestSignatureAlgorithm: typeof SIGNATURE_ALGORITHM;
  newestEventTime: string | null;
  oldestEventTime: string | null;
  previousDigestS3Bucket: string | null;
  previousDigestS3Object: string | null;
  previousDigestHashValue: string | null;
  previousDigestHashAlgorithm: typeof HASH_ALGORITHM | null;
  previousDigestSignature: string | null;
  logFiles: DigestLogFile[];
}

/** The link to the previous digest of a chain; null for a starting digest. */
export interface PreviousDigest {
  bucket: string;
  key: string;
  /** Hex SHA-256 of its uncompressed bytes. */
  sha256: string;
  /** Its hex signature. */
  signature: string;
}

/** CloudTrail's digest time format: UTC, whole seconds (`2015-08-17T15:01:31Z`). */
export function digestTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface DigestContent {
  accountId: string;
  startTimeMs: number;
  endTimeMs: number;
  bucket: string;
  key: string;
  fingerprint: string;
  previous: PreviousDigest | null;
  logFiles: { bucket: string; key: string; sha256: string; oldestEventTimeMs: number | null; newestEventTimeMs: number | null }[];
}

/** Builds the digest JSON object (member order as CloudTrail writes it). */
export function buildDigest(c: DigestContent): DigestFile {
  const times = (ms: number | null) => (ms === null ? null : digestTime(ms));
  const oldest = c.logFiles.map((f) => f.oldestEventTimeMs).filter((t): t is number => t !== null);
  const newest = c.logFiles.map((f) => f.newestEventTimeMs).filter((t): t is number => t !== null);
  return {
    awsAccountId: c.accountId,
    digestStartTime: digestTime(c.startTimeMs),
    digestEndTime: digestTime(c.endTimeMs),
    digestS3Bucket: c.bucket,
    digestS3Object: c.key,
    digestPublicKeyFingerprint: c.fingerprint,
    digestSignatureAlgorithm: SIGNATURE_ALGORITHM,
    newestEventTime: newest.length ? digestTime(Math.max(...newest)) : null,
    oldestEventTime: oldest.length ? digestTime(Math.min(...oldest)) : null,
    previousDigestS3Bucket: c.previous?.bucket ?? null,
    previousDigestS3Object: c.previous?.key ?? null,
    previousDigestHashValue: c.previous?.sha256 ?? null,
    previousDigestHashAlgorithm: c.previous ? HASH_ALGORITHM : null,
    previousDigestSignature: c.previous?.signature ?? null,
    logFiles: c.logFiles.map((f) => ({
      s3Bucket: f.bucket,
      s3Object: f.key,
      hashValue: f.sha256,
      hashAlgorithm: HASH_ALGORITHM,
      newestEventTime: times(f.newestEventTimeMs),
      oldestEventTime: times(f.oldestEventTimeMs),
    })),
  };
}

export function sha256Hex(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The string to sign (spec §3.2), as the CLI builds it: end time, `bucket/key`, the hex SHA-256 of
 * the uncompressed digest bytes and the previous signature (the 4 characters `null` for none),
 * joined by LF, no trailing newline.
 */
export function stringToSign(digest: Pick<DigestFile, 'digestEndTime' | 'digestS3Bucket' | 'digestS3Object' | 'previousDigestSignature'>, inflated: Buffer): Buffer {
  return Buffer.from(`${digest.digestEndTime}\n${digest.digestS3Bucket}/${digest.digestS3Object}\n${sha256Hex(inflated)}\n${digest.previousDigestSignature ?? 'null'}`, 'utf8');
}

/** A serialised digest: the bytes that are hashed and signed, and their single-member gzip. */
export interface SerializedDigest {
  json: DigestFile;
  inflated: Buffer;
  sha256: string;
  gzipped: Buffer;
}

export function serializeDigest(digest: DigestFile): SerializedDigest {
  const inflated = Buffer.from(JSON.stringify(digest), 'utf8');
  // gzipSync writes exactly one member: the CLI refuses data after the end of the first one.
  return { json: digest, inflated, sha256: sha256Hex(inflated), gzipped: gzipSync(inflated) };
}

/** S3 user metadata of a digest object (x-amz-meta-signature, x-amz-meta-signature-algorithm). */
export function digestMetadata(signatureHex: string): Record<string, string> {
  return { signature: signatureHex, 'signature-algorithm': SIGNATURE_ALGORITHM };
}
