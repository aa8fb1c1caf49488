import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOUDTRAIL_TARGET_PREFIX, CloudTrailApiClient, keyFileStamp } from '@opentrail/integrity';
import type { ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { ACCESS_KEY, awsValidate, DigestRun, iso, opentrailValidate, outcomeLines } from '../digester/helpers.js';

/**
 * The CloudTrail-compatible API against the real stack: Signature V4, ListPublicKeys across a key
 * rotation, DescribeTrails and GetTrailStatus from the services' state, and the real AWS CLI's
 * validate-logs using it (CloudTrail calls to the API, S3 calls to moto).
 */
interface PublicKey {
  Value: string;
  ValidityStartTime: number;
  ValidityEndTime?: number;
  Fingerprint: string;
}

const run = new DigestRun(5);
let digester: ServiceProcess;
let api: { service: ServiceProcess; url: string };
let client: CloudTrailApiClient;

const listKeys = async (input: Record<string, unknown> = {}) => (await client.call<{ PublicKeyList: PublicKey[] }>('ListPublicKeys', input)).PublicKeyList;

beforeAll(async () => {
  await run.setUp();
  [digester, api] = await Promise.all([run.startDigester({ OPENTRAIL_DIGESTER_KEY_RESCAN_INTERVAL_MS: '1000' }), run.startApi()]);
  client = new CloudTrailApiClient({ endpoint: api.url, region: 'us-east-1', credentials: { accessKeyId: ACCESS_KEY.id, secretAccessKey: ACCESS_KEY.secret } });
  await run.deliverLogFile();
  await run.deliverLogFile();
  await run.waitForDigestsCovering();
}, 120_000);

// Stops every service the run started, the killed and restarted ones too.
afterAll(() => run.close());

describe('CloudTrail API', () => {
  it('refuses unsigned and wrongly signed requests with CloudTrail-style 403s', async () => {
    const unsigned = await fetch(api.url, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${CLOUDTRAIL_TARGET_PREFIX}DescribeTrails` }, body: '{}' });
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('x-amzn-requestid')).toBeTruthy();
    expect(await unsigned.json()).toEqual({ __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });

    const wrongSecret = new CloudTrailApiClient({ endpoint: api.url, region: 'us-east-1', credentials: { accessKeyId: ACCESS_KEY.id, secretAccessKey: 'not-the-secret' } });
    await expect(wrongSecret.describeTrails()).rejects.toMatchObject({ code: 'InvalidSignatureException', status: 403 });
    const unknownKey = new CloudTrailApiClient({ endpoint: api.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: ACCESS_KEY.secret } });
    await expect(unknownKey.describeTrails()).rejects.toMatchObject({ code: 'UnrecognizedClientException', status: 403 });
    expect(await api.service.metric('opentrail_api_auth_failures_total')).toBe(3);
  });

  it('serves the digester\'s public key: PKCS#1 DER, MD5 fingerprint, epoch-second validity', async () => {
    const keys = await waitFor(async () => ((await listKeys()).length ? listKeys() : undefined), 'a public key');
    expect(keys).toHaveLength(1);
    const der = Buffer.from(keys[0]!.Value, 'base64');
    expect(der.subarray(0, 4).toString('hex')).toBe('3082010a');
    expect(keys[0]!.Fingerprint).toBe(createHash('md5').update(der).digest('hex'));
    expect(keys[0]!.ValidityStartTime).toBeGreaterThan(1.7e9);
    expect(keys[0]!.ValidityStartTime).toBeLessThan(Date.now() / 1000 + 1);
    const digest = await run.digest((await run.digestKeys())[0]!);
    expect(digest.digestPublicKeyFingerprint).toBe(keys[0]!.Fingerprint);
  });

  it('describes the configured trail and its status from the deliveries', async () => {
    const { trailList } = await client.describeTrails();
    expect(trailList).toEqual([expect.objectContaining({ Name: run.trailName, TrailARN: run.trailArn, S3BucketName: run.bucket, HomeRegion: 'us-east-1', LogFileValidationEnabled: true, IsOrganizationTrail: false })]);
    const status = await waitFor(async () => {
      const s = await client.call<Record<string, unknown>>('GetTrailStatus', { Name: run.trailArn });
      return typeof s.LatestDigestDeliveryTime === 'number' && typeof s.LatestDeliveryTime === 'number' ? s : undefined;
    }, 'GetTrailStatus with delivery and digest times');
    expect(status.IsLogging).toBe(true);
    expect(Math.abs((status.LatestDeliveryTime as number) - Date.now() / 1000)).toBeLessThan(120);
    await expect(client.call('GetTrailStatus', { Name: 'no-such-trail' })).rejects.toMatchObject({ code: 'TrailNotFoundException', status: 400 });
    // Lake's stores are served (a store needs a Name); an operation opentrail lacks is refused by name.
    await expect(client.call('CreateEventDataStore', {})).rejects.toMatchObject({ code: 'InvalidParameterException' });
    await expect(client.call('CreateChannel', {})).rejects.toMatchObject({ code: 'UnknownOperationException' });
  });

  it('keeps serving the old key with a closed validity window after a rotation', async () => {
    const before = await listKeys();
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rotatedAt = Math.floor(Date.now() / 1000) * 1000;
    writeFileSync(join(run.keyDir, `digest-key-${keyFileStamp(rotatedAt)}.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const keys = await waitFor(async () => {
      const all = await listKeys({ StartTime: rotatedAt / 1000 - 3600, EndTime: Date.now() / 1000 + 3600 });
      return all.length === 2 ? all : undefined;
    }, 'two public keys');
    expect(keys[0]!.Fingerprint).toBe(before[0]!.Fingerprint);
    expect(keys[0]!.ValidityEndTime).toBe(rotatedAt / 1000);
    expect(keys[1]!.ValidityStartTime).toBe(rotatedAt / 1000);
    // Now (no times given) only the new key is current.
    await waitFor(async () => (await listKeys()).map((k) => k.Fingerprint).join() === keys[1]!.Fingerprint, 'the new key as the current one');

    await run.deliverLogFile();
    await run.deliverLogFile();
    const digests = await run.waitForDigestsCovering();
    const fingerprints = new Set<string>();
    for (const key of digests) fingerprints.add(String((await run.digest(key)).digestPublicKeyFingerprint));
    expect(fingerprints).toEqual(new Set([keys[0]!.Fingerprint, keys[1]!.Fingerprint]));
  });

  it('lets the real AWS CLI validate every file, then report a tampered log file INVALID', async () => {
    const start = run.started - 60_000;
    const ok = await awsValidate(run, api.url, start);
    expect(outcomeLines(ok.stderr)).toEqual([]);
    expect(ok.code, `${ok.stdout}\n${ok.stderr}`).toBe(0);
    expect(ok.stdout).toMatch(/^\d+\/\d+ digest files valid$/m);
    expect(ok.stdout).not.toMatch(/INVALID/);
    expect(ok.stdout).toContain(`\n${run.logKeys.length}/${run.logKeys.length} log files valid`);
    for (const key of run.logKeys) expect(ok.stdout).toContain(`Log file\ts3://${run.bucket}/${key}\tvalid`);

    const key = run.logKeys[0]!;
    const original = await run.object(key);
    await run.put(key, gzipSync(Buffer.from('{"Records":[]}')));
    try {
      const bad = await awsValidate(run, api.url, start);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain(`Log file\ts3://${run.bucket}/${key}\tINVALID: hash value doesn't match`);
      expect(bad.stdout).toMatch(/, 1\/\d+ log files INVALID/);

      // opentrail validate-logs says the same, line for line, over the same range (the digester
      // stopped first, so that no digest appears between the two runs).
      await digester.stop();
      const end = ['--end-time', iso(Date.now())];
      const [theirs, ours] = await Promise.all([awsValidate(run, api.url, start, end), opentrailValidate(run, api.url, start, end)]);
      expect(ours.code).toBe(theirs.code);
      expect(ours.stdout).toBe(theirs.stdout);
      expect(outcomeLines(ours.stderr)).toEqual(outcomeLines(theirs.stderr));
    } finally {
      await run.put(key, original.body, original.metadata);
    }
  });
});
