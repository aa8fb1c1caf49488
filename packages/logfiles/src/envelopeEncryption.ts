import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { OpentrailError } from '@opentrail/errors';

/**
 * Client-side envelope encryption in the layout of the AWS S3 Encryption Client v2 ("V2 format":
 * awslabs/aws-encryption-sdk-specification s3-encryption/data-format/content-metadata.md; aws-sdk-go
 * s3crypto kms_context_key_handler.go and envelope.go), so that any S3 Encryption Client (Java v2+,
 * Go, .NET, …) configured with the KMS key decrypts the files, and S3 never sees plaintext:
 *
 * - one KMS data key per object (GenerateDataKey, AES_256) with the encryption context
 *   `{"aws:x-amz-cek-alg":"AES/GCM/NoPadding"}` (wrap algorithm `kms+context`);
 * - the content encrypted with AES-256-GCM, a random 96-bit IV, the 128-bit tag appended;
 * - user metadata: x-amz-key-v2 (the encrypted data key, base64), x-amz-iv (base64), x-amz-cek-alg,
 *   x-amz-wrap-alg, x-amz-matdesc (the encryption context as JSON), x-amz-tag-len, and
 *   x-amz-unencrypted-content-length.
 */

export const CEK_ALGORITHM = 'AES/GCM/NoPadding';
export const WRAP_ALGORITHM = 'kms+context';
/** The reserved encryption-context entry of kms+context: it binds the data key to the content algorithm. */
export const CEK_CONTEXT_KEY = 'aws:x-amz-cek-alg';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export const ENVELOPE_METADATA = {
  key: 'x-amz-key-v2',
  iv: 'x-amz-iv',
  cekAlg: 'x-amz-cek-alg',
  wrapAlg: 'x-amz-wrap-alg',
  matDesc: 'x-amz-matdesc',
  tagLen: 'x-amz-tag-len',
  plaintextLength: 'x-amz-unencrypted-content-length',
} as const;

export type EnvelopeErrorCode = 'NOT_ENCRYPTED' | 'UNSUPPORTED' | 'WRONG_KEY' | 'KEY_UNAVAILABLE' | 'TAMPERED';

export class EnvelopeError extends OpentrailError<EnvelopeErrorCode> {}

export interface Envelope {
  /** Ciphertext followed by the GCM tag: the object body. */
  body: Buffer;
  /** S3 user metadata (without the x-amz-meta- prefix the SDK adds). */
  metadata: Record<string, string>;
}

/** Encrypts `plaintext` under a fresh data key of `kmsKeyId`. */
export async function encryptEnvelope(kms: KMSClient, kmsKeyId: string, plaintext: Buffer, abortSignal?: AbortSignal): Promise<Envelope> {
  const context = { [CEK_CONTEXT_KEY]: CEK_ALGORITHM };
  const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId: kmsKeyId, KeySpec: 'AES_256', EncryptionContext: context }), { abortSignal });
  if (!dataKey.Plaintext || !dataKey.CiphertextBlob) throw new Error(`KMS GenerateDataKey for ${kmsKeyId} returned no key`);
  const key = Buffer.from(dataKey.Plaintext);
  try {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return {
      body,
      metadata: {
        [ENVELOPE_METADATA.key]: Buffer.from(dataKey.CiphertextBlob).toString('base64'),
        [ENVELOPE_METADATA.iv]: iv.toString('base64'),
        [ENVELOPE_METADATA.cekAlg]: CEK_ALGORITHM,
        [ENVELOPE_METADATA.wrapAlg]: WRAP_ALGORITHM,
        [ENVELOPE_METADATA.matDesc]: JSON.stringify(context),
        [ENVELOPE_METADATA.tagLen]: String(TAG_BYTES * 8),
        [ENVELOPE_METADATA.plaintextLength]: String(plaintext.length),
      },
    };
  } finally {
    key.fill(0);
    dataKey.Plaintext.fill(0);
  }
}

/** Whether S3 user metadata says the object is client-side encrypted (any S3EC format). */
export function isEnvelopeEncrypted(metadata: Record<string, string> | undefined): boolean {
  return !!metadata && (ENVELOPE_METADATA.key in metadata || 'x-amz-key' in metadata || 'x-amz-3' in metadata);
}

/**
 * Decrypts an object written by encryptEnvelope (or by any S3 Encryption Client in the V2
 * kms+context AES-GCM format). `expectedKmsKeyId` makes KMS refuse a data key of another key.
 * Throws EnvelopeError: WRONG_KEY, TAMPERED (authentication failed), UNSUPPORTED, KEY_UNAVAILABLE.
 */
