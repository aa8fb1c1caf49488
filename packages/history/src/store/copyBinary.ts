/**
 * PostgreSQL's binary COPY format (https://www.postgresql.org/docs/15/sql-copy.html, "Binary
 * Format"), for the few column types the history tables have. Why binary: every value goes out as
 * length + bytes, with no escaping on this side and no parsing on the server's. The text forms cost
 * more on both: pg's array literals for the unnest insert took ~27 µs of node CPU per event (quoting
 * each 1.3 KB record), and array_in / COPY text re-scan every byte on the server
 * (bench/history-writer.bench.ts).
 */

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** 2000-01-01T00:00:00Z, PostgreSQL's timestamp epoch, in Unix milliseconds. */
const PG_EPOCH_MS = 946_684_800_000;
/** Strings up to this many UTF-16 units are tried as ASCII first (see text()). */
const SHORT_TEXT = 128;
/** The jsonb binary format's version byte. */
const JSONB_VERSION = 1;

export class BinaryCopyWriter {
  private buf: Buffer;
  private at = 0;

  constructor(initialBytes = 1 << 20) {
    // At least the header (19 bytes) and the trailer.
    this.buf = Buffer.allocUnsafe(Math.max(initialBytes, 64));
    this.buf.set(SIGNATURE, 0);
    this.at = SIGNATURE.length;
    this.buf.writeInt32BE(0, this.at); // flags: no OIDs
    this.buf.writeInt32BE(0, this.at + 4); // header extension length
    this.at += 8;
  }

  private reserve(bytes: number) {
    if (this.at + bytes <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  /** Starts a row of `fields` columns. */
  row(fields: number): this {
    this.reserve(2);
    this.buf.writeInt16BE(fields, this.at);
    this.at += 2;
    return this;
  }

  null(): this {
    this.reserve(4);
    this.buf.writeInt32BE(-1, this.at);
    this.at += 4;
    return this;
  }

  /** text (UTF-8: the server's encoding, which the history database is created with). */
  text(value: string | null): this {
    if (value === null) return this.null();
    const n = value.length;
    // A UTF-16 code unit is at most 3 UTF-8 bytes.
    this.reserve(4 + n * 3);
    const buf = this.buf;
    const start = this.at + 4;
    // Most columns are short ASCII (ids, names, regions): copied here byte by byte, which costs a
    // fraction of a call into Buffer#write (about 0.1 µs each, eleven or more per event). The first
    // non-ASCII unit hands the whole string to the UTF-8 encoder, which writes over what was copied.
    let i = 0;
    if (n <= SHORT_TEXT) {
      for (; i < n; i++) {
        const unit = value.charCodeAt(i);
        if (unit > 0x7f) break;
        buf[start + i] = unit;
      }
    }
    const bytes = i === n ? n : buf.write(value, start, 'utf8');
    buf.writeInt32BE(bytes, this.at);
    this.at = start + bytes;
    return this;
  }

  /** jsonb: a version byte, then the JSON text (which the server parses, as it would from text). */
  jsonb(json: string): this {
    this.reserve(5 + json.length * 3);
    this.buf[this.at + 4] = JSONB_VERSION;
    const n = this.buf.write(json, this.at + 5, 'utf8');
    this.buf.writeInt32BE(n + 1, this.at);
    this.at += 5 + n;
    return this;
  }

  boolean(value: boolean | null): this {
    if (value === null) return this.null();
    this.reserve(5);
    this.buf.writeInt32BE(1, this.at);
    this.buf[this.at + 4] = value ? 1 : 0;
    this.at += 5;
    return this;
  }

  /** timestamptz from Unix milliseconds: int64 microseconds since 2000-01-01 UTC. */
  timestamptz(ms: number): this {
    this.reserve(12);
    this.buf.writeInt32BE(8, this.at);
    const us = (ms - PG_EPOCH_MS) * 1000;
    if (Number.isSafeInteger(us)) {
      // Two 32-bit halves instead of a BigInt per row (years 1715 to 2285: every storable event).
      const high = Math.floor(us / 2 ** 32);
      this.buf.writeInt32BE(high, this.at + 4);
      this.buf.writeUInt32BE(us - high * 2 ** 32, this.at + 8);
    } else {
      this.buf.writeBigInt64BE(BigInt(ms - PG_EPOCH_MS) * 1000n, this.at + 4);
    }
    this.at += 12;
    return this;
  }

  /** The whole COPY stream: header, rows, trailer. The writer is not usable afterwards. */
  finish(): Buffer {
    this.reserve(2);
    this.buf.writeInt16BE(-1, this.at);
    this.at += 2;
    return this.buf.subarray(0, this.at);
  }
}
