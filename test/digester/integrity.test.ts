import { constants, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestMetadata, fingerprintOf, pkcs1Der, serializeDigest, stringToSign, type DigestFile } from '@opentrail/integrity';
import type { ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { DigestRun, opentrailValidate, outcomeLines } from './helpers.js';

/**
 * A digester and the API against the real stack, a run of delivered log files, then every
 * tampering the issue names, each detected by `opentrail validate-logs` with the CLI's words and
 * undone before the next.
 */
const PERIOD_SECONDS = 6;
const run = new DigestRun(PERIOD_SECONDS);
let digester: ServiceProcess;
let api: { service: ServiceProcess; url: string };
let digests: string[];
const validate = () => opentrailValidate(run, api.url, run.started - 3 * PERIOD_SECONDS * 1000);

beforeAll(async () => {
  await run.setUp();
  [digester, api] = await Promise.all([run.startDigester(), run.startApi()]);
  // Log files over three periods, then at least one empty digest after the last of them.
  for (let p = 0; p < 3; p++) {
    await run.deliverLogFile();
    await run.deliverLogFile();
    await new Promise((r) => setTimeout(r, PERIOD_SECONDS * 1000));
  }
  const covering = await run.waitForDigestsCovering();
  digests = await waitFor(async () => {
    const keys = await run.digestKeys();
    return keys.length > covering.length ? keys : undefined;
  }, 'an empty digest after the last log file');
}, 120_000);

// Stops every service the run started, the killed and restarted ones too.
afterAll(() => run.close());

/** A digest in the middle of the chain that lists log files. */
async function middleDigest(): Promise<string> {
  for (const key of digests.slice(1, -1)) if (((await run.digest(key)).logFiles ?? []).length > 0) return key;
  throw new Error('no middle digest with log files');
}

async function tampered(key: string, change: () => Promise<void>, check: (r: { code: number; stdout: string; stderr: string }) => void) {
  const original = await run.object(key);
  await change();
  try {
    check(await validate());
  } finally {
    await run.put(key, original.body, original.metadata);
  }
}

describe('digester + validate-logs', () => {
  it('writes a chain that validates: every digest and log file valid', async () => {
    const first = await run.digest(digests[0]!);
    expect(first.previousDigestSignature).toBeNull();
    const last = await run.digest(digests.at(-1)!);
    expect(last.logFiles).toEqual([]);
    expect(last.newestEventTime).toBeNull();
    const metadata = (await run.object(digests[1]!)).metadata;
    expect(metadata['signature-algorithm']).toBe('SHA256withRSA');
    expect(metadata.signature).toMatch(/^[0-9a-f]{512}$/);

    const r = await validate();
    // stderr holds outcome lines only for what is invalid (Node may add its own warnings).
    expect(outcomeLines(r.stderr)).toEqual([]);
    expect(r.code).toBe(0);
    const valid = /^(\d+)\/\1 digest files valid$/m.exec(r.stdout);
    expect(Number(valid?.[1])).toBeGreaterThanOrEqual(digests.length);
    expect(r.stdout).toContain(`\n${run.logKeys.length}/${run.logKeys.length} log files valid`);
    for (const key of run.logKeys) expect(r.stdout).toContain(`Log file\ts3://${run.bucket}/${key}\tvalid`);
    expect(outcomeLines(r.stdout).some((l) => l.startsWith('No log files'))).toBe(false);
    expect(await digester.metric('opentrail_digester_log_files_covered_total')).toBe(run.logKeys.length);
    expect(await digester.metric('opentrail_digester_digests_written_total', { type: 'starting' })).toBe(1);
  });

  it("detects a log file whose bytes changed: hash value doesn't match", async () => {
    const key = run.logKeys[0]!;
    await tampered(key, () => run.put(key, gzipSync(Buffer.from('{"Records":[{"eventName":"Forged"}]}'))), (r) => {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Log file\ts3://${run.bucket}/${key}\tINVALID: hash value doesn't match`);
      expect(r.stdout).toMatch(/, 1\/\d+ log files INVALID/);
    });
  });

  it('detects a deleted log file: not found', async () => {
    const key = run.logKeys[1]!;
    await tampered(key, async () => void (await run.s3.send(new DeleteObjectCommand({ Bucket: run.bucket, Key: key }))), (r) => {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Log file\ts3://${run.bucket}/${key}\tINVALID: not found`);
    });
  });

  it('detects bytes appended after a log file\'s gzip stream', async () => {
    const key = run.logKeys[2]!;
    const { body } = await run.object(key);
    await tampered(key, () => run.put(key, Buffer.concat([body, gzipSync(Buffer.from('{"Records":[{"eventName":"Hidden"}]}'))])), (r) => {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Log file\ts3://${run.bucket}/${key}\tINVALID: unexpected data after end of compressed stream`);
    });
  });

  it('detects a deleted digest: not found, and goes on with the older ones', async () => {
    const key = await middleDigest();
    const older = digests[digests.indexOf(key) - 1]!;
    await tampered(key, async () => void (await run.s3.send(new DeleteObjectCommand({ Bucket: run.bucket, Key: key }))), (r) => {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Digest file\ts3://${run.bucket}/${key}\tINVALID: not found`);
      expect(r.stdout).toContain(`Digest file\ts3://${run.bucket}/${older}\tvalid`);
    });
  });

  it('detects a changed digest: signature verification failed', async () => {
    const key = await middleDigest();
    const { body, metadata } = await run.object(key);
    const json = (await run.digest(key)) as unknown as DigestFile;
    json.logFiles = json.logFiles.slice(1); // hide a log file
    await tampered(key, () => run.put(key, serializeDigest(json).gzipped, metadata), (r) => {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Digest file\ts3://${run.bucket}/${key}\tINVALID: signature verification failed`);
    });
    expect((await run.object(key)).body).toEqual(body);
  });

  it('detects a moved digest: has been moved from its original location', async () => {
    const key = await middleDigest();
    // One second earlier: the copy is listed where the validator looks, between its neighbours.
    const stamp = /_(\d{8}T\d{6}Z)\.json\.gz$/.exec(key)![1]!;
    const earlier = new Date(Date.UTC(+stamp.slice(0, 4), +stamp.slice(4, 6) - 1, +stamp.slice(6, 8), +stamp.slice(9, 11), +stamp.slice(11, 13), +stamp.slice(13, 15)) - 1000);
    const movedKey = key.replace(stamp, earlier.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z'));
    const { body, metadata } = await run.object(key);
    await tampered(
      key,
      async () => {
        await run.put(movedKey, body, metadata);
        await run.s3.send(new DeleteObjectCommand({ Bucket: run.bucket, Key: key }));
      },
      (r) => {
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`Digest file\ts3://${run.bucket}/${key}\tINVALID: not found`);
        expect(r.stderr).toContain(`Digest file\ts3://${run.bucket}/${movedKey}\tINVALID: has been moved from its original location`);
      },
    );
    await run.s3.send(new DeleteObjectCommand({ Bucket: run.bucket, Key: movedKey }));
  });

  it('detects a digest re-signed with another key, under its own or the genuine fingerprint', async () => {
    const key = await middleDigest();
    const forger = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forgedFingerprint = fingerprintOf(pkcs1Der(createPublicKey(forger.privateKey)));
    const resign = async (fingerprint: string) => {
      const json = (await run.digest(key)) as unknown as DigestFile;
      json.logFiles = json.logFiles.slice(1);
      json.digestPublicKeyFingerprint = fingerprint;
      const s = serializeDigest(json);
      const signature = sign('sha256', stringToSign(json, s.inflated), { key: forger.privateKey, padding: constants.RSA_PKCS1_PADDING }).toString('hex');
      await run.put(key, s.gzipped, digestMetadata(signature));
    };
    await tampered(key, () => resign(forgedFingerprint), (r) => {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Digest file\ts3://${run.bucket}/${key}\tINVALID: public key not found in region us-east-1 for fingerprint ${forgedFingerprint}`);
    });
    const genuine = String((await run.digest(key)).digestPublicKeyFingerprint);
    await tampered(key, () => resign(genuine), (r) => {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Digest file\ts3://${run.bucket}/${key}\tINVALID: signature verification failed`);
    });
  });

  it('is whole again once every tampering is undone', async () => {
    const r = await validate();
    expect(outcomeLines(r.stderr)).toEqual([]);
    expect(r.code).toBe(0);
  });
});
