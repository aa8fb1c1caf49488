/**
 * What retries add to the load on a failing destination, on a virtual clock: 2000 messages arrive
 * one every 50 ms at a destination failing each attempt with probability p, under the default
 * policy, without the retry budget, and without budget and breaker. Prints, per case, the attempts
 * per message (the load multiplier) and how the messages ended.
 *
 *   npx tsx packages/webhooks/scripts/retryLoad.ts
 */
import { OutboundChannel, OutboundError, type OutboundPolicy } from '../src/index.js';
import { ManualClock } from '../test/manualClock.js';

const MESSAGES = 2_000;
const ARRIVAL_MS = 50;

/** A small seeded generator (mulberry32), so every run prints the same figures. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function run(failureRate: number, policy: Partial<OutboundPolicy>) {
  const clock = new ManualClock();
  const fails = seeded(7);
  let calls = 0;
  const channel = new OutboundChannel<number>({
    destination: 'webhook:flapping',
    clock,
    random: seeded(11),
    send: () => {
      calls++;
      return fails() < failureRate ? Promise.reject(new OutboundError('HTTP_RETRIABLE', 'flapping answered 503', { status: 503 })) : Promise.resolve(200);
    },
    policy,
  });
  const outcomes = new Map<string, number>();
  const deliveries = Array.from({ length: MESSAGES }, (_, i) =>
    clock.sleep(i * ARRIVAL_MS).then(async () => {
      const result = await channel.deliver(i);
      const key = result.ok ? 'sent' : result.error.code;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }),
  );
  await clock.run(Promise.all(deliveries));
  return { attemptsPerMessage: calls / MESSAGES, outcomes: Object.fromEntries([...outcomes].sort()) };
}

const cases: [string, Partial<OutboundPolicy>][] = [
  ['default (budget 600/60 s, breaker 5)', {}],
  ['no budget', { retryBudget: { maxRetries: 1_000_000, windowMs: 1 } }],
  ['no budget, no breaker', { retryBudget: { maxRetries: 1_000_000, windowMs: 1 }, breakerFailures: 1_000_000 }],
];
for (const failureRate of [0.1, 0.5, 0.9, 1]) {
  for (const [name, policy] of cases) {
    const { attemptsPerMessage, outcomes } = await run(failureRate, policy);
    console.log(`p(fail)=${failureRate.toFixed(1)}  ${name.padEnd(38)} attempts/message ${attemptsPerMessage.toFixed(2)}  ${JSON.stringify(outcomes)}`);
  }
}
