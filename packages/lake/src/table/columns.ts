import { type Bool, type Data, DataType, type Field, type List, makeData, type Map_, type Struct, type Timestamp, TimeUnit, type Utf8, vectorFromArray } from 'apache-arrow';

/**
 * Arrow column data from row values, written straight into Arrow's buffers.
 *
 * Arrow JS's generic builders (vectorFromArray) cost ~100 µs per Lake row, most of the time it
 * takes to write a file; filling offsets, validity bitmaps and one UTF-8 buffer per string column
 * directly is several times faster. The layouts are Arrow's columnar format
 * (arrow.apache.org/docs/format/Columnar.html). The builder goes by the Arrow type, not by
 * LakeType, so that a switch in LAKE_ARROW_TYPES is followed here; a type it does not know falls
 * back to vectorFromArray rather than being written wrongly.
 *
 * Values are what toLakeRow produces: string | null, boolean | null, epoch milliseconds | null,
 * ReadonlyMap<string, string | null> | null, plain objects keyed by field name, arrays.
 */
export function columnData(values: readonly unknown[], type: DataType): Data {
  if (DataType.isUtf8(type)) return utf8Data(values as readonly (string | null)[], type);
  if (DataType.isBool(type)) return boolData(values as readonly (boolean | null)[], type);
  if (DataType.isTimestamp(type)) return timestampData(values as readonly (number | null)[], type);
  if (DataType.isStruct(type)) return structData(values as readonly (Record<string, unknown> | null)[], type);
  if (DataType.isMap(type)) return mapData(values as readonly (ReadonlyMap<string, string | null> | null)[], type);
  if (DataType.isList(type)) return listData(values as readonly (readonly unknown[] | null)[], type);
  return vectorFromArray(values as unknown[], type).data[0]!;
}

/** The validity bitmap (bit set = value present, LSB first) and the count of nulls. */
function validity(values: readonly unknown[]): { nullBitmap: Uint8Array; nullCount: number } {
  const nullBitmap = new Uint8Array((values.length + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] === null || values[i] === undefined) nullCount++;
    else nullBitmap[i >> 3]! |= 1 << (i & 7);
  }
  return { nullBitmap, nullCount };
}

/** Arrow's Utf8 offsets are int32: a column chunk of more than 2 GiB of text cannot be one array. */
const MAX_UTF8_BYTES = 2 ** 31 - 1;

function utf8Data(values: readonly (string | null)[], type: DataType): Data {
  let total = 0;
  for (const v of values) if (typeof v === 'string') total += Buffer.byteLength(v, 'utf8');
  if (total > MAX_UTF8_BYTES) throw new RangeError(`a Lake string column of ${total} bytes exceeds Arrow's 2 GiB per array`);
  const data = Buffer.allocUnsafe(total);
  const valueOffsets = new Int32Array(values.length + 1);
  let at = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // Lone surrogates become U+FFFD here as with TextEncoder; toLakeRow has already done so.
    if (typeof v === 'string') at += data.write(v, at, 'utf8');
    valueOffsets[i + 1] = at;
  }
  return makeData({ type: type as Utf8, length: values.length, ...validity(values), valueOffsets, data: new Uint8Array(data.buffer, data.byteOffset, at) });
}

function boolData(values: readonly (boolean | null)[], type: DataType): Data {
  const data = new Uint8Array((values.length + 7) >> 3);
  for (let i = 0; i < values.length; i++) if (values[i] === true) data[i >> 3]! |= 1 << (i & 7);
  return makeData({ type: type as Bool, length: values.length, ...validity(values), data });
}

/** Epoch milliseconds in the type's unit (the values are whole milliseconds). */
function timestampData(values: readonly (number | null)[], type: DataType): Data {
  const { unit } = type as Timestamp;
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number') continue;
    const millis = BigInt(Math.trunc(v));
    data[i] = unit === TimeUnit.SECOND ? millis / 1000n : unit === TimeUnit.MILLISECOND ? millis : unit === TimeUnit.MICROSECOND ? millis * 1000n : millis * 1_000_000n;
  }
  return makeData({ type: type as Timestamp, length: values.length, ...validity(values), data });
}

function structData(values: readonly (Record<string, unknown> | null)[], type: DataType): Data {
  const fields = type.children;
  // Children have the parent's length; under a null parent their values are null too.
  const children = fields.map((field) => columnData(values.map((v) => (v === null || v === undefined ? null : (v[field.name] ?? null))), field.type));
  return makeData({ type: type as Struct, length: values.length, ...validity(values), children });
}

function mapData(values: readonly (ReadonlyMap<string, string | null> | null)[], type: DataType): Data {
  const entriesField = type.children[0]!;
  const [keyField, valueField] = entriesField.type.children as [Field, Field];
  const keys: string[] = [];
  const entryValues: (string | null)[] = [];
  const valueOffsets = new Int32Array(values.length + 1);
  for (let i = 0; i < values.length; i++) {
    const map = values[i];
    if (map) {
      for (const [key, value] of map) {
        keys.push(key);
        entryValues.push(value);
      }
    }
    valueOffsets[i + 1] = keys.length;
  }
  const entries = makeData({ type: entriesField.type as Struct, length: keys.length, nullCount: 0, children: [columnData(keys, keyField.type), columnData(entryValues, valueField.type)] });
  return makeData({ type: type as Map_, length: values.length, ...validity(values), valueOffsets, child: entries });
}

function listData(values: readonly (readonly unknown[] | null)[], type: DataType): Data {
  const elementField = type.children[0]!;
  const elements: unknown[] = [];
  const valueOffsets = new Int32Array(values.length + 1);
  for (let i = 0; i < values.length; i++) {
    const list = values[i];
    if (list) for (const element of list) elements.push(element);
    valueOffsets[i + 1] = elements.length;
  }
  return makeData({ type: type as List, length: values.length, ...validity(values), valueOffsets, child: columnData(elements, elementField.type) });
}
