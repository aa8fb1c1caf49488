import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPV4_PATTERN, IPV6_PATTERN } from '../../src/query/sourceAddress.js';

// The patterns guard a text -> inet cast in SQL: they must accept real addresses, and nothing that
// is not one (node's isIP agrees with PostgreSQL's inet input on these forms).
const v4 = new RegExp(IPV4_PATTERN);
const v6 = new RegExp(IPV6_PATTERN);

describe('source address patterns', () => {
  it('accept IPv4 and IPv6 addresses', () => {
    fc.assert(fc.property(fc.ipV4(), (ip) => v4.test(ip)));
    // fast-check also makes IPv4-embedded forms (::ffff:1.2.3.4), which the pattern leaves out.
    fc.assert(fc.property(fc.ipV6(), (ip) => ip.includes('.') || v6.test(ip)));
    expect(v6.test('::')).toBe(true);
    expect(v6.test('::1')).toBe(true);
    expect(v6.test('fe80::1:2')).toBe(true);
  });

  it('accept nothing that is not an address', () => {
    const alphabet = fc.constantFrom(...'0123456789abcdefABCDEF:.g /'.split(''));
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 45 }).map((a) => a.join('')), (s) => {
        if (v4.test(s)) expect(isIP(s)).toBe(4);
        if (v6.test(s)) expect(isIP(s)).toBe(6);
      }),
      { numRuns: 20_000 },
    );
    for (const bad of ['999.1.1.1', '1.2.3', ':::', '1::2::3', '12345::', 's3.amazonaws.com', '01.2.3.4']) expect(v4.test(bad) || v6.test(bad)).toBe(false);
  });
});

describe('the source address index expression', () => {
  it('is the expression of the index in migrations/002 (the planner uses the index only for the same expression)', async () => {
    const { readFile } = await import('node:fs/promises');
    const { SOURCE_INET_EXPRESSION } = await import('../../src/query/sourceAddress.js');
    const sql = await readFile(new URL('../../migrations/002_lean_indexes.sql', import.meta.url), 'utf8');
    const index = /CREATE INDEX events_region_source_inet ON events \(region, (.*), event_time DESC, event_id DESC\);/.exec(sql);
    expect(index?.[1]).toBe(SOURCE_INET_EXPRESSION.replaceAll('e.source_ip', 'source_ip'));
    // No backslash: the same meaning with standard_conforming_strings off.
    expect(SOURCE_INET_EXPRESSION).not.toContain('\\');
  });

  it('isAddress decides as the SQL patterns do', async () => {
    const { isAddress } = await import('../../src/query/sourceAddress.js');
    fc.assert(fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string(), fc.domain()), (value) => isAddress(value) === (v4.test(value) || v6.test(value))));
    expect(isAddress('10.1.2.3')).toBe(true);
    expect(isAddress('s3.amazonaws.com')).toBe(false);
    expect(isAddress('fe80::1%eth0')).toBe(false);
  });
});
