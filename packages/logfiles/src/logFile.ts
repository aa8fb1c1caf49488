import { createHash, type Hash } from 'node:crypto';
import { constants, crc32, deflateRawSync } from 'node:zlib';

/**
 * One CloudTrail log file being built (cloudtrail-spec.md §1.1, §2.1): `{"Records":[...]}` as one
 * gzip member, compressed while records arrive so that its size is known at every moment and memory
 * holds compressed bytes, not records.
 *
 * Records collect as JSON text until `chunkBytes`, then that chunk is deflated on its own and ended
 * with a sync flush (an empty stored block, byte-aligned, not final). Such chunks concatenate into
 * one valid deflate stream (how pigz compresses in parallel); closing adds the final empty block and
 * the gzip header and trailer (CRC-32 and length, RFC 1952). No zlib stream stays open per group:
 * a deflate stream holds about 256 KB of state, which 10,000 open groups could not afford.
 */

/** RFC 1952 header: magic, CM=8 (deflate), no flags, MTIME 0, XFL 0, OS 3 (Unix). */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]);
/** A final (BFINAL=1) fixed-Huffman block holding only end-of-block: ends the deflate stream. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);
const TRAILER_BYTES = 8;
const OPEN = '{"Records":[';
const CLOSE = ']}';

/** An upper bound of the deflated size of `n` bytes with a sync flush (zlib's deflateBound, rounded up generously). */
export function deflateBound(n: number): number {
  return n + (n >>> 10) + 64;
}

export interface RecordMeta {
  /** Input offset of the record. */
  offset: bigint;
  /** Kafka timestamp of the record (ms). */
  timestampMs: number;
  /** Its eventTime (ms), for the oldest/newest fields and the delivery latency. */
  eventTimeMs: number;
}

/** A closed file, ready to upload: the gzip bytes and what the delivery record says about them. */
export interface ClosedLogFile {
  body: Buffer;
  sha256: string;
  records: number;
  uncompressedBytes: number;
  firstOffset: bigint;
  lastOffset: bigint;
  /** Kafka timestamp of the first record: the key's date (deterministic: re-processing gives the same key). */
  firstTimestampMs: number;
  oldestEventTimeMs: number;
  newestEventTimeMs: number;
  /** eventTime of every record (ms), for the end-to-end latency histogram. */
  eventTimes: Float64Array;
}

export class LogFileBuilder {
  private raw: string[] = [];
  private rawLength = 0;
  private readonly chunks: Buffer[] = [];
  private compressed = 0;
  private readonly hash: Hash = createHash('sha256');
  private crc = 0;
  private uncompressed = 0;
  private eventTimes = new Float64Array(8);
  records = 0;
  readonly firstOffset: bigint;
  lastOffset: bigint;
  readonly firstTimestampMs: number;
  /** Wall-clock time the first record was buffered: the roll interval counts from here. */
  readonly openedAtMs: number;
  private oldest = Infinity;
  private newest = -Infinity;

  constructor(
    first: RecordMeta,
    openedAtMs: number,
    private readonly level: number,
  ) {
    this.firstOffset = first.offset;
    this.lastOffset = first.offset;
    this.firstTimestampMs = first.timestampMs;
    this.openedAtMs = openedAtMs;
  }

  /** Bytes this file holds in memory. */
  get memoryBytes(): number {
    return this.rawLength + this.compressed + this.eventTimes.byteLength;
  }

  /** Uncompressed bytes not yet compressed. */
  get pendingBytes(): number {
    return this.rawLength;
  }

  /** The most the file can weigh compressed if it were closed now with `extra` more uncompressed bytes. */
  projectedBytes(extra = 0): number {
    return GZIP_HEADER.length + this.compressed + deflateBound(this.rawLength + extra + CLOSE.length) + 5 + FINAL_BLOCK.length + TRAILER_BYTES;
  }

  /** Adds one record's JSON text (`bytes`: its UTF-8 length). */
  append(json: string, bytes: number, meta: RecordMeta): void {
    if (this.records === 0) {
      this.raw.push(OPEN, json);
      this.rawLength += OPEN.length + bytes;
    } else {
      this.raw.push(',', json);
      this.rawLength += 1 + bytes;
    }
    if (this.records === this.eventTimes.length) {
      const grown = new Float64Array(this.eventTimes.length * 2);
      grown.set(this.eventTimes);
      this.eventTimes = grown;
    }
    this.eventTimes[this.records] = meta.eventTimeMs;
    this.records++;
    this.lastOffset = meta.offset;
    if (meta.eventTimeMs < this.oldest) this.oldest = meta.eventTimeMs;
    if (meta.eventTimeMs > this.newest) this.newest = meta.eventTimeMs;
  }

  /** Compresses what is pending into one more chunk of the deflate stream. */
  compact(): void {
    if (this.rawLength === 0) return;
    const bytes = Buffer.from(this.raw.join(''), 'utf8');
    this.raw = [];
    this.rawLength = 0;
    this.hash.update(bytes);
    this.crc = crc32(bytes, this.crc);
    this.uncompressed += bytes.length;
    const chunk = deflateRawSync(bytes, { level: this.level, finishFlush: constants.Z_SYNC_FLUSH });
    this.chunks.push(chunk);
    this.compressed += chunk.length;
  }

  /** Closes the file: the single-member gzip bytes and their description. The builder is spent. */
  close(): ClosedLogFile {
    this.raw.push(CLOSE);
    this.rawLength += CLOSE.length;
    this.compact();
    const trailer = Buffer.allocUnsafe(TRAILER_BYTES);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    // ISIZE is the length modulo 2^32 (RFC 1952).
    trailer.writeUInt32LE(this.uncompressed % 2 ** 32, 4);
    const body = Buffer.concat([GZIP_HEADER, ...this.chunks, FINAL_BLOCK, trailer]);
    this.chunks.length = 0;
    this.compressed = 0;
    return {
      body,
      sha256: this.hash.digest('hex'),
      records: this.records,
      uncompressedBytes: this.uncompressed,
      firstOffset: this.firstOffset,
      lastOffset: this.lastOffset,
      firstTimestampMs: this.firstTimestampMs,
      oldestEventTimeMs: this.oldest,
      newestEventTimeMs: this.newest,
      eventTimes: this.eventTimes.subarray(0, this.records),
    };
  }
}
