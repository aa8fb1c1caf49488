import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, OutboundChannel, OutboundError, RetryBudget } from '../src/index.js';
import { ManualClock } from './manualClock.js';

describe('RetryBudget (property)', () => {
  it('never grants more than maxRetries within any window, and refuses only when the window is full', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 1_000 }), fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 200 }), (maxRetries, windowMs, gaps) => {
        const budget = new RetryBudget({ maxRetries, windowMs });
        const granted: number[] = [];
        let now = 0;
        for (const gap of gaps) {
          now += gap;
          const inWindow = granted.filter((t) => t > now - windowMs).length;
          const ok = budget.tryAcquire(now);
          // Safe: at most maxRetries in (now - windowMs, now]. Live: refused only when already full.
          expect(ok).toBe(inWindow < maxRetries);
          if (ok) granted.push(now);
          expect(budget.available(now)).toBe(maxRetries - granted.filter((t) => t > now - windowMs).length);
        }
      }),
    );
  });
});

type Step = { kind: 'advance'; ms: number } | { kind: 'attempt'; succeeds: boolean } | { kind: 'acquire-twice' };

const steps = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 400 }) }),
    fc.record({ kind: fc.constant('attempt' as const), succeeds: fc.boolean() }),
    fc.constant({ kind: 'acquire-twice' as const }),
  ),
  { maxLength: 150 },
);

describe('CircuitBreaker (property)', () => {
  it('an open circuit lets nothing through until its probe time; half-open lets one probe through; threshold failures open it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 1_000 }), steps, (threshold, resetAfterMs, script: Step[]) => {
        let now = 0;
        const breaker = new CircuitBreaker({ failureThreshold: threshold, resetAfterMs }, () => now);
        let openedAt: number | undefined;
        let consecutiveFailures = 0;
        for (const step of script) {
          if (step.kind === 'advance') {
            now += step.ms;
            continue;
          }
          const state = breaker.state;
          // The state follows the last opening: open until resetAfterMs has passed, then half-open.
          if (openedAt === undefined) expect(state).toBe('closed');
          else expect(state).toBe(now - openedAt >= resetAfterMs ? 'half-open' : 'open');
          const acquired = breaker.tryAcquire();
          expect(acquired).toBe(state !== 'open');
          if (!acquired) continue;
          if (step.kind === 'acquire-twice') {
            // A second attempt while the first is out: the closed circuit allows it, a probe is alone.
            expect(breaker.tryAcquire()).toBe(state === 'closed');
            breaker.release();
            continue;
          }
          if (step.succeeds) {
            breaker.onSuccess();
            openedAt = undefined;
            consecutiveFailures = 0;
          } else {
            breaker.onFailure();
            consecutiveFailures++;
            if (state === 'half-open' || consecutiveFailures >= threshold) openedAt = now;
          }
        }
      }),
    );
  });
});

describe('OutboundChannel (property)', () => {
  it('within one budget window, a destination gets at most one attempt per message plus the budget, whatever it answers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 12 }), async (maxRetries, retries, answers, messages) => {
        const clock = new ManualClock();
        let calls = 0;
        const script = [...answers];
        const channel = new OutboundChannel<number>({
          destination: 'webhook:p',
          clock,
          random: () => 0.5,
          send: () => {
            calls++;
            return script.shift() ?? false ? Promise.resolve(200) : Promise.reject(new OutboundError('HTTP_RETRIABLE', 'p answered 503', { status: 503 }));
          },
          policy: { retries, initialDelayMs: 10, maxDelayMs: 100, breakerFailures: 1_000, deadlineMs: 1e9, retryBudget: { maxRetries, windowMs: 1e12 } },
        });
        let retried = 0;
        for (let m = 0; m < messages; m++) {
          const result = await clock.run(channel.deliver(m));
          retried += result.attempts - 1;
          expect(result.attempts).toBeLessThanOrEqual(retries + 1);
        }
        expect(retried).toBeLessThanOrEqual(maxRetries);
        expect(calls).toBeLessThanOrEqual(messages + maxRetries);
      }),
      { numRuns: 60 },
    );
  });

  it('an open breaker makes no call until its probe time, whatever the messages', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(fc.integer({ min: 0, max: 2_000 }), { minLength: 1, maxLength: 20 }), async (threshold, gaps) => {
        const clock = new ManualClock();
        const callTimes: number[] = [];
        const channel = new OutboundChannel<number>({
          destination: 'webhook:down',
          clock,
          send: () => {
            callTimes.push(clock.now());
            return Promise.reject(new OutboundError('NETWORK', 'down: ECONNREFUSED'));
          },
          policy: { retries: 0, breakerFailures: threshold, breakerResetMs: 1_000, deadlineMs: 1e9 },
        });
        let openedAt: number | undefined;
        for (const gap of gaps) {
          await clock.advance(gap);
          const before = callTimes.length;
          await clock.run(channel.deliver(0));
          if (openedAt !== undefined && clock.now() - openedAt < 1_000) expect(callTimes.length).toBe(before);
          if (channel.breakerState === 'open' && callTimes.length > before) openedAt = callTimes.at(-1);
        }
      }),
      { numRuns: 60 },
    );
  });
});
