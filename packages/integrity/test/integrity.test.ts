import { constants, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { digestFileKey } from '@opentrail/cloudtrail';
import { buildDigest, currentKey, digestMetadata, fingerprintOf, keyFileStamp, loadLocalKeys, serializeDigest, sha256Hex, stringToSign, validateLogs, type PreviousDigest, type SigningKey } from '../src/index.js';
import { DigestProvider } from '../src/validator.js';
import { generateLocalKey } from '../src/signingKeys.js';
import { NoSuchKeyError, type ObjectStore } from '../src/objectStore.js';
import { readGzipMember } from '../src/gzipMember.js';

describe('string to sign', () => {
  it('matches the CLI test vector (test_properly_signs_when_no_previous_signature)', () => {
    const out = stringToSign({ digestEndTime: 'a', digestS3Bucket: 'b', digestS3Object: 'c', previousDigestSignature: null }, Buffer.from('abc'));
    expect(out).toEqual(Buffer.from('a\nb/c\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nnull'));
  });

  it('ends with the previous signature when there is one', () => {
    const out = stringToSign({ digestEndTime: 'a', digestS3Bucket: 'b', digestS3Object: 'c', previousDigestSignature: 'ff00' }, Buffer.from('abc')).toString();
    expect(out.endsWith('\nff00')).toBe(true);
  });
});

describe('gzip members', () => {
  it('reads one member and counts the bytes after it', () => {
    const one = gzipSync(Buffer.from('{"Records":[]}'));
    expect(readGzipMember(one)).toEqual({ data: Buffer.from('{"Records":[]}'), trailing: 0 });
    expect(readGzipMember(Buffer.concat([one, Buffer.from('extra')])).trailing).toBe(5);
    expect(readGzipMember(Buffer.concat([one, one])).trailing).toBe(one.length);
  });

  it('refuses what is not gzip', () => {
    expect(() => readGzipMember(Buffer.from('not gzip at all, clearly'))).toThrow(/not a gzip/);
  });
});

describe('local keys', () => {
  it('generates a key on first start, then loads it; a second file rotates with validity windows', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keys-'));
    const first = loadLocalKeys(dir, { generate: true, now: Date.UTC(2026, 0, 1) });
    expect(first.generated).toBeDefined();
    expect(first.keys).toHaveLength(1);
    const der = first.keys[0]!.publicKeyDer;
    // PKCS#1 RSAPublicKey of a 2048-bit key: SEQUENCE of 266 bytes, 270 in all.
    expect(der.subarray(0, 4).toString('hex')).toBe('3082010a');
    expect(der.length).toBe(270);
    expect(first.keys[0]!.fingerprint).toBe(fingerprintOf(der));
    expect(loadLocalKeys(dir, { generate: true }).generated).toBeUndefined();

    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const later = Date.UTC(2026, 5, 1);
    writeFileSync(join(dir, `digest-key-${keyFileStamp(later)}.pem`), privateKey.export({ type: 'pkcs1', format: 'pem' }));
    const { keys } = loadLocalKeys(dir, { generate: true });
    expect(readdirSync(dir)).toHaveLength(2);
    expect(keys.map((k) => k.validityEnd)).toEqual([later, null]);
    expect(currentKey(keys, later - 1)!.fingerprint).toBe(first.keys[0]!.fingerprint);
    expect(currentKey(keys, later)!.fingerprint).not.toBe(first.keys[0]!.fingerprint);
  });

  it('signs PKCS#1 v1.5 SHA-256, verifiable with the published PKCS#1 DER', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keys-'));
    const key = loadLocalKeys(dir, { generate: true }).keys[0]!;
    const data = Buffer.from('2026-01-01T01:00:00Z\nb/k\nabc\nnull');
    const signature = await key.sign(data);
    expect(signature).toMatch(/^[0-9a-f]{512}$/);
    const pub = createPublicKey({ key: key.publicKeyDer, format: 'der', type: 'pkcs1' });
    expect(verify('sha256', data, { key: pub, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(signature, 'hex'))).toBe(true);
  });
});

