import { gunzipSync } from 'node:zlib';
import type { KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { OpentrailError } from '@opentrail/errors';
import { decryptEnvelope, EnvelopeError, isEnvelopeEncrypted, type EnvelopeErrorCode } from './envelopeEncryption.js';

/**
 * Reads a delivered log file back, whatever its encryption: SSE-S3 and SSE-KMS objects come back
 * decrypted by S3; client-side encrypted ones (S3 Encryption Client v2 layout) are decrypted here
 * with KMS. The `opentrail decrypt s3://bucket/key` command runs on this.
 */

export interface LogFileLocation {
  bucket: string;
  key: string;
}

export type LogFileReadErrorCode = 'BAD_LOCATION' | 'NOT_FOUND' | 'NOT_GZIP' | 'NOT_CLOUDTRAIL' | EnvelopeErrorCode;

export class LogFileReadError extends OpentrailError<LogFileReadErrorCode> {}

export interface DecryptedLogFile extends LogFileLocation {
  /** How the object was encrypted at rest. */
  encryption: 'CSE_KMS' | 'SSE_KMS' | 'SSE_S3' | 'NONE';
  /** The KMS key (ARN or id) that protects it, for SSE_KMS and CSE_KMS. */
  kmsKeyId?: string;
  /** The gzip file as the archiver wrote it. */
  gzip: Buffer;
  /** Its content: `{"Records":[...]}`. */
  json: string;
}

/** `s3://bucket/key` → { bucket, key }. */
export function parseS3Url(url: string): LogFileLocation {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!match) throw new LogFileReadError('BAD_LOCATION', `not an s3://bucket/key URL: ${url}`);
  return { bucket: match[1]!, key: match[2]! };
}

/**
 * Fetches a log file and returns its gzip bytes and JSON text. `kmsKeyId`, for client-side
 * encrypted files, makes KMS refuse a data key of another key. Throws LogFileReadError with a code
 * that says what is wrong: NOT_FOUND, WRONG_KEY, TAMPERED, NOT_GZIP, NOT_CLOUDTRAIL, …
 */
export async function decryptLogFile(clients: { s3: S3Client; kms: KMSClient }, location: LogFileLocation | string, options: { kmsKeyId?: string } = {}): Promise<DecryptedLogFile> {
  const { bucket, key } = typeof location === 'string' ? parseS3Url(location) : location;
  let object;
  try {
    object = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'NoSuchKey' || name === 'NoSuchBucket' || name === 'NotFound') throw new LogFileReadError('NOT_FOUND', `s3://${bucket}/${key} does not exist (${name})`, { cause: err });
    throw new LogFileReadError('NOT_FOUND', `reading s3://${bucket}/${key} failed: ${(err as Error).message}`, { cause: err, canRetry: true });
  }
  const body = Buffer.from(await object.Body!.transformToByteArray());
  const metadata = object.Metadata ?? {};
  let gzip: Buffer = body;
  let encryption: DecryptedLogFile['encryption'] = object.ServerSideEncryption === 'aws:kms' ? 'SSE_KMS' : object.ServerSideEncryption === 'AES256' ? 'SSE_S3' : 'NONE';
  let kmsKeyId = object.SSEKMSKeyId;
  if (isEnvelopeEncrypted(metadata)) {
    try {
      const { plaintext, kmsKeyArn } = await decryptEnvelope(clients.kms, body, metadata, options.kmsKeyId);
      gzip = plaintext;
      kmsKeyId = kmsKeyArn;
      encryption = 'CSE_KMS';
    } catch (err) {
      if (err instanceof EnvelopeError) throw new LogFileReadError(err.code, `s3://${bucket}/${key}: ${err.message}`, { cause: err, canRetry: err.canRetry });
      throw err;
    }
  }
  let json: string;
  try {
    json = gunzipSync(gzip).toString('utf8');
  } catch (err) {
    throw new LogFileReadError('NOT_GZIP', `s3://${bucket}/${key} is not gzip: ${(err as Error).message}`, { cause: err });
  }
  if (!json.startsWith('{"Records":[')) throw new LogFileReadError('NOT_CLOUDTRAIL', `s3://${bucket}/${key} is not a CloudTrail log file ({"Records":[...]})`);
  return { bucket, key, encryption, ...(kmsKeyId ? { kmsKeyId } : {}), gzip, json };
}
