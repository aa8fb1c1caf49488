import { createHash } from 'node:crypto';
import { HeadObjectCommand, type PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createLogger, ServiceMetrics } from '@opentrail/observability';
import { RetryAbortedError } from '@opentrail/runtime';
import { LogFileStore, logFileStoreMetrics, StaleOwnerError, type ObjectToStore, type Ownership } from '@opentrail/logfiles';

interface StoredObject {
  body: Buffer;
  metadata: Record<string, string>;
  etag: string;
}

/** An S3 stand-in with S3's conditional-write rules (If-None-Match: *, If-Match: etag) and scripted failures. */
function fakeS3() {
  const objects = new Map<string, StoredObject>();
  const puts: { key: string; condition: string }[] = [];
  const failures: Error[] = [];
  const precondition = () => Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
  const s3 = {
    send: async (command: PutObjectCommand | HeadObjectCommand) => {
      const failure = failures.shift();
      if (failure) throw failure;
      const input = command.input;
      const existing = objects.get(input.Key!);
      if (command instanceof HeadObjectCommand) {
        if (!existing) throw Object.assign(new Error('not found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
        return { ETag: existing.etag, Metadata: existing.metadata };
      }
      const put = command.input;
      puts.push({ key: put.Key!, condition: put.IfNoneMatch ? `if-none-match ${put.IfNoneMatch}` : put.IfMatch ? `if-match ${put.IfMatch}` : 'none' });
      if (put.IfNoneMatch === '*' && existing) throw precondition();
      if (put.IfMatch && existing?.etag !== put.IfMatch) throw precondition();
      const body = put.Body as Buffer;
      objects.set(put.Key!, { body, metadata: put.Metadata ?? {}, etag: `"${createHash('md5').update(body).digest('hex')}"` });
      return { ETag: objects.get(put.Key!)!.etag };
    },
  };
  return { s3: s3 as unknown as S3Client, objects, puts, failures };
}

function object(content: string): ObjectToStore {
  return { bucket: 'b', key: 'AWSLogs/k.json.gz', body: Buffer.from(content), contentType: 'application/x-gzip', sha256: createHash('sha256').update(content).digest('hex') };
}

function store(s3: S3Client, conditionalWrites = true) {
  const metrics = logFileStoreMetrics(new ServiceMetrics(`storetest${Math.random().toString(36).slice(2, 8)}`));
  return { store: new LogFileStore(s3, { conditionalWrites, attemptTimeoutMs: 5000 }, metrics, createLogger('storetest', 'silent')), metrics };
}

const older: Ownership = { sinceMs: 1000, instance: 'a' };
const newer: Ownership = { sinceMs: 2000, instance: 'b' };
const signal = () => new AbortController().signal;

describe('LogFileStore', () => {
  it('creates a key only if it does not exist yet', async () => {
    const fake = fakeS3();
    await store(fake.s3).store.store(object('one'), { owner: older, signal: signal() });
    expect(fake.puts).toEqual([{ key: 'AWSLogs/k.json.gz', condition: 'if-none-match *' }]);
    expect(fake.objects.get('AWSLogs/k.json.gz')!.metadata).toEqual({ 'opentrail-owner': '1000.a', 'opentrail-sha256': object('one').sha256 });
  });

  it('takes its own earlier attempt (a lost response) as done', async () => {
    const fake = fakeS3();
    const { store: s } = store(fake.s3);
    await s.store(object('one'), { owner: older, signal: signal() });
    await s.store(object('one'), { owner: older, signal: signal() });
    expect(fake.puts).toHaveLength(2);
    expect(fake.objects.get('AWSLogs/k.json.gz')!.body.toString()).toBe('one');
  });

  it('replaces an earlier owner\'s uncommitted file, conditionally on its ETag', async () => {
    const fake = fakeS3();
    await store(fake.s3).store.store(object('left by a crashed owner'), { owner: older, signal: signal() });
    await store(fake.s3).store.store(object('rebuilt'), { owner: newer, signal: signal() });
    expect(fake.puts.map((p) => p.condition)).toEqual(['if-none-match *', 'if-none-match *', expect.stringMatching(/^if-match "/)]);
    expect(fake.objects.get('AWSLogs/k.json.gz')!.body.toString()).toBe('rebuilt');
  });

  it('a stale owner never overwrites the newer owner\'s file', async () => {
    const fake = fakeS3();
    await store(fake.s3).store.store(object('rebuilt by the new owner'), { owner: newer, signal: signal() });
    const stale = store(fake.s3);
    await expect(stale.store.store(object('late upload of the old owner'), { owner: older, signal: signal() })).rejects.toBeInstanceOf(StaleOwnerError);
    expect(fake.objects.get('AWSLogs/k.json.gz')!.body.toString()).toBe('rebuilt by the new owner');
  });

  it('retries failures patiently and counts them; stops when told to', async () => {
    const fake = fakeS3();
    fake.failures.push(Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error', code: 'ECONNREFUSED' }), Object.assign(new Error('slow down'), { name: 'SlowDown' }));
    const { store: s, metrics } = store(fake.s3);
    await s.store(object('one'), { owner: older, signal: signal() });
    expect(fake.objects.has('AWSLogs/k.json.gz')).toBe(true);
    expect((await metrics.uploadRetries.get()).values[0]!.value).toBe(2);
    expect((await metrics.uploadErrors.get()).values.map((v) => v.labels.code).sort()).toEqual(['Error', 'SlowDown']);

    const down = fakeS3();
    down.failures.push(...Array.from({ length: 100 }, () => new Error('S3 is down')));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    await expect(store(down.s3).store.store(object('two'), { owner: older, signal: controller.signal })).rejects.toBeInstanceOf(RetryAbortedError);
  });

  it('writes unconditionally for stores without conditional writes', async () => {
    const fake = fakeS3();
    await store(fake.s3, false).store.store(object('one'), { owner: older, signal: signal() });
    expect(fake.puts).toEqual([{ key: 'AWSLogs/k.json.gz', condition: 'none' }]);
  });
});
