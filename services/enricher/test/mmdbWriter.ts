/**
 * A minimal MaxMind DB writer for tests: builds small mmdb files in either schema (ip-location-db's
 * flat records, GeoIP2 City, GeoLite2 ASN), so tests can swap databases and know every answer.
 * Format: https://maxmind.github.io/MaxMind-DB/ (search tree with 32-bit records, 16-byte data
 * section separator, data section, metadata after the "\xAB\xCD\xEFMaxMind.com" marker).
 * No npm package writes mmdb files, hence this.
 */
import { isIP } from 'node:net';

export type MmdbValue = string | number | boolean | MmdbValue[] | { [key: string]: MmdbValue };

export interface MmdbNetwork {
  /** CIDR, e.g. 81.2.69.0/24 or 2a02:1234::/32 */
  network: string;
  data: MmdbValue;
}

export interface MmdbOptions {
  ipVersion: 4 | 6;
  databaseType: string;
  /** Seconds since the epoch. @default now */
  buildEpoch?: number;
  networks: MmdbNetwork[];
}

type Rec = { kind: 'node'; index: number } | { kind: 'data'; offset: number } | { kind: 'empty' };

const METADATA_MARKER = Buffer.from('ABCDEF4D61784D696E642E636F6D', 'hex');

export function writeMmdb(options: MmdbOptions): Buffer {
  const nodes: [Rec, Rec][] = [[{ kind: 'empty' }, { kind: 'empty' }]];
  const data: Buffer[] = [];
  const offsets = new Map<string, number>();
  let dataSize = 0;
  const dataOffset = (value: MmdbValue) => {
    const key = JSON.stringify(value);
    let offset = offsets.get(key);
    if (offset === undefined) {
      const encoded = encode(value);
      offset = dataSize;
      data.push(encoded);
      dataSize += encoded.length;
      offsets.set(key, offset);
    }
    return offset;
  };

  for (const { network, data: value } of options.networks) {
    const [address, prefixText] = network.split('/') as [string, string];
    let bits = addressBits(address);
    let prefix = Number(prefixText);
    if (bits.length === 32 && options.ipVersion === 6) {
      // IPv4 networks live under ::/96 in an IPv6 tree.
      bits = [...new Array<number>(96).fill(0), ...bits];
      prefix += 96;
    }
    if (bits.length === 128 && options.ipVersion === 4) throw new Error(`${network}: IPv6 network in an IPv4 database`);
    const offset = dataOffset(value);
    let node = 0;
    for (let i = 0; i < prefix; i++) {
      const bit = bits[i]!;
      if (i === prefix - 1) {
        nodes[node]![bit] = { kind: 'data', offset };
        break;
      }
      const rec = nodes[node]![bit]!;
      if (rec.kind === 'node') {
        node = rec.index;
        continue;
      }
      nodes.push([rec, rec]);
      const index = nodes.length - 1;
      nodes[node]![bit] = { kind: 'node', index };
      node = index;
    }
  }

  const nodeCount = nodes.length;
  const tree = Buffer.alloc(nodeCount * 8);
  const value = (rec: Rec) => (rec.kind === 'node' ? rec.index : rec.kind === 'empty' ? nodeCount : nodeCount + 16 + rec.offset);
  nodes.forEach(([left, right], i) => {
    tree.writeUInt32BE(value(left), i * 8);
    tree.writeUInt32BE(value(right), i * 8 + 4);
  });
  const metadata = encode({
    node_count: nodeCount,
    record_size: 32,
    ip_version: options.ipVersion,
    database_type: options.databaseType,
    languages: ['en'],
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: options.buildEpoch ?? Math.floor(Date.now() / 1000),
    description: { en: `opentrail test database ${options.databaseType}` },
  });
  return Buffer.concat([tree, Buffer.alloc(16), ...data, METADATA_MARKER, metadata]);
}

function addressBits(address: string): number[] {
  const family = isIP(address);
  const bytes: number[] = [];
  if (family === 4) bytes.push(...address.split('.').map(Number));
  else if (family === 6) {
    const [head, tail] = address.split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
    for (const g of groups) {
      const n = parseInt(g, 16);
      bytes.push(n >> 8, n & 0xff);
    }
  } else throw new Error(`not an address: ${address}`);
  return bytes.flatMap((b) => [7, 6, 5, 4, 3, 2, 1, 0].map((s) => (b >> s) & 1));
}

function control(type: number, size: number): Buffer {
  const head: number[] = [];
  let sizeBits: number;
  const extra: number[] = [];
  if (size < 29) sizeBits = size;
  else if (size < 285) {
    sizeBits = 29;
    extra.push(size - 29);
  } else if (size < 65_821) {
    sizeBits = 30;
    extra.push((size - 285) >> 8, (size - 285) & 0xff);
  } else {
    sizeBits = 31;
    const s = size - 65_821;
    extra.push((s >> 16) & 0xff, (s >> 8) & 0xff, s & 0xff);
  }
  if (type <= 7) head.push((type << 5) | sizeBits);
  else head.push(sizeBits, type - 7);
  return Buffer.from([...head, ...extra]);
}

function unsigned(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  while (v > 0) {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  }
  return Buffer.from(bytes);
}

function encode(value: MmdbValue): Buffer {
  if (typeof value === 'string') {
    const body = Buffer.from(value, 'utf8');
    return Buffer.concat([control(2, body.length), body]);
  }
  if (typeof value === 'boolean') return control(14, value ? 1 : 0);
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value < 2 ** 32) {
      const body = unsigned(value);
      return Buffer.concat([control(6, body.length), body]);
    }
    const body = Buffer.alloc(8);
    body.writeDoubleBE(value);
    return Buffer.concat([control(3, 8), body]);
  }
  if (Array.isArray(value)) return Buffer.concat([control(11, value.length), ...value.map(encode)]);
  const entries = Object.entries(value);
  return Buffer.concat([control(7, entries.length), ...entries.flatMap(([k, v]) => [encode(k), encode(v)])]);
}

/** A GeoIP2 City record (the schema of MaxMind's GeoLite2-City and GeoIP2-City). */
export function geoip2City(fields: { country: string; subdivision?: string; city?: string; latitude: number; longitude: number; timeZone?: string }): MmdbValue {
  return {
    country: { iso_code: fields.country, names: { en: fields.country } },
    ...(fields.subdivision ? { subdivisions: [{ iso_code: 'X', names: { en: fields.subdivision } }] } : {}),
    ...(fields.city ? { city: { names: { en: fields.city } } } : {}),
    location: { latitude: fields.latitude, longitude: fields.longitude, accuracy_radius: 100, ...(fields.timeZone ? { time_zone: fields.timeZone } : {}) },
  };
}
