import { constants, createPublicKey, verify } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { OpentrailError } from '@opentrail/errors';
import { sha256Hex, stringToSign } from './digestFile.js';
import { readGzipMember } from './gzipMember.js';
import { NoSuchKeyError, type ObjectStore } from './objectStore.js';

/**
 * The chain walk of `aws cloudtrail validate-logs` (awscli/customizations/cloudtrail/validation.py,
 * cloudtrail-spec.md §3.4), ported step for step so that opentrail's validator reports the same
 * outcomes in the same words: newest digest first, following previousDigestS3Object, falling back
 * to the next older listed key on a missing or invalid digest or a chain start.
 */

const HOUR = 3_600_000;
const MINUTE = 60_000;

/** `YYYYMMDDTHHMMSSZ` (the CLI's DATE_FORMAT). */
export function keyDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/** `YYYY-MM-DDTHH:MM:SSZ` (the CLI's DISPLAY_DATE_FORMAT). */
export function displayDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function parseKeyDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return Number.NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

export function isBackfillDigestKey(key: string): boolean {
  return key.endsWith('_backfill.json.gz');
}

/** The timestamp part of a digest key (`key[-24:-8]`, or `key[-33:-17]` for backfill). */
export function digestKeyDate(key: string): string {
  return isBackfillDigestKey(key) ? key.slice(-33, -17) : key.slice(-24, -8);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** A digest file that fails validation; the message is validate-logs' output line for it. */
export class DigestError extends OpentrailError<'INVALID_DIGEST'> {
  constructor(message: string) {
    super('INVALID_DIGEST', message);
  }
}

const digestLine = (bucket: string, key: string, what: string) => `Digest file\ts3://${bucket}/${key}\t${what}`;

/** Public keys by fingerprint; values are what ListPublicKeys returns in `Value` (base64 PKCS#1 DER). */
export interface PublicKeyProvider {
  getPublicKeys(startMs: number, endMs: number): Promise<Map<string, string>>;
}

export interface DigestScope {
  accountId: string;
  trailName: string;
  homeRegion: string;
  /** The region whose digests are walked (the CLI's --region). */
  sourceRegion: string;
  organizationId?: string | null;
}

export type ParsedDigest = Record<string, unknown> & {
  digestS3Bucket: string;
  digestS3Object: string;
  digestStartTime: string;
  digestEndTime: string;
  logFiles?: { s3Bucket: string; s3Object: string; hashValue: string }[];
};

export interface TraversalCallbacks {
  onInvalid(e: { bucket: string; lastKey: string; message: string; isBackfill: boolean }): void;
  onMissing(e: { bucket: string; lastKey: string; isBackfill: boolean }): void;
  onGap(e: { nextEndMs: number; lastStartMs: number; isBackfill: boolean }): void;
}

/** Lists and loads digests of one trail and region (the CLI's DigestProvider). */
export class DigestProvider {
  private readonly cache = new Map<string, { standard: string[]; backfill: string[] }>();

  constructor(
    private readonly store: ObjectStore,
    readonly scope: DigestScope,
  ) {}

  private base(prefix: string | undefined): string {
    const s = this.scope;
    const org = s.organizationId ? `${s.organizationId}/` : '';
    return `${prefix ? `${prefix}/` : ''}AWSLogs/${org}${s.accountId}/CloudTrail-Digest/${s.sourceRegion}`;
  }

  /** The key a digest ending a minute before `startMs` would have: the listing's start marker. */
  markerKey(startMs: number, prefix: string | undefined): string {
    const d = new Date(startMs - MINUTE);
    const ymd = `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}`;
    const s = this.scope;
    return `${this.base(prefix)}/${ymd}/${s.accountId}_CloudTrail-Digest_${s.sourceRegion}_${s.trailName}_${s.homeRegion}_${keyDate(startMs - MINUTE)}.json.gz`;
  }

  keyPattern(prefix: string | undefined): RegExp {
    const s = this.scope;
    const org = s.organizationId ? `${s.organizationId}/` : '';
    const head = prefix ? `${escape(prefix)}/` : '';
    return new RegExp(
      `^${head}AWSLogs/${org}${escape(s.accountId)}/CloudTrail\\-Digest/${escape(s.sourceRegion)}/\\d+/\\d+/\\d+/${escape(s.accountId)}_CloudTrail\\-Digest_${escape(s.sourceRegion)}_${escape(s.trailName)}_${escape(s.homeRegion)}_.+(?:_backfill)?\\.json\\.gz$`,
    );
  }

  /** Digest keys in [start, end + 1 h], oldest first, standard and backfill apart; cached per range like the CLI's. */
  async keysInRange(bucket: string, prefix: string | undefined, startMs: number, endMs: number, isBackfill: boolean): Promise<string[]> {
    const cacheKey = `${bucket}\n${prefix ?? ''}\n${startMs}\n${endMs}`;
    let entry = this.cache.get(cacheKey);
    if (!entry) {
      entry = { standard: [], backfill: [] };
      const targetStart = keyDate(startMs);
      const targetEnd = keyDate(endMs + HOUR);
      const pattern = this.keyPattern(prefix);
      for await (const key of this.store.listKeys(bucket, this.base(prefix), this.markerKey(startMs, prefix))) {
        if (!pattern.test(key)) continue;
        const date = digestKeyDate(key);
        if (date > targetEnd) break;
        if (date < targetStart) continue;
        (isBackfillDigestKey(key) ? entry.backfill : entry.standard).push(key);
      }
      this.cache.set(cacheKey, entry);
    }
    return isBackfill ? entry.backfill : entry.standard;
  }

  async fetchDigest(bucket: string, key: string): Promise<{ digest: ParsedDigest; inflated: Buffer }> {
    const { body, metadata } = await this.store.getObject(bucket, key);
    let inflated: Buffer;
    let digest: ParsedDigest;
    try {
      // Like zlib.decompress(MAX_WBITS | 16): one member; what follows it is ignored.
      inflated = readGzipMember(body).data;
      digest = JSON.parse(inflated.toString('utf8')) as ParsedDigest;
      if (typeof digest !== 'object' || digest === null || Array.isArray(digest)) throw new Error('not an object');
    } catch {
      throw new DigestError(digestLine(bucket, key, 'INVALID: invalid format'));
    }
    if (!('signature' in metadata) || !('signature-algorithm' in metadata)) throw new DigestError(digestLine(bucket, key, 'INVALID: signature verification failed'));
    digest._signature = metadata.signature;
    digest._signature_algorithm = metadata['signature-algorithm'];
    if (isBackfillDigestKey(key)) {
      if (!('backfill-generation-timestamp' in metadata)) throw new DigestError(digestLine(bucket, key, 'INVALID: invalid format'));
      digest._backfill_generation_timestamp = metadata['backfill-generation-timestamp'];
    }
    return { digest, inflated };
  }
}

const REQUIRED_DIGEST_KEYS = ['digestPublicKeyFingerprint', 'digestS3Bucket', 'digestS3Object', 'previousDigestSignature', 'digestEndTime', 'digestStartTime'];

/** Verifies a digest's signature with a ListPublicKeys `Value` (base64 PKCS#1 DER); throws DigestError. */
export function verifyDigestSignature(bucket: string, key: string, publicKeyValue: string, digest: ParsedDigest, inflated: Buffer): void {
  let publicKey;
  try {
    publicKey = createPublicKey({ key: Buffer.from(publicKeyValue, 'base64'), format: 'der', type: 'pkcs1' });
  } catch {
    throw new DigestError(digestLine(bucket, key, `INVALID: Unable to load PKCS #1 key with fingerprint ${String(digest.digestPublicKeyFingerprint)}`));
  }
  const signatureHex = String(digest._signature);
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(signatureHex)) throw new Error('Non-hexadecimal digit found');
  const ok = verify('sha256', stringToSign(digest as never, inflated), { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.from(signatureHex, 'hex'));
  if (!ok) throw new DigestError(digestLine(bucket, key, 'INVALID: signature verification failed'));
}

/** The CLI's DigestTraverser: yields valid digests newest to oldest and reports the rest through callbacks. */
export class DigestTraverser {
  constructor(
    private readonly provider: DigestProvider,
    private readonly startingBucket: string,
    private readonly startingPrefix: string | undefined,
    private readonly keys: PublicKeyProvider,
    private readonly callbacks: TraversalCallbacks,
    /** How many digest keys were listed, for a progress display. */
    private readonly onListed?: (count: number, isBackfill: boolean) => void,
  ) {}

  async *traverse(startMs: number, endMs: number, isBackfill: boolean): AsyncGenerator<ParsedDigest> {
    let bucket = this.startingBucket;
    const prefix = this.startingPrefix;
    let digests = await this.provider.keysInRange(bucket, prefix, startMs, endMs, isBackfill);
    this.onListed?.(digests.length, isBackfill);
    const publicKeys = isBackfill ? new Map<string, string>() : await this.loadPublicKeys(startMs, endMs + 2 * HOUR);

    let [key, endDate] = lastDigest(digests);
    let lastStart = endDate;
    while (key !== undefined && lastStart !== undefined && startMs <= lastStart) {
      try {
        const { digest, endMs: digestEnd } = await this.loadAndValidate(publicKeys, bucket, key, isBackfill);
        endDate = digestEnd;
        lastStart = Date.parse(digest.digestStartTime);
        const previousBucket = (digest.previousDigestS3Bucket as string | null | undefined) ?? null;
        const previousKey = (digest.previousDigestS3Object as string | null | undefined) ?? null;
        yield digest;
        if (previousBucket === null || previousKey === null) {
          // A chain start: the next older listed digest begins another chain; a gap if there is one.
          const [next, nextEnd] = lastDigest(digests, key);
          if (next !== undefined) this.callbacks.onGap({ nextEndMs: nextEnd!, lastStartMs: lastStart, isBackfill });
          [key, endDate] = [next, nextEnd];
        } else {
          key = previousKey;
          if (previousBucket !== bucket) {
            bucket = previousBucket;
            digests = await this.provider.keysInRange(bucket, prefix, startMs, endDate, isBackfill);
          }
        }
      } catch (err) {
        const lastKey = key ?? '';
        const [next, nextEnd] = lastDigest(digests, lastKey);
        if (err instanceof NoSuchKeyError) this.callbacks.onMissing({ bucket, lastKey, isBackfill });
        else if (err instanceof DigestError) this.callbacks.onInvalid({ bucket, lastKey, message: err.message, isBackfill });
        else this.callbacks.onInvalid({ bucket, lastKey, message: digestLine(bucket, lastKey, `INVALID: ${(err as Error).message}`), isBackfill });
        [key, endDate] = [next, nextEnd];
      }
    }
  }

  private async loadAndValidate(publicKeys: Map<string, string>, bucket: string, key: string, isBackfill: boolean): Promise<{ digest: ParsedDigest; endMs: number }> {
    const { digest, inflated } = await this.provider.fetchDigest(bucket, key);
    for (const required of REQUIRED_DIGEST_KEYS) if (!(required in digest)) throw new DigestError(digestLine(bucket, key, 'INVALID: invalid format'));
    if (digest.digestS3Bucket !== bucket || digest.digestS3Object !== key) throw new DigestError(digestLine(bucket, key, 'INVALID: has been moved from its original location'));
    const fingerprint = String(digest.digestPublicKeyFingerprint);
    if (!publicKeys.has(fingerprint) && isBackfill) {
      const at = Date.parse(String(digest._backfill_generation_timestamp));
      for (const [fp, v] of await this.loadPublicKeys(at - HOUR, at + HOUR)) publicKeys.set(fp, v);
    }
    const value = publicKeys.get(fingerprint);
    if (value === undefined) throw new DigestError(digestLine(bucket, key, `INVALID: public key not found in region ${this.provider.scope.homeRegion} for fingerprint ${fingerprint}`));
    verifyDigestSignature(bucket, key, value, digest, inflated);
    return { digest, endMs: Date.parse(digest.digestEndTime) };
  }

  private async loadPublicKeys(startMs: number, endMs: number): Promise<Map<string, string>> {
    const keys = await this.keys.getPublicKeys(startMs, endMs);
    if (keys.size === 0) throw new Error(`No public keys found between ${displayDate(startMs)} and ${displayDate(endMs)}`);
    return keys;
  }
}

/**
 * The CLI's _get_last_digest: pops the newest key (or the newest older than `beforeKey`) off the
 * list, which is consumed as the walk goes; returns it with its key date.
 */
function lastDigest(digests: string[], beforeKey?: string): [string | undefined, number | undefined] {
  if (digests.length === 0) return [undefined, undefined];
  if (beforeKey === undefined) {
    const next = digests.pop()!;
    return [next, parseKeyDate(digestKeyDate(next))];
  }
  const before = parseKeyDate(digestKeyDate(beforeKey));
  while (digests.length > 0) {
    const next = digests.pop()!;
    const date = parseKeyDate(digestKeyDate(next));
    if (date < before) return [next, date];
  }
  return [undefined, undefined];
}

export type LogOutcome = 'valid' | 'hash' | 'missing' | 'format' | 'trailing';

/** The CLI's _download_log: single-member gunzip, SHA-256 of the inflated bytes, compared with hashValue. */
export async function checkLogFile(store: ObjectStore, log: { s3Bucket: string; s3Object: string; hashValue: string }): Promise<LogOutcome> {
  let body: Buffer;
  try {
    body = (await store.getObject(log.s3Bucket, log.s3Object)).body;
  } catch (err) {
    if (err instanceof NoSuchKeyError) return 'missing';
    throw err;
  }
  try {
    const member = readGzipMember(body);
    if (member.trailing > 0) return 'trailing';
    return sha256Hex(member.data) === log.hashValue ? 'valid' : 'hash';
  } catch {
    return 'format';
  }
}

/** What one validation run found (the CLI's counters). */
export interface ValidationSummary {
  validDigests: number;
  invalidDigests: number;
  validBackfillDigests: number;
  invalidBackfillDigests: number;
  validLogs: number;
  invalidLogs: number;
  foundStartMs?: number;
  foundEndMs?: number;
}

export interface ValidateLogsOptions {
  store: ObjectStore;
  keys: PublicKeyProvider;
  trailArn: string;
  scope: DigestScope;
  bucket: string;
  prefix?: string;
  startMs: number;
  endMs: number;
  verbose: boolean;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Digests handled so far of those listed: for a progress bar. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * A whole `validate-logs` run with the CLI's output: the start-up line, every outcome line (errors
 * on stderr, valid items on stdout with verbose), and the summary. Resolves to the summary; the exit
 * status is 1 when anything is invalid.
 */
export async function validateLogs(o: ValidateLogsOptions): Promise<ValidationSummary> {
  const s: ValidationSummary = { validDigests: 0, invalidDigests: 0, validBackfillDigests: 0, invalidBackfillDigests: 0, validLogs: 0, invalidLogs: 0 };
  let lastDoubleSpace = false;
  let listed = 0;
  let handled = 0;
  const progress = () => o.onProgress?.(++handled, listed);
  const status = (message: string, isError = false) => {
    if (isError) {
      o.stderr(lastDoubleSpace ? `${message}\n\n` : `\n${message}\n\n`);
      lastDoubleSpace = true;
    } else if (o.verbose) {
      lastDoubleSpace = false;
      o.stdout(`${message}\n`);
    }
  };
  const invalidDigest = (isBackfill: boolean) => {
    if (isBackfill) s.invalidBackfillDigests++;
    else s.invalidDigests++;
  };
  const provider = new DigestProvider(o.store, o.scope);
  const traverser = new DigestTraverser(
    provider,
    o.bucket,
    o.prefix,
    o.keys,
    {
      onMissing: ({ bucket, lastKey, isBackfill }) => {
        invalidDigest(isBackfill);
        progress();
        status(`${isBackfill ? '(backfill) ' : ''}${digestLine(bucket, lastKey, 'INVALID: not found')}`, true);
      },
      onInvalid: ({ message, isBackfill }) => {
        invalidDigest(isBackfill);
        progress();
        status(`${isBackfill ? '(backfill) ' : ''}${message}`, true);
      },
      onGap: ({ nextEndMs, lastStartMs, isBackfill }) =>
        status(`${isBackfill ? '(backfill) ' : ''}No log files were delivered by CloudTrail between ${displayDate(nextEndMs)} and ${displayDate(lastStartMs)}`, true),
    },
    (count) => (listed += count),
  );
  const track = (digest: ParsedDigest) => {
    const start = Math.max(Date.parse(digest.digestStartTime), o.startMs);
    if (s.foundStartMs === undefined || start < s.foundStartMs) s.foundStartMs = start;
    const end = Math.min(Date.parse(digest.digestEndTime), o.endMs);
    if (s.foundEndMs === undefined || end > s.foundEndMs) s.foundEndMs = end;
  };
  const logLine = (log: { s3Bucket: string; s3Object: string }, what: string) => `Log file\ts3://${log.s3Bucket}/${log.s3Object}\t${what}`;
  const checkLogs = async (digest: ParsedDigest) => {
    for (const log of digest.logFiles ?? []) {
      const outcome = await checkLogFile(o.store, log);
      if (outcome === 'valid') {
        s.validLogs++;
        status(logLine(log, 'valid'));
        continue;
      }
      s.invalidLogs++;
      const what = { hash: "INVALID: hash value doesn't match", missing: 'INVALID: not found', format: 'INVALID: invalid format', trailing: 'INVALID: unexpected data after end of compressed stream' }[outcome];
      status(logLine(log, what), true);
    }
  };

  o.stdout(`Validating log files for trail ${o.trailArn} between ${displayDate(o.startMs)} and ${displayDate(o.endMs)}\n\n`);
  for (const isBackfill of [false, true]) {
    for await (const digest of traverser.traverse(o.startMs, o.endMs, isBackfill)) {
      track(digest);
      if (isBackfill) s.validBackfillDigests++;
      else s.validDigests++;
      progress();
      status(`${isBackfill ? '(backfill) ' : ''}Digest file\ts3://${digest.digestS3Bucket}/${digest.digestS3Object}\tvalid`);
      await checkLogs(digest);
    }
  }

  if (!lastDoubleSpace) o.stdout('\n');
  o.stdout(`Results requested for ${displayDate(o.startMs)} to ${displayDate(o.endMs)}\n`);
  const validDigests = s.validDigests + s.validBackfillDigests;
  const invalidDigests = s.invalidDigests + s.invalidBackfillDigests;
  if (validDigests === 0 && invalidDigests === 0) {
    o.stdout('No digests found\n');
    return s;
  }
  if (s.foundStartMs === undefined || s.foundEndMs === undefined) o.stdout('No valid digests found in range\n');
  else o.stdout(`Results found for ${displayDate(s.foundStartMs)} to ${displayDate(s.foundEndMs)}:\n`);
  const ratio = (valid: number, invalid: number, name: string) => {
    const total = valid + invalid;
    if (total === 0) return;
    o.stdout(`\n${valid}/${total} ${name} files valid`);
    if (invalid > 0) o.stdout(`, ${invalid}/${total} ${name} files INVALID`);
  };
  ratio(s.validDigests, s.invalidDigests, 'digest');
  ratio(s.validBackfillDigests, s.invalidBackfillDigests, 'backfill digest');
  ratio(s.validLogs, s.invalidLogs, 'log');
  o.stdout('\n');
  return s;
}

export function hasInvalid(s: ValidationSummary): boolean {
  return s.invalidDigests + s.invalidBackfillDigests + s.invalidLogs > 0;
}

/** For tests and tools: the inflated JSON of a gzipped digest (any number of members). */
export function inflateDigest(gzipped: Buffer): ParsedDigest {
  return JSON.parse(gunzipSync(gzipped).toString('utf8')) as ParsedDigest;
}
