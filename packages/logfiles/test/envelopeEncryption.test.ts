import { randomBytes } from 'node:crypto';
import { type DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { rejection } from '@opentrail/testing';
import { decryptEnvelope, encryptEnvelope, EnvelopeError } from '@opentrail/logfiles';

/** A KMS stand-in: a data key "encrypted" under a key id is that id, the context and the key. */
function fakeKms() {
  const calls: { command: string; input: Record<string, unknown> }[] = [];
  const kms = {
    send: async (command: GenerateDataKeyCommand | DecryptCommand) => {
      const input = command.input as Record<string, unknown>;
      calls.push({ command: command.constructor.name, input });
      if (command instanceof GenerateDataKeyCommand) {
        const key = randomBytes(32);
        const blob = Buffer.from(JSON.stringify({ keyId: input.KeyId, context: input.EncryptionContext, key: key.toString('base64') }));
        return { Plaintext: new Uint8Array(key), CiphertextBlob: new Uint8Array(blob), KeyId: `arn:${String(input.KeyId)}` };
      }
      const blob = JSON.parse(Buffer.from(input.CiphertextBlob as Uint8Array).toString()) as { keyId: string; context: unknown; key: string };
      if (JSON.stringify(blob.context) !== JSON.stringify(input.EncryptionContext)) throw Object.assign(new Error('context'), { name: 'InvalidCiphertextException' });
      if (input.KeyId !== undefined && input.KeyId !== blob.keyId) throw Object.assign(new Error('key'), { name: 'IncorrectKeyException' });
      return { Plaintext: new Uint8Array(Buffer.from(blob.key, 'base64')), KeyId: `arn:${blob.keyId}` };
    },
  };
  return { kms: kms as unknown as KMSClient, calls };
}

const failure = (promise: Promise<unknown>) => rejection(promise, EnvelopeError);

describe('client-side envelope encryption (S3 Encryption Client v2 layout)', () => {
  it('encrypts with a fresh data key per object under the kms+context encryption context', async () => {
    const { kms, calls } = fakeKms();
    const plaintext = Buffer.from('{"Records":[]}'.repeat(100));
    const a = await encryptEnvelope(kms, 'key-1', plaintext);
    const b = await encryptEnvelope(kms, 'key-1', plaintext);
    expect(calls.filter((c) => c.command === 'GenerateDataKeyCommand').map((c) => c.input)).toEqual([
      { KeyId: 'key-1', KeySpec: 'AES_256', EncryptionContext: { 'aws:x-amz-cek-alg': 'AES/GCM/NoPadding' } },
      { KeyId: 'key-1', KeySpec: 'AES_256', EncryptionContext: { 'aws:x-amz-cek-alg': 'AES/GCM/NoPadding' } },
    ]);
    expect(a.metadata['x-amz-key-v2']).not.toBe(b.metadata['x-amz-key-v2']);
    expect(a.body).not.toEqual(b.body);
    expect(a.body).toHaveLength(plaintext.length + 16);
    expect(Object.keys(a.metadata).sort()).toEqual(['x-amz-cek-alg', 'x-amz-iv', 'x-amz-key-v2', 'x-amz-matdesc', 'x-amz-tag-len', 'x-amz-unencrypted-content-length', 'x-amz-wrap-alg']);
    expect(a.metadata).toMatchObject({ 'x-amz-cek-alg': 'AES/GCM/NoPadding', 'x-amz-wrap-alg': 'kms+context', 'x-amz-matdesc': '{"aws:x-amz-cek-alg":"AES/GCM/NoPadding"}', 'x-amz-tag-len': '128', 'x-amz-unencrypted-content-length': String(plaintext.length) });
    const { plaintext: back, kmsKeyArn } = await decryptEnvelope(kms, a.body, a.metadata, 'key-1');
    expect(back).toEqual(plaintext);
    expect(kmsKeyArn).toBe('arn:key-1');
  });

  it('refuses a wrong key, a tampered body, altered metadata and other formats, saying which', async () => {
    const { kms } = fakeKms();
    const { body, metadata } = await encryptEnvelope(kms, 'key-1', Buffer.from('secret records'));
    expect((await failure(decryptEnvelope(kms, body, metadata, 'key-2'))).code).toBe('WRONG_KEY');
    const flipped = Buffer.from(body);
    flipped[3] = flipped[3]! ^ 0x80;
    expect((await failure(decryptEnvelope(kms, flipped, metadata))).code).toBe('TAMPERED');
    const badTag = Buffer.from(body);
    badTag[badTag.length - 1] = badTag[badTag.length - 1]! ^ 0x01;
    expect((await failure(decryptEnvelope(kms, badTag, metadata))).code).toBe('TAMPERED');
    expect((await failure(decryptEnvelope(kms, body, { ...metadata, 'x-amz-iv': randomBytes(12).toString('base64') }))).code).toBe('TAMPERED');
    expect((await failure(decryptEnvelope(kms, body, { ...metadata, 'x-amz-matdesc': '{"aws:x-amz-cek-alg":"AES/CBC/PKCS5Padding"}' }))).code).toBe('TAMPERED');
    expect((await failure(decryptEnvelope(kms, body, { ...metadata, 'x-amz-cek-alg': 'AES/CBC/PKCS5Padding' }))).code).toBe('UNSUPPORTED');
    expect((await failure(decryptEnvelope(kms, body, { ...metadata, 'x-amz-wrap-alg': 'kms' }))).code).toBe('UNSUPPORTED');
    expect((await failure(decryptEnvelope(kms, body, {}))).code).toBe('NOT_ENCRYPTED');
  });
});
