import { tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';
import { Compression, ParquetFile, readParquet, Table as WasmTable, writeParquet } from 'parquet-wasm';
import { describe, expect, it } from 'vitest';
import { decodeLakeParquet, encodeLakeParquet, lakeArrowSchema, LakeTableError, toLakeRow, type LakeFileRow, type LakeRow } from '../../src/index.js';
import { realLookingRecords } from './records.js';

/** The row as the file holds it: everything but the partition column, which is in the path. */
function fileRow(row: LakeRow): LakeFileRow {
  const { eventdate: _, ...rest } = row;
  return rest;
}

/** The same record on another day, so that each file test has one eventdate. */
function onDay(day: string, rows: LakeRow[]): LakeRow[] {
  return rows.map((row) => ({ ...row, eventdate: day }));
}

function refusal(run: () => unknown): LakeTableError {
  try {
    run();
  } catch (error) {
    if (error instanceof LakeTableError) return error;
    throw error;
  }
  throw new Error('expected a LakeTableError');
}

describe('encodeLakeParquet / decodeLakeParquet', () => {
  it('round-trips each real-looking record exactly', () => {
    for (const [name, record] of Object.entries(realLookingRecords)) {
      const row = toLakeRow(record);
      const decoded = decodeLakeParquet(encodeLakeParquet([row]));
      expect(decoded, name).toStrictEqual([fileRow(row)]);
    }
  });

  it('round-trips many rows of one day in one file, nulls and empty maps and lists included', () => {
    const rows = onDay('2026-12-07', Object.values(realLookingRecords).map((r) => toLakeRow(r)));
    rows.push({ ...rows[0]!, requestparameters: new Map(), resources: [], useridentity: null, eventtime: null });
    const decoded = decodeLakeParquet(encodeLakeParquet(rows));
    expect(decoded).toStrictEqual(rows.map(fileRow));
  });

  it('writes the Arrow types of lakeArrowSchema, without the partition column', () => {
    const bytes = encodeLakeParquet([toLakeRow(realLookingRecords.assumedRoleGetObject)]);
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('PAR1');
    const table = tableFromIPC(readParquet(bytes).intoIPCStream());
    expect(table.schema.fields.map((f) => `${f.name}: ${String(f.type)}`)).toEqual(lakeArrowSchema.fields.map((f) => `${f.name}: ${String(f.type)}`));
    expect(table.schema.fields.some((f) => f.name === 'eventdate')).toBe(false);
    expect(String(table.schema.fields.find((f) => f.name === 'eventtime')!.type)).toBe('Timestamp<MILLISECOND>');
  });

  it('writes one row group, every column chunk ZSTD-compressed', async () => {
    const rows = onDay('2026-12-07', Object.values(realLookingRecords).map((r) => toLakeRow(r)));
    const meta = (await ParquetFile.fromFile(new Blob([encodeLakeParquet(rows)]))).metadata();
    expect([meta.numRowGroups(), meta.fileMetadata().numRows()]).toEqual([1, rows.length]);
    const chunks = meta.rowGroup(0).columns();
    expect(new Set(chunks.map((c) => c.compression()))).toEqual(new Set([Compression.ZSTD]));
    // Leaf paths: nested rows, maps and the three-level list as Parquet stores them.
    const paths = chunks.map((c) => c.columnPath().join('.'));
    expect(paths).toContain('useridentity.sessioncontext.sessionissuer.arn');
    expect(paths).toContain('requestparameters.entries.value');
    expect(paths).toContain('resources.list.element.arnprefix');
    expect(paths.some((p) => p.startsWith('eventdate'))).toBe(false);
  });

  it('writes an empty file for no rows, and reads it back as none', () => {
    expect(decodeLakeParquet(encodeLakeParquet([]))).toEqual([]);
  });

  it('refuses rows of more than one eventdate for one file', () => {
    const rows = [toLakeRow(realLookingRecords.iamUserStartLogging), toLakeRow(realLookingRecords.accessDenied)];
    expect(refusal(() => encodeLakeParquet(rows)).code).toBe('MIXED_PARTITIONS');
  });

  it('refuses bytes that are not a Lake file', () => {
    expect(refusal(() => decodeLakeParquet(new TextEncoder().encode('not parquet'))).code).toBe('NOT_A_LAKE_FILE');
    const truncated = encodeLakeParquet([toLakeRow(realLookingRecords.iamUserStartLogging)]).subarray(0, 100);
    expect(refusal(() => decodeLakeParquet(truncated)).code).toBe('NOT_A_LAKE_FILE');
    const foreign = writeParquet(WasmTable.fromIPCStream(tableToIPC(tableFromArrays({ eventversion: ['1.09'], other: [1] }), 'stream')));
    expect(refusal(() => decodeLakeParquet(foreign)).code).toBe('NOT_A_LAKE_FILE');
  });
});
