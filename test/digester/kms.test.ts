import { CreateKeyCommand, GetPublicKeyCommand } from '@aws-sdk/client-kms';
import { createHash, createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceProcess } from '../helpers/service.js';
import { chainProblems, DigestRun, opentrailValidate, outcomeLines } from './helpers.js';

/** Digests signed by a KMS asymmetric key (moto's KMS, Sign with MessageType RAW) validate. */
const run = new DigestRun(5);
let api: { service: ServiceProcess; url: string };
let keyId: string;

beforeAll(async () => {
  await run.setUp();
  const created = await run.aws.kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY', Description: 'opentrail digest test' }));
  keyId = created.KeyMetadata!.KeyId!;
  [, api] = await Promise.all([
    run.startDigester({ OPENTRAIL_DIGESTER_SIGNING_TYPE: 'kms', OPENTRAIL_DIGESTER_KMS_KEY_IDS: JSON.stringify([{ keyId }]) }, ['OPENTRAIL_DIGESTER_KEY_DIR']),
    run.startApi(),
  ]);
  await run.deliverLogFile();
  await run.deliverLogFile();
  await run.waitForDigestsCovering();
}, 120_000);

// Stops every service the run started, the killed and restarted ones too.
afterAll(() => run.close());

describe('digester with a KMS key', () => {
  it('signs with the KMS key: its PKCS#1 fingerprint in every digest, and the chain validates', async () => {
    const spki = (await run.aws.kms.send(new GetPublicKeyCommand({ KeyId: keyId }))).PublicKey!;
    const der = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ type: 'pkcs1', format: 'der' });
    const fingerprint = createHash('md5').update(der).digest('hex');
    const keys = await run.digestKeys();
    for (const key of keys) expect((await run.digest(key)).digestPublicKeyFingerprint).toBe(fingerprint);
    expect((await chainProblems(run)).problems).toEqual([]);

    const r = await opentrailValidate(run, api.url, run.started - 60_000);
    expect(outcomeLines(r.stderr)).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`\n${run.logKeys.length}/${run.logKeys.length} log files valid`);
  });
});