/** S3 in memory: enough to walk a chain and tamper with it. */
class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, { body: Buffer; metadata: Record<string, string> }>();
  put(bucket: string, key: string, body: Buffer, metadata: Record<string, string> = {}) {
    this.objects.set(`${bucket}/${key}`, { body, metadata });
  }
  async *listKeys(bucket: string, prefix: string, startAfter: string) {
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(`${bucket}/`)).map((k) => k.slice(bucket.length + 1));
    for (const k of keys.sort()) if (k.startsWith(prefix) && k > startAfter) yield k;
  }
  async getObject(bucket: string, key: string) {
    const o = this.objects.get(`${bucket}/${key}`);
    if (!o) throw new NoSuchKeyError(bucket, key);
    return o;
  }
  async listFolders() {
    return [];
  }
}

const BUCKET = 'trail-bucket';
const ACCOUNT = '111122223333';
const T0 = Date.UTC(2026, 10, 1, 10, 0, 0);
const HOUR = 3_600_000;

async function writeChain(store: MemoryStore, key: SigningKey, hours: number) {
  let previous: PreviousDigest | null = null;
  const digestKeys: string[] = [];
  const logKeys: string[] = [];
  for (let h = 0; h < hours; h++) {
    const logKey = `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/11/01/${ACCOUNT}_CloudTrail_us-east-1_20261101T10${String(h).padStart(2, '0')}Z_AAAAAAAAAAAAAAA${h}.json.gz`;
    const log = Buffer.from(JSON.stringify({ Records: [{ eventID: String(h) }] }));
    store.put(BUCKET, logKey, gzipSync(log));
    logKeys.push(logKey);
    const endMs = T0 + (h + 1) * HOUR;
    const digestKey = digestFileKey({ accountId: ACCOUNT, region: 'us-east-1' }, 'main', 'us-east-1', new Date(endMs));
    const s = serializeDigest(
      buildDigest({ accountId: ACCOUNT, startTimeMs: endMs - HOUR, endTimeMs: endMs, bucket: BUCKET, key: digestKey, fingerprint: key.fingerprint, previous, logFiles: [{ bucket: BUCKET, key: logKey, sha256: sha256Hex(log), oldestEventTimeMs: endMs - HOUR, newestEventTimeMs: endMs - 1 }] }),
    );
    const signature = await key.sign(stringToSign(s.json, s.inflated));
    store.put(BUCKET, digestKey, s.gzipped, digestMetadata(signature));
    digestKeys.push(digestKey);
    previous = { bucket: BUCKET, key: digestKey, sha256: s.sha256, signature };
  }
  return { digestKeys, logKeys };
}

async function run(store: MemoryStore, key: SigningKey) {
  let out = '';
  let err = '';
  const summary = await validateLogs({
    store,
    keys: { getPublicKeys: async () => new Map([[key.fingerprint, key.publicKeyDer.toString('base64')]]) },
    trailArn: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/main`,
    scope: { accountId: ACCOUNT, trailName: 'main', homeRegion: 'us-east-1', sourceRegion: 'us-east-1' },
    bucket: BUCKET,
    startMs: T0,
    endMs: T0 + 3 * HOUR,
    verbose: true,
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
  });
  return { summary, out, err };
}

describe('validateLogs', () => {
  const key = loadLocalKeys(mkdtempSync(join(tmpdir(), 'keys-')), { generate: true }).keys[0]!;

  it('reports an intact chain valid, in the CLI words', async () => {
    const store = new MemoryStore();
    await writeChain(store, key, 3);
    const { summary, out, err } = await run(store, key);
    expect(err).toBe('');
    expect(summary).toMatchObject({ validDigests: 3, invalidDigests: 0, validLogs: 3, invalidLogs: 0 });
    expect(out).toContain('Results found for 2026-11-01T10:00:00Z to 2026-11-01T13:00:00Z:');
    expect(out).toContain('\n3/3 digest files valid\n3/3 log files valid\n');
    expect(out.match(/^Digest file\ts3:\/\/\S+\tvalid$/gm)).toHaveLength(3);
  });

  it('reports a changed log file, a deleted digest and a moved digest', async () => {
    const store = new MemoryStore();
    const { digestKeys, logKeys } = await writeChain(store, key, 3);
    store.put(BUCKET, logKeys[2]!, gzipSync(Buffer.from('{"Records":[{"eventID":"forged"}]}')));
    store.objects.delete(`${BUCKET}/${digestKeys[1]}`);
    const { summary, err } = await run(store, key);
    expect(err).toContain(`Log file\ts3://${BUCKET}/${logKeys[2]}\tINVALID: hash value doesn't match`);
    expect(err).toContain(`Digest file\ts3://${BUCKET}/${digestKeys[1]}\tINVALID: not found`);
    expect(summary).toMatchObject({ validDigests: 2, invalidDigests: 1, invalidLogs: 1 });

    const moved = new MemoryStore();
    const chain = await writeChain(moved, key, 2);
    const original = moved.objects.get(`${BUCKET}/${chain.digestKeys[1]}`)!;
    moved.objects.delete(`${BUCKET}/${chain.digestKeys[1]}`);
    const elsewhere = chain.digestKeys[1]!.replace('T120000Z', 'T115959Z');
    moved.put(BUCKET, elsewhere, original.body, original.metadata);
    const result = await run(moved, key);
    expect(result.err).toContain(`Digest file\ts3://${BUCKET}/${elsewhere}\tINVALID: has been moved from its original location`);
  });
});

