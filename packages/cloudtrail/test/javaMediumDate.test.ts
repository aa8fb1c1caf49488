import { describe, expect, it } from 'vitest';
import { javaMediumDate } from '@opentrail/cloudtrail';

describe('javaMediumDate', () => {
  it('writes STS expirations in the Java medium format CloudTrail uses', () => {
    expect(javaMediumDate(new Date('2026-12-01T19:05:09Z'))).toBe('Dec 1, 2026, 7:05:09 PM');
    expect(javaMediumDate(new Date('2026-01-09T00:30:00Z'))).toBe('Jan 9, 2026, 12:30:00 AM');
  });
});
