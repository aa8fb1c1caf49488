import { constants, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign as rsaSign, type KeyObject } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';

/**
 * The keys that sign digest files. Each has a validity window: a key signs from its start until the
 * next key's start (rotation), and stays listed by ListPublicKeys for its window so that older
 * digests still validate. Public keys travel as PKCS#1 RSAPublicKey DER, fingerprinted by the MD5 of
 * those bytes (cloudtrail-spec.md §3.3).
 */
export interface SigningKey {
  fingerprint: string;
  /** PKCS#1 RSAPublicKey, DER. */
  publicKeyDer: Buffer;
  validityStart: number;
  /** The next key's start; null while this is the newest key. */
  validityEnd: number | null;
  /** local:<file> or kms:<key id>. */
  source: string;
  /** RSASSA-PKCS1-v1_5 over SHA-256 of `data`, lower-case hex. */
  sign(data: Buffer): Promise<string>;
}

export function pkcs1Der(publicKey: KeyObject): Buffer {
  return publicKey.export({ type: 'pkcs1', format: 'der' });
}

/** Lower-case hex MD5 of the DER bytes: the Fingerprint of ListPublicKeys and digestPublicKeyFingerprint. */
export function fingerprintOf(der: Buffer): string {
  return createHash('md5').update(der).digest('hex');
}

/** The keys of a signer, ordered by validity start, each window closed by the next key's start. */
export function withValidityWindows<K extends { validityStart: number; validityEnd: number | null }>(keys: K[]): K[] {
  const sorted = [...keys].sort((a, b) => a.validityStart - b.validityStart);
  return sorted.map((k, i) => ({ ...k, validityEnd: sorted[i + 1]?.validityStart ?? null }));
}

/** The key that signs at `now`: the newest whose window has started. */
export function currentKey<K extends { validityStart: number }>(keys: K[], now: number): K | undefined {
  let found: K | undefined;
  for (const k of keys) if (k.validityStart <= now && (!found || k.validityStart >= found.validityStart)) found = k;
  return found;
}

/** Local key files: `digest-key-<YYYYMMDDTHHMMSSZ>.pem`, the stamp being the key's validity start. */
export const LOCAL_KEY_FILE = /^digest-key-(\d{8}T\d{6}Z)\.pem$/;

export function keyFileStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

function parseStamp(stamp: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stamp)!;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

function localKey(file: string, validityStart: number): SigningKey {
  const privateKey = createPrivateKey(readFileSync(file));
  if (privateKey.asymmetricKeyType !== 'rsa') throw new Error(`${file}: not an RSA private key (digests are signed SHA256withRSA)`);
  const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 2048) throw new Error(`${file}: an RSA key of ${bits} bits; digests need at least 2048`);
  const der = pkcs1Der(createPublicKey(privateKey));
  return {
    fingerprint: fingerprintOf(der),
    publicKeyDer: der,
    validityStart,
    validityEnd: null,
    source: `local:${file}`,
    sign: async (data) => rsaSign('sha256', data, { key: privateKey, padding: constants.RSA_PKCS1_PADDING }).toString('hex'),
  };
}

/**
 * Writes a new RSA-2048 key valid from `now` (whole seconds) into `dir`; returns its path, or
 * undefined when a key with that stamp appeared meanwhile (another instance generated it). The key
 * is written aside, then linked into place: link() never replaces a file and publishes it whole, so
 * instances starting together on a shared directory never read half a key or overwrite one.
 */
export function generateLocalKey(dir: string, now: number): string | undefined {
  const stamp = Math.floor(now / 1000) * 1000;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const name = `digest-key-${keyFileStamp(stamp)}.pem`;
  const temporary = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}`);
  writeFileSync(temporary, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temporary, join(dir, name));
    return join(dir, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return undefined;
  } finally {
    unlinkSync(temporary);
  }
}

/**
 * Reads the key directory; with `generate` and no key in it, writes a new RSA-2048 key valid from
 * `now` (mode 0600). Rotation: put another `digest-key-<start>.pem` beside the others.
 */
export function loadLocalKeys(dir: string, options: { generate: boolean; now?: number }): { keys: SigningKey[]; generated?: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = readdirSync(dir).filter((f) => LOCAL_KEY_FILE.test(f));
  let generated: string | undefined;
  if (files.length === 0) {
    if (!options.generate) throw new Error(`no digest-key-<YYYYMMDDTHHMMSSZ>.pem in ${dir}`);
    generated = generateLocalKey(dir, options.now ?? Date.now());
    files.splice(0, files.length, ...readdirSync(dir).filter((f) => LOCAL_KEY_FILE.test(f)));
  }
  const keys = files.map((f) => localKey(join(dir, f), parseStamp(LOCAL_KEY_FILE.exec(f)![1]!)));
  return { keys: withValidityWindows(keys), ...(generated ? { generated } : {}) };
}

/** A KMS asymmetric key (RSA_2048 or larger, SIGN_VERIFY): KMS signs the string itself (MessageType RAW). */
export async function kmsKey(kms: KMSClient, keyId: string, validityStart: number): Promise<SigningKey> {
  const info = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
  if (!info.PublicKey) throw new Error(`KMS key ${keyId} has no public key`);
  if (!info.SigningAlgorithms?.includes('RSASSA_PKCS1_V1_5_SHA_256')) throw new Error(`KMS key ${keyId} cannot sign RSASSA_PKCS1_V1_5_SHA_256 (spec: ${info.KeySpec})`);
  // KMS hands out SubjectPublicKeyInfo; the CLI only loads PKCS#1.
  const der = pkcs1Der(createPublicKey({ key: Buffer.from(info.PublicKey), format: 'der', type: 'spki' }));
  return {
    fingerprint: fingerprintOf(der),
    publicKeyDer: der,
    validityStart,
    validityEnd: null,
    source: `kms:${keyId}`,
    sign: async (data) => {
      const out = await kms.send(new SignCommand({ KeyId: keyId, Message: data, MessageType: 'RAW', SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }));
      if (!out.Signature) throw new Error(`KMS Sign with ${keyId} returned no signature`);
      return Buffer.from(out.Signature).toString('hex');
    },
  };
}