describe('local key generation on a shared directory', () => {
  it('lets two instances generating in the same second end up with one key, neither overwritten', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keys-'));
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const written = generateLocalKey(dir, now);
    expect(written).toBeDefined();
    const before = readFileSync(written!);
    expect(generateLocalKey(dir, now + 400)).toBeUndefined();
    expect(readdirSync(dir)).toEqual([`digest-key-${keyFileStamp(now)}.pem`]);
    expect(readFileSync(written!)).toEqual(before);
    expect(loadLocalKeys(dir, { generate: true }).keys).toHaveLength(1);
  });
});

describe('validateLogs chain starts and scopes', () => {
  const key = loadLocalKeys(mkdtempSync(join(tmpdir(), 'keys-')), { generate: true }).keys[0]!;

  it('reports a gap where a chain starts again after older digests', async () => {
    const store = new MemoryStore();
    const { digestKeys } = await writeChain(store, key, 3);
    // The newest digest becomes a starting digest: its chain does not reach the older ones.
    const newest = await store.getObject(BUCKET, digestKeys[2]!);
    const json = JSON.parse(readGzipMember(newest.body).data.toString()) as Record<string, unknown>;
    for (const field of ['previousDigestS3Bucket', 'previousDigestS3Object', 'previousDigestHashValue', 'previousDigestHashAlgorithm', 'previousDigestSignature']) json[field] = null;
    const s = serializeDigest(json as never);
    store.put(BUCKET, digestKeys[2]!, s.gzipped, digestMetadata(await key.sign(stringToSign(s.json, s.inflated))));
    const { summary, err } = await run(store, key);
    expect(err).toContain('No log files were delivered by CloudTrail between 2026-11-01T12:00:00Z and 2026-11-01T12:00:00Z');
    expect(summary).toMatchObject({ validDigests: 3, invalidDigests: 0 });
  });

  it('lists an organization trail\'s digests under its prefix and o- segment only', () => {
    const scope = { accountId: ACCOUNT, trailName: 'org', homeRegion: 'us-east-1', sourceRegion: 'eu-west-1', organizationId: 'o-abcdefghij' };
    const provider = new DigestProvider(new MemoryStore(), scope);
    const good = `logs/AWSLogs/o-abcdefghij/${ACCOUNT}/CloudTrail-Digest/eu-west-1/2026/11/01/${ACCOUNT}_CloudTrail-Digest_eu-west-1_org_us-east-1_20261101T110000Z.json.gz`;
    expect(provider.keyPattern('logs').test(good)).toBe(true);
    expect(provider.keyPattern('logs').test(good.replace('o-abcdefghij/', ''))).toBe(false);
    expect(provider.keyPattern('logs').test(good.replace('_org_', '_other_'))).toBe(false);
    expect(provider.markerKey(Date.UTC(2026, 10, 1, 11, 0, 0), 'logs')).toBe(good.replace('T110000Z', 'T105900Z'));
  });
});
