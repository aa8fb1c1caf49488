import { OpentrailError } from '@opentrail/errors';

/**
 * Errors of the table layer. All are the caller's fault (a name we would never generate, rows of
 * two days in one file, bytes that are not one of our files): none is worth retrying.
 *
 * - INVALID_IDENTIFIER: a catalog, schema or table name outside [a-z0-9_] (trinoTableDdl).
 * - INVALID_LOCATION: a table location that is not a plain object-store URI (trinoTableDdl).
 * - INVALID_OBJECT_KEY_PART: a prefix, store id, day, partition or offset that would make an
 *   ambiguous or non-deterministic object key (lakeObjectKey).
 * - MIXED_PARTITIONS: rows of more than one eventdate given for one file (encodeLakeParquet).
 * - NOT_A_LAKE_FILE: Parquet bytes that do not hold the Lake table's columns (decodeLakeParquet).
 */
export type LakeTableErrorCode = 'INVALID_IDENTIFIER' | 'INVALID_LOCATION' | 'INVALID_OBJECT_KEY_PART' | 'MIXED_PARTITIONS' | 'NOT_A_LAKE_FILE';

export class LakeTableError extends OpentrailError<LakeTableErrorCode> {}
