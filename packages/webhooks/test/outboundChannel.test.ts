import { describe, expect, it } from 'vitest';
import { ServiceMetrics } from '@opentrail/observability';
import { OutboundChannel, OutboundError, backoffDelay, classifySnsError, deadLetterReason, outboundMetrics, type OutboundChannelOptions, type OutboundErrorCode } from '../src/index.js';
import { ManualClock } from './manualClock.js';

type Answer = number | OutboundError | 'hang' | Error;

/** A destination answering with `script` in turn (then 200), recording when each attempt was made. */
function destination(script: Answer[]) {
  const calls: number[] = [];
  return {
    calls,
    send(clock: ManualClock) {
      return (_message: string, signal: AbortSignal): Promise<number> => {
        calls.push(clock.now());
        const next = script.shift() ?? 200;
        if (next === 'hang') return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
        if (typeof next === 'number') return Promise.resolve(next);
        return Promise.reject(next);
      };
    },
  };
}

const failure = (code: OutboundErrorCode, status?: number, retryAfterMs?: number) => new OutboundError(code, `hook answered ${status ?? code}`, { ...(status === undefined ? {} : { status }), ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });

function channel(script: Answer[], options: Partial<OutboundChannelOptions<string>> = {}) {
  const clock = new ManualClock();
  const dest = destination(script);
  const outbound = new OutboundChannel<string>({
    destination: 'webhook:hook',
    send: dest.send(clock),
    clock,
    random: () => 1,
    ...options,
    policy: { retries: 5, initialDelayMs: 100, maxDelayMs: 1_000, timeoutMs: 500, breakerFailures: 100, breakerResetMs: 5_000, deadlineMs: 60_000, ...options.policy },
  });
  return { clock, outbound, calls: dest.calls };
}

