import { createHash } from 'node:crypto';

/**
 * S3 object keys exactly as CloudTrail writes them (cloudtrail-spec.md §2.1).
 *
 *   [prefix/]AWSLogs/[o-org/]<acct>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/<acct>_CloudTrail_<region>_<YYYYMMDD>T<HHmm>Z_<unique>.json.gz
 *   [prefix/]AWSLogs/[o-org/]<acct>/CloudTrail-Digest/<region>/<YYYY>/<MM>/<DD>/<acct>_CloudTrail-Digest_<region>_<trail>_<homeRegion>_<YYYYMMDD>T<HHmmss>Z.json.gz
 */

export type LogFileKind = 'CloudTrail' | 'CloudTrail-Insight';

/** CPL's pattern for a log file key (`utils/SourceIdentifier.java`). */
export const LOG_FILE_KEY_PATTERN = /.+_CloudTrail_[\w-]+_\d{8}T\d{4}Z_\w+\.json\.gz$/;
export const INSIGHT_FILE_KEY_PATTERN = /.+_CloudTrail-Insight_[\w-]+_\d{8}T\d{4}Z_\w+\.json\.gz$/;

export interface KeyScope {
  /** The trail's S3KeyPrefix, without a trailing slash; empty for none. */
  prefix?: string;
  /** Organization id (`o-…`) for organization trails. */
  organizationId?: string | null;
  accountId: string;
  region: string;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

function base(scope: KeyScope, folder: string, at: Date): string {
  const prefix = scope.prefix ? `${scope.prefix.replace(/\/+$/, '')}/` : '';
  const org = scope.organizationId ? `${scope.organizationId}/` : '';
  return `${prefix}AWSLogs/${org}${scope.accountId}/${folder}/${scope.region}/${at.getUTCFullYear()}/${pad(at.getUTCMonth() + 1)}/${pad(at.getUTCDate())}/`;
}

const stamp = (at: Date) => `${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}T${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}`;

/** The key of a log (or Insights) file delivered at `deliveredAt`. */
export function logFileKey(scope: KeyScope, deliveredAt: Date, uniqueString: string, kind: LogFileKind = 'CloudTrail'): string {
  if (!/^[A-Za-z0-9]{16}$/.test(uniqueString)) throw new Error(`unique string must be 16 alphanumerics, got ${uniqueString}`);
  return `${base(scope, kind, deliveredAt)}${scope.accountId}_${kind}_${scope.region}_${stamp(deliveredAt)}Z_${uniqueString}.json.gz`;
}

/** The key of the digest file whose digestEndTime is `endTime` (seconds precision). */
export function digestFileKey(scope: KeyScope, trailName: string, homeRegion: string, endTime: Date): string {
  return `${base(scope, 'CloudTrail-Digest', endTime)}${scope.accountId}_CloudTrail-Digest_${scope.region}_${trailName}_${homeRegion}_${stamp(endTime)}${pad(endTime.getUTCSeconds())}Z.json.gz`;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A 16-character unique string derived from data, not from a clock or a random generator, so that
 * re-processing the same records writes the same key (architecture.md, Delivery semantics).
 */
export function deterministicUniqueString(...parts: (string | number | bigint)[]): string {
  const digest = createHash('sha256').update(parts.join('\u0000')).digest();
  let out = '';
  for (let i = 0; i < 16; i++) out += ALPHABET[digest[i]! % ALPHABET.length];
  return out;
}

/** Account id of a log-file key: the text between the last `/` and the next `_` (CPL `extractAccountIdFromObjectKey`). */
export function accountIdOfKey(key: string): string {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return name.slice(0, name.indexOf('_'));
}
