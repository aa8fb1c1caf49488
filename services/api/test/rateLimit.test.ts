import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../src/rateLimit.js';
import { parseTarget } from '../src/targets.js';

describe('RateLimiter', () => {
  it('allows perSecond calls a second per caller, refilling with time', () => {
    let now = 1_000_000;
    const limit = new RateLimiter(2, () => now);
    expect([limit.take('a'), limit.take('a'), limit.take('a')]).toEqual([true, true, false]);
    expect(limit.take('b')).toBe(true);
    now += 499;
    expect(limit.take('a')).toBe(false);
    now += 2;
    expect(limit.take('a')).toBe(true);
    now += 10_000;
    // The burst is capped: a long pause does not save up calls.
    expect([limit.take('a'), limit.take('a'), limit.take('a')]).toEqual([true, true, false]);
  });

  it('keeps at most maxBuckets callers, dropping refilled ones first', () => {
    let now = 0;
    const limit = new RateLimiter(1, () => now, 3);
    for (const c of ['a', 'b', 'c']) expect(limit.take(c)).toBe(true);
    now += 5000;
    for (const c of ['d', 'e', 'f', 'g']) expect(limit.take(c)).toBe(true);
    // Busy callers beyond the cap are forgotten oldest first rather than kept without bound.
    expect(limit.take('g')).toBe(false);
  });
});

describe('X-Amz-Target', () => {
  it('accepts botocore\'s long form, the Smithy short form and opentrail\'s own', () => {
    expect(parseTarget('com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents')).toEqual({ api: 'cloudtrail', operation: 'LookupEvents' });
    expect(parseTarget('CloudTrail_20131101.LookupEvents')).toEqual({ api: 'cloudtrail', operation: 'LookupEvents' });
    expect(parseTarget('OpenTrail_20261201.QueryEvents')).toEqual({ api: 'opentrail', operation: 'QueryEvents' });
    for (const bad of ['', 'LookupEvents', 'CloudTrail_20131101.', 'CloudTrail_20131101.Lookup Events', 'cloudtrail_20131101.LookupEvents', `OpenTrail_20261201.${'x'.repeat(65)}`]) expect(parseTarget(bad)).toBeUndefined();
  });
});