describe('OutboundChannel on a manual clock', () => {
  it('retries what can heal with exponential backoff up to the cap, then succeeds', async () => {
    const { clock, outbound, calls } = channel([failure('HTTP_RETRIABLE', 503), failure('THROTTLED', 429), failure('NETWORK'), failure('TIMEOUT'), failure('HTTP_RETRIABLE', 500)]);
    const result = await clock.run(outbound.deliver('m'));
    expect(result).toEqual({ ok: true, attempts: 6, status: 200 });
    // random() = 1: each delay is its cap, 100 · 2^(n-1), capped at 1000.
    expect(calls).toEqual([0, 100, 300, 700, 1_500, 2_500]);
  });

  it('does not retry a refusal, and names it in the dead letter', async () => {
    const { clock, outbound, calls } = channel([failure('HTTP_REJECTED', 400)]);
    const result = await clock.run(outbound.deliver('m'));
    expect(calls).toHaveLength(1);
    expect(result).toMatchObject({ ok: false, aborted: false, attempts: 1, error: { code: 'HTTP_REJECTED', status: 400, targetCode: '400', canRetry: false } });
    if (result.ok) throw new Error('unreachable');
    expect(deadLetterReason('webhook hook', result)).toEqual({ reason: 'DELIVERY_FAILED', detail: 'webhook hook: hook answered 400 after 1 attempt(s) [HTTP_REJECTED]' });
  });

  it('gives up after the retries with the last answer', async () => {
    const { clock, outbound, calls } = channel(Array.from({ length: 10 }, () => failure('HTTP_RETRIABLE', 503)), { policy: { retries: 2 } });
    const result = await clock.run(outbound.deliver('m'));
    expect(calls).toHaveLength(3);
    expect(result).toMatchObject({ ok: false, attempts: 3, error: { code: 'HTTP_RETRIABLE', status: 503 } });
  });

  it('waits for a Retry-After longer than its backoff, but not beyond the cap', async () => {
    const { clock, outbound, calls } = channel([failure('THROTTLED', 429, 700), failure('THROTTLED', 429, 50_000)]);
    await clock.run(outbound.deliver('m'));
    expect(calls).toEqual([0, 700, 1_700]);
  });

  it('times out an attempt that does not answer and retries it', async () => {
    const { clock, outbound, calls } = channel(['hang']);
    const result = await clock.run(outbound.deliver('m'));
    expect(result).toMatchObject({ ok: true, attempts: 2 });
    // Timed out at 500 ms, retried after the first backoff (100 ms).
    expect(calls).toEqual([0, 600]);
  });

  it('gives up when the next attempt would start after the message deadline, keeping the last answer', async () => {
    const { clock, outbound, calls } = channel(Array.from({ length: 10 }, () => failure('HTTP_RETRIABLE', 502)), { policy: { retries: 10, deadlineMs: 1_000 } });
    const result = await clock.run(outbound.deliver('m'));
    // Attempts at 0, 100, 300, 700; the next would start at 1500 > 1000.
    expect(calls).toEqual([0, 100, 300, 700]);
    expect(result).toMatchObject({ ok: false, attempts: 4, error: { code: 'DEADLINE_EXCEEDED', status: 502, targetCode: '502' } });
  });

  it('bounds an attempt by what is left of the deadline', async () => {
    const { clock, outbound } = channel(['hang', 'hang'], { policy: { timeoutMs: 10_000, deadlineMs: 3_000, retries: 1 } });
    const result = await clock.run(outbound.deliver('m'));
    expect(result).toMatchObject({ ok: false, error: { code: 'DEADLINE_EXCEEDED' } });
    expect(clock.now()).toBeLessThanOrEqual(3_000);
  });

  it('opens the circuit after consecutive failures, sends nothing until the probe time, and closes on a good probe', async () => {
    const { clock, outbound, calls } = channel([failure('NETWORK'), failure('NETWORK'), failure('NETWORK')], { policy: { breakerFailures: 3, breakerResetMs: 5_000, retries: 10 } });
    const first = await clock.run(outbound.deliver('a'));
    expect(first).toMatchObject({ ok: false, attempts: 3, error: { code: 'CIRCUIT_OPEN' } });
    expect(outbound.breakerState).toBe('open');
    // Opened by the third failure; the refused fourth attempt came after its backoff.
    const opened = calls[2]!;
    await clock.advance(opened + 4_999 - clock.now());
    expect(await outbound.deliver('b')).toMatchObject({ ok: false, attempts: 0, error: { code: 'CIRCUIT_OPEN' } });
    expect(calls).toHaveLength(3);
    await clock.advance(1);
    expect(outbound.breakerState).toBe('half-open');
    expect(await clock.run(outbound.deliver('c'))).toMatchObject({ ok: true, attempts: 1 });
    expect(outbound.breakerState).toBe('closed');
  });

  it('spends a retry budget shared by the messages of a destination, and refills it as the window slides', async () => {
    const failing = Array.from({ length: 20 }, () => failure('HTTP_RETRIABLE', 503));
    const { clock, outbound, calls } = channel(failing, { policy: { retries: 5, retryBudget: { maxRetries: 3, windowMs: 10_000 } } });
    const first = await clock.run(outbound.deliver('a'));
    // One attempt and three retries, then the budget is spent.
    expect(first).toMatchObject({ ok: false, attempts: 4, error: { code: 'RETRY_BUDGET_EXHAUSTED', status: 503 } });
    const second = await clock.run(outbound.deliver('b'));
    expect(second).toMatchObject({ ok: false, attempts: 1, error: { code: 'RETRY_BUDGET_EXHAUSTED' } });
    expect(calls).toHaveLength(5);
    await clock.advance(10_000);
    const third = await clock.run(outbound.deliver('c'));
    expect(third).toMatchObject({ attempts: 4, error: { code: 'RETRY_BUDGET_EXHAUSTED' } });
  });

  it('stops at once when its signal aborts, and hands a half-open probe back', async () => {
    const abort = new AbortController();
    const { clock, outbound, calls } = channel([failure('NETWORK'), 'hang'], { signal: abort.signal, policy: { breakerFailures: 1, breakerResetMs: 1_000 } });
    expect(await clock.run(outbound.deliver('a'))).toMatchObject({ ok: false, error: { code: 'CIRCUIT_OPEN' } });
    await clock.advance(1_000);
    const probe = outbound.deliver('b');
    await clock.advance(10);
    abort.abort();
    expect(await probe).toMatchObject({ ok: false, aborted: true, attempts: 1, error: { code: 'ABORTED' } });
    expect(calls).toHaveLength(2);
    // The aborted probe said nothing about the destination: the next message may probe.
    expect(outbound.breakerState).toBe('half-open');
  });

  it('classifies what the send function throws through `classify`, else as a network failure', async () => {
    const { clock, outbound } = channel([Object.assign(new Error('fetch failed'), { cause: { code: 'ECONNREFUSED' } })], { policy: { retries: 0 } });
    expect(await clock.run(outbound.deliver('m'))).toMatchObject({ ok: false, error: { code: 'NETWORK', message: 'webhook:hook: ECONNREFUSED' } });
    const sdkError = Object.assign(new Error('Topic does not exist'), { name: 'NotFoundException', Code: 'NotFound', $metadata: { httpStatusCode: 404 } });
    const sns = channel([sdkError], { classify: (e) => classifySnsError('arn:aws:sns:us-east-1:123456789012:t', e) });
    expect(await sns.clock.run(sns.outbound.deliver('m'))).toMatchObject({ ok: false, attempts: 1, error: { code: 'HTTP_REJECTED', targetCode: 'NotFound', status: 404 } });
  });
});