export async function decryptEnvelope(kms: KMSClient, body: Buffer, metadata: Record<string, string>, expectedKmsKeyId?: string): Promise<{ plaintext: Buffer; kmsKeyArn: string | undefined }> {
  if (!isEnvelopeEncrypted(metadata)) throw new EnvelopeError('NOT_ENCRYPTED', 'the object has no S3 Encryption Client metadata');
  if (!(ENVELOPE_METADATA.key in metadata)) throw new EnvelopeError('UNSUPPORTED', 'only the S3 Encryption Client V2 metadata format (x-amz-key-v2) is supported');
  const wrap = metadata[ENVELOPE_METADATA.wrapAlg];
  const cek = metadata[ENVELOPE_METADATA.cekAlg];
  if (wrap !== WRAP_ALGORITHM) throw new EnvelopeError('UNSUPPORTED', `wrap algorithm ${JSON.stringify(wrap)} is not supported (expected ${WRAP_ALGORITHM})`);
  if (cek !== CEK_ALGORITHM) throw new EnvelopeError('UNSUPPORTED', `content algorithm ${JSON.stringify(cek)} is not supported (expected ${CEK_ALGORITHM})`);
  const tagLen = Number(metadata[ENVELOPE_METADATA.tagLen] ?? '128');
  if (tagLen !== TAG_BYTES * 8) throw new EnvelopeError('UNSUPPORTED', `tag length ${tagLen} is not supported (expected 128)`);
  let context: Record<string, string>;
  try {
    context = JSON.parse(metadata[ENVELOPE_METADATA.matDesc] ?? '{}') as Record<string, string>;
  } catch (err) {
    throw new EnvelopeError('TAMPERED', 'x-amz-matdesc is not JSON', { cause: err });
  }
  // kms+context binds the data key to the content algorithm: a mismatch means altered metadata.
  if (context[CEK_CONTEXT_KEY] !== cek) throw new EnvelopeError('TAMPERED', `the encryption context names ${JSON.stringify(context[CEK_CONTEXT_KEY])} but the object says ${cek}: the metadata was altered`);
  const iv = Buffer.from(metadata[ENVELOPE_METADATA.iv] ?? '', 'base64');
  if (iv.length !== IV_BYTES) throw new EnvelopeError('TAMPERED', `x-amz-iv holds ${iv.length} bytes, expected ${IV_BYTES}`);
  if (body.length < TAG_BYTES) throw new EnvelopeError('TAMPERED', `the body is ${body.length} bytes: too short to hold a GCM tag`);

  let key: Buffer;
  let kmsKeyArn: string | undefined;
  try {
    const out = await kms.send(
      new DecryptCommand({
        CiphertextBlob: Buffer.from(metadata[ENVELOPE_METADATA.key] ?? '', 'base64'),
        EncryptionContext: context,
        ...(expectedKmsKeyId ? { KeyId: expectedKmsKeyId } : {}),
      }),
    );
    if (!out.Plaintext) throw new Error('KMS Decrypt returned no plaintext');
    key = Buffer.from(out.Plaintext);
    kmsKeyArn = out.KeyId;
  } catch (err) {
    const name = (err as { name?: string }).name ?? '';
    if (name === 'IncorrectKeyException' || name === 'AccessDeniedException' || name === 'InvalidCiphertextException' || name === 'NotFoundException') {
      throw new EnvelopeError(
        'WRONG_KEY',
        `KMS refused to decrypt the data key${expectedKmsKeyId ? ` with ${expectedKmsKeyId}` : ''} (${name}): the file was encrypted under another KMS key, or its key metadata was altered`,
        { cause: err },
      );
    }
    throw new EnvelopeError('KEY_UNAVAILABLE', `KMS could not decrypt the data key: ${(err as Error).message}`, { cause: err, canRetry: true });
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    const plaintext = Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]);
    const expectedLength = metadata[ENVELOPE_METADATA.plaintextLength];
    if (expectedLength !== undefined && Number(expectedLength) !== plaintext.length) {
      throw new EnvelopeError('TAMPERED', `decrypted ${plaintext.length} bytes but x-amz-unencrypted-content-length says ${expectedLength}`);
    }
    return { plaintext, kmsKeyArn };
  } catch (err) {
    if (err instanceof EnvelopeError) throw err;
    throw new EnvelopeError('TAMPERED', 'AES-GCM authentication failed: the ciphertext, its IV or its tag was altered', { cause: err });
  } finally {
    key.fill(0);
  }
}
