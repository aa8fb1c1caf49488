import { crc32, inflateRawSync } from 'node:zlib';
import { OpentrailError } from '@opentrail/errors';

/**
 * Reads the first gzip member of a buffer the way the CLI does (zlib.decompressobj(MAX_WBITS|16)):
 * Node's gunzip silently goes on into following members, which would hide bytes appended after a
 * log file's compressed stream (a tampering the CLI reports), so the header is parsed here and the
 * raw deflate stream inflated on its own.
 */
export interface GzipMember {
  data: Buffer;
  /** Bytes after the member's 8-byte trailer. */
  trailing: number;
}

export class GzipFormatError extends OpentrailError<'NOT_GZIP'> {
  constructor(message: string) {
    super('NOT_GZIP', message);
  }
}

const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;

export function readGzipMember(buf: Buffer): GzipMember {
  if (buf.length < 18 || buf[0] !== 0x1f || buf[1] !== 0x8b || buf[2] !== 8) throw new GzipFormatError('not a gzip stream');
  const flags = buf[3]!;
  let at = 10;
  if (flags & FEXTRA) at += 2 + buf.readUInt16LE(at);
  const skipString = () => {
    const end = buf.indexOf(0, at);
    if (end < 0) throw new GzipFormatError('truncated gzip header');
    at = end + 1;
  };
  if (flags & FNAME) skipString();
  if (flags & FCOMMENT) skipString();
  if (flags & FHCRC) at += 2;
  let result: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    result = inflateRawSync(buf.subarray(at), { info: true }) as unknown as typeof result;
  } catch (err) {
    throw new GzipFormatError(`corrupt gzip stream: ${(err as Error).message}`);
  }
  const end = at + result.engine.bytesWritten;
  if (end + 8 > buf.length) throw new GzipFormatError('truncated gzip trailer');
  if (buf.readUInt32LE(end) !== crc32(result.buffer)) throw new GzipFormatError('gzip CRC mismatch');
  if (buf.readUInt32LE(end + 4) !== result.buffer.length % 2 ** 32) throw new GzipFormatError('gzip length mismatch');
  return { data: result.buffer, trailing: buf.length - (end + 8) };
}
