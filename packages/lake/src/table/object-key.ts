import { LakeTableError } from './errors.js';
import { LAKE_PARTITION_COLUMN } from './schema.js';

export interface LakeObjectKeyParts {
  /** The bucket's key prefix for all stores, without leading or trailing slash: `lake` or `a/b`. */
  prefix: string;
  /** The event data store's id. */
  storeId: string;
  /** The partition's day, 'YYYY-MM-DD' (LakeRow.eventdate). */
  day: string;
  /** The Kafka partition the file's events came from. */
  partition: number;
  /** The offset of the file's first event in that partition. */
  firstOffset: bigint | number;
}

/** Characters S3 documents as safe in keys, segments separated by single slashes. */
const PREFIX = /^[A-Za-z0-9!_.*'()-]+(?:\/[A-Za-z0-9!_.*'()-]+)*$/;
const STORE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const MAX_OFFSET = 2n ** 63n - 1n;

/**
 * The S3 key of a Lake file: `<prefix>/<storeId>/eventdate=<day>/<partition>-<firstOffset>.parquet`,
 * the offset zero-padded to 20 digits (an int64's width) so that keys sort in offset order.
 *
 * A function of the file's content only (which events, from where): a writer that crashed after
 * the upload and runs again from the same offset writes the same key, and so overwrites the
 * object instead of adding a duplicate. `eventdate=` is the Hive partition folder trinoTableDdl's
 * partitioned_by reads. Parts that would make the key ambiguous (`..`, a slash in the store id,
 * a day that is not a date, a negative or fractional number) are refused with LakeTableError
 * INVALID_OBJECT_KEY_PART.
 */
export function lakeObjectKey({ prefix, storeId, day, partition, firstOffset }: LakeObjectKeyParts): string {
  if (!PREFIX.test(prefix) || prefix.split('/').some((segment) => segment === '.' || segment === '..')) {
    refuse('prefix', prefix, 'slash-separated segments of S3-safe characters, none "." or ".."');
  }
  if (!STORE_ID.test(storeId)) refuse('storeId', storeId, '1-128 of [A-Za-z0-9_-], starting with a letter or digit');
  if (!isDay(day)) refuse('day', day, 'a date, YYYY-MM-DD');
  if (!Number.isSafeInteger(partition) || partition < 0) refuse('partition', partition, 'a non-negative integer');
  const offset = typeof firstOffset === 'bigint' ? firstOffset : Number.isSafeInteger(firstOffset) ? BigInt(firstOffset) : -1n;
  if (offset < 0n || offset > MAX_OFFSET) refuse('firstOffset', firstOffset, 'a non-negative 64-bit integer');
  return `${prefix}/${storeId}/${LAKE_PARTITION_COLUMN.name}=${day}/${partition}-${offset.toString().padStart(20, '0')}.parquet`;
}

function isDay(day: string): boolean {
  const m = DAY.exec(day);
  if (m === null) return false;
  const [year, month, date] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const parsed = new Date(Date.UTC(2000, month - 1, date));
  parsed.setUTCFullYear(year);
  return year >= 1 && parsed.getUTCFullYear() === year && parsed.getUTCMonth() === month - 1 && parsed.getUTCDate() === date;
}

function refuse(part: string, value: unknown, expected: string): never {
  const shown = typeof value === 'bigint' ? `${value}n` : JSON.stringify(value);
  throw new LakeTableError('INVALID_OBJECT_KEY_PART', `lakeObjectKey: ${part} ${shown} is not ${expected}`);
}
