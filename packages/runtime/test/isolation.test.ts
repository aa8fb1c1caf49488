import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InfrastructureError, isInfrastructureError } from '../src/infrastructure.js';
import { processIsolating } from '../src/isolation.js';

/** A handler that fails on any part holding a poison record, and records every call it gets. */
function run(poison: Set<number>, outage?: { at: number }) {
  const calls: number[][] = [];
  const done: number[] = [];
  const poisoned: number[] = [];
  const steps = {
    run: async (part: number[]) => {
      calls.push(part);
      if (outage && part.includes(outage.at)) throw new InfrastructureError('broker down');
      const bad = part.find((r) => poison.has(r));
      if (bad !== undefined) throw new TypeError(`cannot read record ${bad}`);
      return part.map((r) => `out-${r}`);
    },
    done: (_part: number[], work: string[]) => void done.push(...work.map((w) => Number(w.slice(4)))),
    poisoned: (record: number) => void poisoned.push(record),
    isInfrastructure: isInfrastructureError,
  };
  return { steps, calls, done, poisoned };
}

describe('processIsolating', () => {
  it('runs a clean batch once, as it is', async () => {
    const h = run(new Set());
    await processIsolating([1, 2, 3, 4], h.steps);
    expect(h.calls).toEqual([[1, 2, 3, 4]]);
    expect(h.done).toEqual([1, 2, 3, 4]);
  });

  it('sets aside exactly the records the handler fails on, takes every other one once, in offset order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 300 }).chain((n) => fc.tuple(fc.constant(n), fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { maxLength: n }))),
        async ([n, bad]) => {
          const records = Array.from({ length: n }, (_, i) => i);
          const poison = new Set(bad);
          const h = run(poison);
          await processIsolating(records, h.steps);
          expect(h.poisoned).toEqual(records.filter((r) => poison.has(r)));
          expect(h.done).toEqual(records.filter((r) => !poison.has(r)));
          // Bounded work: about k·log2(n) calls for k poison records.
          expect(h.calls.length).toBeLessThanOrEqual(1 + 2 * poison.size * Math.ceil(Math.log2(n) + 1));
        },
      ),
    );
  });

  it('throws an infrastructure failure at once, after taking only what came before it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 100 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 0, max: n - 1 }))), async ([n, bad, down]) => {
        const records = Array.from({ length: n }, (_, i) => i);
        const h = run(new Set([bad]), { at: down });
        await expect(processIsolating(records, h.steps)).rejects.toThrow('broker down');
        // Nothing at or after the failing record was taken or dead-lettered: a retry resumes there.
        for (const r of [...h.done, ...h.poisoned]) expect(r).toBeLessThan(down);
        // What was taken is a prefix of the batch, without gaps: the retry starts after it.
        expect([...h.done, ...h.poisoned].sort((a, b) => a - b)).toEqual(records.slice(0, h.done.length + h.poisoned.length));
        expect(h.poisoned.every((r) => r === bad)).toBe(true);
      }),
    );
  });
});

describe('isInfrastructureError', () => {
  const withProps = (name: string, props: Record<string, unknown>) => Object.assign(new Error('x'), { name }, props);
  it.each([
    ['the marker class', new InfrastructureError('S3 is down')],
    ['a wrapped marker', new Error('store failed', { cause: new InfrastructureError('S3 is down') })],
    ['a kafkajs error', withProps('KafkaJSNumberOfRetriesExceeded', { retriable: false })],
    ['a kafkajs retriable protocol error', withProps('KafkaJSProtocolError', { retriable: true, type: 'NOT_LEADER_FOR_PARTITION' })],
    ['a registry outage (SerdeError canRetry)', withProps('SerdeError', { canRetry: true, code: 'REGISTRY_UNAVAILABLE' })],
    ['ECONNREFUSED', withProps('Error', { code: 'ECONNREFUSED', syscall: 'connect' })],
    ['fetch failed (undici, cause ECONNRESET)', new TypeError('fetch failed', { cause: withProps('Error', { code: 'ECONNRESET' }) })],
    ['an AWS 5xx', withProps('InternalError', { $fault: 'server', $metadata: { httpStatusCode: 500 } })],
    ['an AWS throttling 400', withProps('ThrottlingException', { $fault: 'client', $metadata: { httpStatusCode: 400 } })],
    ['an AWS $retryable', withProps('SlowDown', { $retryable: { throttling: true }, $metadata: { httpStatusCode: 503 } })],
    ['an AWS 403 (configuration)', withProps('AccessDenied', { $fault: 'client', $metadata: { httpStatusCode: 403 } })],
    ['an AWS error without an answer', withProps('TimeoutError', { $metadata: {} })],
    ['an aborted wait', withProps('AbortError', {})],
    ['a retry that gave up on an outage', withProps('RetryAbortedError', { canRetry: false, lastError: withProps('Error', { code: 'ETIMEDOUT' }) })],
  ])('infrastructure: %s', (_, err) => expect(isInfrastructureError(err)).toBe(true));

  it.each([
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'replace')")],
    ['a RangeError', new RangeError('Maximum call stack size exceeded')],
    ['an Avro encoding error', new Error('invalid "long": 1.5')],
    ['a validation error (canRetry false)', withProps('ValidationError', { canRetry: false })],
    ['an AWS 400 about the request', withProps('InvalidParameterException', { $fault: 'client', $metadata: { httpStatusCode: 400 } })],
    ['a string', 'boom'],
    ['null', null],
  ])('data: %s', (_, err) => expect(isInfrastructureError(err)).toBe(false));

  it('stops at a bounded depth on a cyclic cause chain', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(isInfrastructureError(a)).toBe(false);
  });
});
