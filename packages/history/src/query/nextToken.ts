import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { HistoryQueryError } from './errors.js';
import type { Micros } from './timeRange.js';

/**
 * NextToken (cloudtrail-spec.md §5.1: "must be reused with identical parameters"): opaque to the
 * client, bound to the query it continues and unforgeable. The token carries the keyset position
 * (the last event's time and id: pages are `(event_time, event_id) < position`, never OFFSET), a
 * digest of the query's parameters, and an expiry, authenticated with an HMAC under a server
 * secret. A token from another query, another region or operation, an edited, truncated or expired
 * token is refused with InvalidNextTokenException. MaxResults is not bound: a position means the
 * same thing whatever the page size, and SDK paginators may change it between pages.
 */
export interface Position {
  time: Micros;
  eventId: string;
}

const INVALID = () => new HistoryQueryError('InvalidNextTokenException', 'Invalid NextToken');
const EXPIRED = () => new HistoryQueryError('InvalidNextTokenException', 'The NextToken has expired; run the query again without it');
// A token's size is bounded by the event id it carries; anything much larger is not ours.
const MAX_TOKEN_LENGTH = 2048;

export interface NextTokenCodecOptions {
  /** At least 32 bytes; shared by every API instance so that any of them continues a query. */
  secret: Buffer;
  ttlSeconds: number;
  now?: () => number;
}

export class NextTokenCodec {
  private readonly now: () => number;

  constructor(private readonly o: NextTokenCodecOptions) {
    if (o.secret.length < 32) throw new Error('the NextToken secret must be at least 32 bytes');
    this.now = o.now ?? Date.now;
  }

  /** A stable digest of a query's parameters: the operation, the region and every filter, in a fixed order. */
  static bind(parts: readonly unknown[]): string {
    return createHash('sha256')
      .update(JSON.stringify(parts, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)))
      .digest('base64url')
      .slice(0, 22);
  }

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.o.secret).update(payload).digest();
  }

  encode(binding: string, position: Position): string {
    const expires = Math.floor(this.now() / 1000) + this.o.ttlSeconds;
    const payload = Buffer.from(JSON.stringify([1, binding, position.time.toString(), position.eventId, expires])).toString('base64url');
    return `${payload}.${this.mac(payload).toString('base64url')}`;
  }

  decode(token: unknown, binding: string): Position {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw INVALID();
    const dot = token.indexOf('.');
    if (dot <= 0) throw INVALID();
    const payload = token.slice(0, dot);
    const mac = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = this.mac(payload);
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) throw INVALID();
    // Authentic from here on: the payload is ours, but check its shape anyway (an old version).
    let parts: unknown;
    try {
      parts = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      throw INVALID();
    }
    if (!Array.isArray(parts) || parts.length !== 5 || parts[0] !== 1) throw INVALID();
    const [, bound, time, eventId, expires] = parts as [number, unknown, unknown, unknown, unknown];
    if (bound !== binding || typeof time !== 'string' || !/^\d{1,17}$/.test(time) || typeof eventId !== 'string' || typeof expires !== 'number') throw INVALID();
    if (expires * 1000 < this.now()) throw EXPIRED();
    return { time: BigInt(time), eventId };
  }
}
