import { createDecipheriv, createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { CreateKeyCommand, DecryptCommand } from '@aws-sdk/client-kms';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { decryptLogFile, LogFileReadError } from '@opentrail/logfiles';
import { rejection } from '@opentrail/testing';
// The decrypt command as the CLI runs it (packages/cli/src/commands/decrypt.ts).
import { decryptCommand } from '../../packages/cli/src/commands/decrypt.js';
import type { TrailInput } from '@opentrail/trails';
import { stackEndpoints } from '../helpers/env.js';
import { startService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { archiverEnv, archiverEvent, archiverStage, EnrichedProducer, isManagement, listKeys, readDeliveries } from './helpers.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach({ ignoreFailures: true });

const EVENTS = 2000;
const readFailure = (promise: Promise<unknown>) => rejection(promise, LogFileReadError);

describe('archiver: encryption at rest', () => {
  it('SSE-S3, SSE-KMS and client-side envelope encryption (S3 Encryption Client v2 layout), each read back', { timeout: 180_000 }, async () => {
    const { prefix, kafka, aws, bucket } = await archiverStage(cleanups, 'crypt');
    const createKey = async () => (await aws.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const [fileKey, serverKey, otherKey] = [await createKey(), await createKey(), await createKey()];

    const trails: TrailInput[] = [
      { name: 'plain', accountId: '999988887777', homeRegion: 'us-east-1', bucket, prefix: 'sse-s3', roll: { intervalSeconds: 1 } },
      { name: 'server-kms', accountId: '999988887777', homeRegion: 'us-east-1', bucket, prefix: 'sse-kms', roll: { intervalSeconds: 1 }, encryption: { mode: 'SSE_KMS', kmsKeyId: serverKey.KeyId! } },
      { name: 'client-kms', accountId: '999988887777', homeRegion: 'us-east-1', bucket, prefix: 'cse-kms', roll: { intervalSeconds: 1 }, encryption: { mode: 'CSE_KMS', kmsKeyId: fileKey.Arn! } },
    ];
    const records = Array.from({ length: EVENTS }, (_, i) => archiverEvent(i, prefix));
    const byId = new Map(records.map((r) => [r.eventID!, r]));
    const expected = records.filter(isManagement).length * trails.length;

    const archiver = await startService('archiver', archiverEnv(prefix, trails));
    cleanups.push(() => archiver.kill());
    const producer = await EnrichedProducer.create(kafka, prefix);
    cleanups.push(() => producer.close());
    await producer.send(records);
    const deliveries = await readDeliveries(kafka, prefix);
    cleanups.push(() => deliveries.stop());
    await waitFor(async () => (await deliveries.all()).reduce((n, d) => n + d.recordCount, 0) >= expected, `${expected} records delivered`, 90_000, 500);
    expect((await archiver.stop()).code).toBe(0);
    const all = await deliveries.all();
    const byKey = new Map(all.map((d) => [d.key, d]));

    // SSE-S3 and SSE-KMS: S3 encrypts; the body as read is the gzip file.
    for (const [folder, mode] of [['sse-s3/', 'SSE_S3'], ['sse-kms/', 'SSE_KMS']] as const) {
      const key = (await listKeys(aws.s3, bucket, folder))[0]!;
      const object = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      expect(object.ServerSideEncryption).toBe(mode === 'SSE_S3' ? 'AES256' : 'aws:kms');
      if (mode === 'SSE_KMS') expect(object.SSEKMSKeyId).toContain(serverKey.KeyId!);
      const file = await decryptLogFile(aws, `s3://${bucket}/${key}`);
      expect(file.encryption).toBe(mode);
      expect(byKey.get(key)!.encryption).toEqual({ mode, kmsKeyId: mode === 'SSE_KMS' ? serverKey.KeyId! : null });
    }

    const encryptedKeys = await listKeys(aws.s3, bucket, 'cse-kms/');
    expect(encryptedKeys.length).toBeGreaterThan(0);
    let records_ = 0;
    for (const key of encryptedKeys) {
      const object = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const body = Buffer.from(await object.Body!.transformToByteArray());
      const meta = object.Metadata!;
      // Neither gzip nor plaintext: S3 holds only ciphertext.
      expect(body.subarray(0, 2)).not.toEqual(Buffer.from([0x1f, 0x8b]));
      expect(body.includes(Buffer.from('Records'))).toBe(false);
      expect(body.includes(Buffer.from(byKey.get(key)!.accountId))).toBe(false);
      // The S3 Encryption Client v2 metadata, exactly.
      expect(meta).toMatchObject({
        'x-amz-cek-alg': 'AES/GCM/NoPadding',
        'x-amz-wrap-alg': 'kms+context',
        'x-amz-matdesc': '{"aws:x-amz-cek-alg":"AES/GCM/NoPadding"}',
        'x-amz-tag-len': '128',
        'x-amz-unencrypted-content-length': String(body.length - 16),
      });
      expect(Buffer.from(meta['x-amz-iv']!, 'base64')).toHaveLength(12);

      // Decrypted the way any S3 Encryption Client does it: KMS with the stored encryption context, then AES-GCM with the tag at the end.
      const dataKey = await aws.kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from(meta['x-amz-key-v2']!, 'base64'), EncryptionContext: JSON.parse(meta['x-amz-matdesc']!) as Record<string, string> }));
      expect(dataKey.KeyId).toBe(fileKey.Arn);
      const decipher = createDecipheriv('aes-256-gcm', Buffer.from(dataKey.Plaintext!), Buffer.from(meta['x-amz-iv']!, 'base64'));
      decipher.setAuthTag(body.subarray(body.length - 16));
      const gzip = Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]);
      const content = gunzipSync(gzip);
      const delivery = byKey.get(key)!;
      expect(delivery.sha256).toBe(createHash('sha256').update(content).digest('hex'));
      expect(delivery.encryption).toEqual({ mode: 'CSE_KMS', kmsKeyId: fileKey.Arn });
      const parsed = JSON.parse(content.toString()) as { Records: { eventID: string }[] };
      for (const r of parsed.Records) expect(r).toStrictEqual(byId.get(r.eventID));
      records_ += parsed.Records.length;

      // decryptLogFile gives the same file.
      const file = await decryptLogFile(aws, { bucket, key }, { kmsKeyId: fileKey.KeyId! });
      expect(file).toMatchObject({ encryption: 'CSE_KMS', kmsKeyId: fileKey.Arn });
      expect(file.gzip).toEqual(gzip);
      expect(file.json).toBe(content.toString());
    }
    expect(records_).toBe(expected / trails.length);

    // The wrong key, or a tampered body: a clear error, never garbage.
    const key = encryptedKeys[0]!;
    const wrongKey = await readFailure(decryptLogFile(aws, { bucket, key }, { kmsKeyId: otherKey.KeyId! }));
    expect(wrongKey.code).toBe('WRONG_KEY');
    expect(wrongKey.message).toMatch(/encrypted under another KMS key/);
    const original = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const tampered = Buffer.from(await original.Body!.transformToByteArray());
    tampered[100] = tampered[100]! ^ 0x01;
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `tampered/${key}`, Body: tampered, Metadata: original.Metadata }));
    const tamperedError = await readFailure(decryptLogFile(aws, { bucket, key: `tampered/${key}` }));
    expect(tamperedError.code).toBe('TAMPERED');
    expect(tamperedError.message).toMatch(/authentication failed/);
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `swapped/${key}`, Body: tampered, Metadata: { ...original.Metadata, 'x-amz-matdesc': '{"aws:x-amz-cek-alg":"AES/CBC/PKCS5Padding"}' } }));
    expect((await readFailure(decryptLogFile(aws, { bucket, key: `swapped/${key}` }))).code).toBe('TAMPERED');

    // The CLI command: JSON on stdout, exit 0; the wrong key, exit 1 with the reason.
    process.env.OPENTRAIL_AWS_ENDPOINT = stackEndpoints().awsEndpoint;
    const out: string[] = [];
    const err: string[] = [];
    const stdout = process.stdout.write.bind(process.stdout);
    const stderr = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((chunk: string | Uint8Array) => out.push(String(chunk)) > 0);
    process.stderr.write = ((chunk: string | Uint8Array) => err.push(String(chunk)) > 0);
    let codes: number[];
    try {
      codes = [await decryptCommand([`s3://${bucket}/${key}`]), await decryptCommand([`s3://${bucket}/${key}`, '--kms-key-id', otherKey.KeyId!])];
    } finally {
      process.stdout.write = stdout;
      process.stderr.write = stderr;
    }
    expect(codes).toEqual([0, 1]);
    expect((JSON.parse(out.join('')) as { Records: unknown[] }).Records).toHaveLength(byKey.get(key)!.recordCount);
    expect(err.join('')).toMatch(/WRONG_KEY/);
  });
});
