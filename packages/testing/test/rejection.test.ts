import { describe, expect, it } from 'vitest';
import { rejection } from '@opentrail/testing';

class RefusedError extends Error {
  readonly code = 'REFUSED';
}

describe('rejection', () => {
  it('returns the error of the expected type', async () => {
    const err = await rejection(Promise.reject(new RefusedError('no')), RefusedError);
    expect(err.code).toBe('REFUSED');
  });

  it('fails when the promise resolves or rejects with another error', async () => {
    await expect(rejection(Promise.resolve(1), RefusedError)).rejects.toThrow('expected a RefusedError, but the promise resolved');
    await expect(rejection(Promise.reject(new TypeError('x')), RefusedError)).rejects.toThrow('expected a RefusedError, got TypeError: x');
  });
});
