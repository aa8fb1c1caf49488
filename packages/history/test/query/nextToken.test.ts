import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HistoryQueryError, NextTokenCodec } from '../../src/query/index.js';

const secret = Buffer.alloc(32, 7);
let clock = Date.UTC(2026, 11, 1);
const codec = new NextTokenCodec({ secret, ttlSeconds: 3600, now: () => clock });
const binding = NextTokenCodec.bind(['LookupEvents', 'us-east-1', 'management', ['EventName', 'PutObject'], null, null]);
const position = { time: 1_764_547_200_123_456n, eventId: 'e6f7c1a2-0000-4000-8000-000000000001' };

const code = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return err instanceof HistoryQueryError ? err.code : `not a HistoryQueryError: ${String(err)}`;
  }
  return 'no error';
};

describe('NextTokenCodec', () => {
  it('gives back the exact position, to the microsecond', () => {
    expect(codec.decode(codec.encode(binding, position), binding)).toEqual(position);
  });

  it('refuses a token of another query, region or operation', () => {
    const token = codec.encode(binding, position);
    for (const other of [
      ['LookupEvents', 'us-east-1', 'management', ['EventName', 'GetObject'], null, null],
      ['LookupEvents', 'eu-west-1', 'management', ['EventName', 'PutObject'], null, null],
      ['LookupEvents', 'us-east-1', 'insight', ['EventName', 'PutObject'], null, null],
      ['QueryEvents', 'us-east-1', 'management', ['EventName', 'PutObject'], null, null],
      ['LookupEvents', 'us-east-1', 'management', ['EventName', 'PutObject'], 1n, null],
    ]) {
      expect(code(() => codec.decode(token, NextTokenCodec.bind(other)))).toBe('InvalidNextTokenException');
    }
  });

  it('refuses a token signed with another secret', () => {
    const theirs = new NextTokenCodec({ secret: Buffer.alloc(32, 8), ttlSeconds: 3600, now: () => clock });
    expect(code(() => codec.decode(theirs.encode(binding, position), binding))).toBe('InvalidNextTokenException');
  });

  it('refuses an expired token', () => {
    const token = codec.encode(binding, position);
    clock += 3601_000;
    try {
      expect(code(() => codec.decode(token, binding))).toBe('InvalidNextTokenException');
    } finally {
      clock -= 3601_000;
    }
    expect(codec.decode(token, binding)).toEqual(position);
  });

  it('refuses every edit of a valid token', () => {
    const token = codec.encode(binding, position);
    fc.assert(
      fc.property(fc.nat(token.length - 1), fc.string({ minLength: 1, maxLength: 1 }), (at, ch) => {
        fc.pre(token[at] !== ch);
        const edited = token.slice(0, at) + ch + token.slice(at + 1);
        // base64url has 2 spare bits in a final character: an edit there may decode to the same bytes.
        let same = false;
        try {
          same = codec.decode(edited, binding).eventId === position.eventId;
        } catch (err) {
          expect(err).toBeInstanceOf(HistoryQueryError);
          expect((err as HistoryQueryError).code).toBe('InvalidNextTokenException');
        }
        if (same) expect(Buffer.from(edited.split('.')[1] ?? '', 'base64url')).toEqual(Buffer.from(token.split('.')[1]!, 'base64url'));
      }),
    );
  });

  it('refuses arbitrary strings with InvalidNextTokenException, never another error', () => {
    fc.assert(fc.property(fc.string({ maxLength: 3000 }), (s) => code(() => codec.decode(s, binding)) === 'InvalidNextTokenException'));
  });

  it('will not run with a short secret', () => {
    expect(() => new NextTokenCodec({ secret: Buffer.alloc(16), ttlSeconds: 1 })).toThrow(/32 bytes/);
  });
});
