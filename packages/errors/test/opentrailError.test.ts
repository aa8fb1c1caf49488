import { describe, expect, it } from 'vitest';
import { OpentrailError } from '@opentrail/errors';

class DiskFullError extends OpentrailError<'DISK_FULL' | 'QUOTA'> {}

describe('OpentrailError', () => {
  it('carries its code, its retry flag, its cause and its subclass name', () => {
    const cause = new Error('ENOSPC');
    const err = new DiskFullError('QUOTA', 'over quota', { cause, canRetry: true });
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(OpentrailError);
    expect(err.code).toBe('QUOTA');
    expect(err.canRetry).toBe(true);
    expect(err.cause).toBe(cause);
    expect(err.name).toBe('DiskFullError');
    expect(err.message).toBe('over quota');
  });

  it('is not retriable unless it says so, and has no cause unless given one', () => {
    const err = new DiskFullError('DISK_FULL', 'full');
    expect(err.canRetry).toBe(false);
    expect('cause' in err).toBe(false);
  });
});
