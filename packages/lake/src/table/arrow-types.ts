import { Bool, type DataType, Field, List, Map_, Schema, Struct, TimestampMillisecond, Utf8 } from 'apache-arrow';
import { type LakeType, lakeSchema } from './schema.js';

/**
 * The Arrow types the Parquet files are written with: the one place they are chosen, so that what
 * Trino's hive connector reads best can be switched here without touching anything else.
 *
 * - VARCHAR → Utf8 (Parquet BYTE_ARRAY, STRING).
 * - BOOLEAN → Bool.
 * - TIMESTAMP(3) → Timestamp(MILLISECOND) without a time zone: Parquet INT64 TIMESTAMP(MILLIS,
 *   isAdjustedToUTC=false). The value is the UTC wall-clock time, which is what Trino's
 *   `timestamp(3)` (no zone) means in Lake's queries (`eventtime >= '2023-01-05 13:51:00'` is UTC).
 *   Open: whether isAdjustedToUTC=true reads the same in the hive connector; the other engineer's
 *   Trino check decides.
 * - MAP(VARCHAR, VARCHAR) → Map_ of a non-null Utf8 key and a nullable Utf8 value. Arrow JS names
 *   the entries `entries` whatever it is given, so the Parquet MAP's repeated group is `entries`
 *   rather than the spec's suggested `key_value`; readers go by the MAP annotation, not the name.
 * - ROW → Struct; ARRAY → List whose element is named `element`: the file holds the standard
 *   three-level LIST (`resources.list.element.arn`).
 *
 * Every column and member is nullable: any of them may be absent from a record.
 */
export const LAKE_ARROW_TYPES = {
  varchar: (): DataType => new Utf8(),
  boolean: (): DataType => new Bool(),
  timestamp: (): DataType => new TimestampMillisecond(null),
  map: (): DataType =>
    new Map_<Utf8, Utf8>(new Field('entries', new Struct<{ key: Utf8; value: Utf8 }>([new Field('key', new Utf8(), false), new Field('value', new Utf8(), true)]), false), false),
  row: (children: Field[]): DataType => new Struct(children),
  array: (element: DataType): DataType => new List(new Field('element', element, true)),
} as const;

/** The Arrow type of a Lake type, per LAKE_ARROW_TYPES. */
export function lakeArrowType(type: LakeType): DataType {
  switch (type.kind) {
    case 'varchar':
    case 'boolean':
    case 'timestamp':
    case 'map':
      return LAKE_ARROW_TYPES[type.kind]();
    case 'row':
      return LAKE_ARROW_TYPES.row(type.fields.map((f) => new Field(f.name, lakeArrowType(f.type), true)));
    case 'array':
      return LAKE_ARROW_TYPES.array(lakeArrowType(type.element));
  }
}

/** The Arrow schema of a Lake Parquet file: the data columns; the partition column is in the path. */
export const lakeArrowSchema: Schema = new Schema(lakeSchema.map((f) => new Field(f.name, lakeArrowType(f.type), true)));
