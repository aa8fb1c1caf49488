import { makeData, RecordBatch, Struct, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { Compression, readParquet, Table as WasmTable, writeParquet, WriterPropertiesBuilder } from 'parquet-wasm';
import { lakeArrowSchema } from './arrow-types.js';
import { columnData } from './columns.js';
import { LakeTableError } from './errors.js';
import type { LakeFileRow, LakeRow } from './row.js';
import { type LakeField, type LakeType, lakeSchema } from './schema.js';

/**
 * Rows per row group at most. A file is one row group unless it is larger: Trino splits work by
 * row group, and 100k CloudTrail events (~10 MB of Parquet) is plenty for one reader thread.
 */
export const LAKE_ROW_GROUP_ROWS = 100_000;

/**
 * Lake rows of one partition (one eventdate) as the bytes of one Parquet file, ZSTD-compressed.
 * The eventdate column is not stored: Hive derives it from the object path (lakeObjectKey).
 * Throws LakeTableError MIXED_PARTITIONS when the rows are of more than one eventdate, since the
 * file could then only be filed under a day some of its rows do not belong to.
 */
export function encodeLakeParquet(rows: readonly LakeRow[]): Uint8Array {
  const days = new Set(rows.map((r) => r.eventdate));
  if (days.size > 1) {
    throw new LakeTableError('MIXED_PARTITIONS', `one Lake file holds one eventdate; these rows have ${[...days].slice(0, 3).map(String).join(', ')}${days.size > 3 ? ', …' : ''}`);
  }
  const columns = lakeArrowSchema.fields.map((field) => columnData(rows.map((r) => r[field.name as keyof LakeFileRow]), field.type));
  const batch = new RecordBatch(lakeArrowSchema, makeData({ type: new Struct(lakeArrowSchema.fields), length: rows.length, nullCount: 0, children: columns }));
  const properties = new WriterPropertiesBuilder()
    .setCompression(Compression.ZSTD)
    .setMaxRowGroupSize(LAKE_ROW_GROUP_ROWS)
    .setCreatedBy('opentrail lake')
    .build();
  // writeParquet takes the wasm table (and the properties) over: nothing is left to free here.
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(new Table(batch), 'stream')), properties);
}

/**
 * The rows of a Lake Parquet file, without eventdate (it is in the object's path, not the file).
 * Throws LakeTableError NOT_A_LAKE_FILE when the file's columns are not lakeSchema's.
 */
export function decodeLakeParquet(bytes: Uint8Array): LakeFileRow[] {
  let table: Table;
  try {
    table = tableFromIPC(readParquet(bytes).intoIPCStream());
  } catch (cause) {
    throw new LakeTableError('NOT_A_LAKE_FILE', 'not a readable Parquet file', { cause });
  }
  const names = table.schema.fields.map((f) => f.name);
  if (names.length !== lakeSchema.length || names.some((name, i) => name !== lakeSchema[i]!.name)) {
    throw new LakeTableError('NOT_A_LAKE_FILE', `the file's columns are not the Lake table's: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}`);
  }
  const columns = lakeSchema.map((field, i) => [field, table.getChildAt(i)!] as const);
  const rows: LakeFileRow[] = [];
  for (let index = 0; index < table.numRows; index++) {
    const row: Record<string, unknown> = {};
    for (const [field, column] of columns) row[field.name] = fromArrow(column.get(index), field.type);
    rows.push(row as unknown as LakeFileRow);
  }
  return rows;
}

/** An Arrow value (StructRow, MapRow, Vector, …) back as the plain value toLakeRow builds. */
function fromArrow(value: unknown, type: LakeType): unknown {
  if (value === null || value === undefined) return null;
  switch (type.kind) {
    case 'varchar':
    case 'boolean':
      return value;
    case 'timestamp':
      // Arrow JS gives milliseconds as a number for TimestampMillisecond.
      return Number(value);
    case 'map': {
      const entries = new Map<string, string | null>();
      for (const [key, entry] of value as Iterable<[string, string | null]>) entries.set(key, entry ?? null);
      return entries;
    }
    case 'row':
      return fromStruct(value as Record<string, unknown>, type.fields);
    case 'array':
      return Array.from(value as Iterable<unknown>, (element) => fromArrow(element, type.element));
  }
}

function fromStruct(struct: Record<string, unknown>, fields: readonly LakeField[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) out[field.name] = fromArrow(struct[field.name], field.type);
  return out;
}