describe('classifySnsError', () => {
  const arn = 'arn:aws:sns:us-east-1:123456789012:t';
  it.each([
    [{ name: 'InternalError', $metadata: { httpStatusCode: 500 } }, 'HTTP_RETRIABLE'],
    [{ name: 'Throttling', Code: 'Throttling', $metadata: { httpStatusCode: 400 } }, 'THROTTLED'],
    [{ name: 'TooManyRequests', $metadata: { httpStatusCode: 429 } }, 'THROTTLED'],
    [{ name: 'InvalidParameter', $metadata: { httpStatusCode: 400 } }, 'HTTP_REJECTED'],
    [{ name: 'AuthorizationError', $metadata: { httpStatusCode: 403 } }, 'HTTP_REJECTED'],
    [Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error' }), 'NETWORK'],
  ] as const)('%o is %s', (error, code) => {
    expect(classifySnsError(arn, error).code).toBe(code);
  });
});

describe('backoffDelay', () => {
  it('is full jitter under an exponential cap', () => {
    const options = { initialDelayMs: 100, maxDelayMs: 1_000 };
    expect([1, 2, 3, 4, 5, 60].map((n) => backoffDelay(n, options, () => 1))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(backoffDelay(3, options, () => 0)).toBe(0);
    expect(backoffDelay(3, options, () => 0.5)).toBe(200);
  });
});

describe('outboundMetrics', () => {
  it('counts attempts and results per destination, shows breaker states, and caps the destination labels', async () => {
    const metrics = new ServiceMetrics(`outboundtest${Math.random().toString(36).slice(2, 8)}`);
    const observer = outboundMetrics(metrics, { maxDestinations: 2 });
    const clock = new ManualClock();
    const make = (name: string, script: Answer[]) =>
      new OutboundChannel<string>({ destination: name, send: destination(script).send(clock), clock, observer, random: () => 0, policy: { retries: 1, breakerFailures: 2, initialDelayMs: 1 } });
    await clock.run(make('webhook:a', [failure('HTTP_RETRIABLE', 503)]).deliver('m'));
    await clock.run(make('webhook:b', [failure('HTTP_REJECTED', 400)]).deliver('m'));
    const c = make('webhook:c', [failure('NETWORK'), failure('NETWORK')]);
    await clock.run(c.deliver('m'));
    const text = await metrics.registry.metrics();
    const name = metrics.name('outbound');
    expect(text).toContain(`${name}_attempts_total{destination="webhook:a",result="503"} 1`);
    expect(text).toContain(`${name}_attempts_total{destination="webhook:a",result="200"} 1`);
    expect(text).toContain(`${name}_results_total{destination="webhook:a",outcome="sent"} 1`);
    expect(text).toContain(`${name}_results_total{destination="webhook:b",outcome="HTTP_REJECTED"} 1`);
    // The third destination is past the cap of two labels.
    expect(text).toContain(`${name}_attempts_total{destination="other",result="NETWORK"} 2`);
    expect(text).not.toContain('destination="webhook:c"');
    expect(text).toContain(`${name}_breaker_state{destination="other"} 2`);
    expect(text).toContain(`${name}_breaker_state{destination="webhook:a"} 0`);
  });
});
