import { LakeTableError } from './errors.js';
import { LAKE_PARTITION_COLUMN, lakeSchema, trinoType } from './schema.js';

export interface LakeTableLocation {
  /** The Trino catalog of the hive connector, e.g. `lake`. */
  catalog: string;
  /** The Trino schema (a Hive database), e.g. `opentrail`. */
  schema: string;
  /** The table, one per event data store, e.g. `eds_0f1c…`. */
  table: string;
  /** Where the store's objects are: `s3://<bucket>/<prefix>/<storeId>` (lakeObjectKey's folder). */
  location: string;
}

/** Names we generate: lower-case letters, digits and underscores, so quoting can never be escaped. */
const IDENTIFIER = /^[a-z0-9_]{1,128}$/;
/** An object-store URI (s3://, s3a://, gs://, …) with no quote, backslash, whitespace or control character. */
const LOCATION = /^[a-z][a-z0-9+.-]*:\/\/[^\s'"\\\p{Cc}]+$/u;

/**
 * The CREATE TABLE statement for the Lake table in Trino's hive connector: lakeSchema's columns,
 * then the partition column (Hive requires partition columns last), over Parquet files at
 * `location`. Every identifier is checked and quoted; a name outside [a-z0-9_] is refused with
 * LakeTableError INVALID_IDENTIFIER, a location that is not a plain URI with INVALID_LOCATION,
 * rather than escaped: we generate these names, so anything else is a bug upstream.
 *
 * New partitions become visible once registered (`CALL system.sync_partition_metadata` or
 * `register_partition`), which is the writer's concern, not this statement's.
 */
export function trinoTableDdl({ catalog, schema, table, location }: LakeTableLocation): string {
  const name = [identifier('catalog', catalog), identifier('schema', schema), identifier('table', table)].join('.');
  if (!LOCATION.test(location)) {
    throw new LakeTableError('INVALID_LOCATION', `location ${JSON.stringify(location)} is not a plain object-store URI such as s3://bucket/prefix`);
  }
  const columns = [...lakeSchema, LAKE_PARTITION_COLUMN].map((f) => `  ${quoted(f.name)} ${trinoType(f.type)}`);
  return [
    `CREATE TABLE ${name} (`,
    columns.join(',\n'),
    ')',
    'WITH (',
    `  external_location = '${location}',`,
    "  format = 'PARQUET',",
    `  partitioned_by = ARRAY['${LAKE_PARTITION_COLUMN.name}']`,
    ')',
  ].join('\n');
}

function identifier(what: string, name: string): string {
  if (!IDENTIFIER.test(name)) throw new LakeTableError('INVALID_IDENTIFIER', `${what} name ${JSON.stringify(name)} is not 1-128 of [a-z0-9_]`);
  return quoted(name);
}

const quoted = (name: string): string => `"${name}"`;

