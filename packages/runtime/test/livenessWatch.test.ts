import { describe, expect, it } from 'vitest';
import { watchLiveness } from '../src/livenessWatch.js';

const pending = Symbol('pending');
/** What the promise holds after `ms`, or `pending`. */
const within = <T>(promise: Promise<T>, ms: number) => Promise.race([promise, new Promise<typeof pending>((resolve) => setTimeout(() => resolve(pending), ms))]);

describe('watchLiveness', () => {
  it('reports the failing checks once they failed twice in a row, naming each with its reason', async () => {
    let consumer: boolean | string = true;
    const watch = watchLiveness(() => ({ consumer: () => consumer, reader: () => true }), { intervalMs: 20 });
    expect(await within(watch.failed, 100)).toBe(pending);
    consumer = 'consumer stopped: Failed to find group coordinator';
    expect(await within(watch.failed, 500)).toBe('consumer: consumer stopped: Failed to find group coordinator');
    watch.stop();
  });

  it('does not report a check that failed once and passed again', async () => {
    let answers = [true, 'mid-change', true, true, true, true, true, true];
    const watch = watchLiveness(() => ({ flapping: () => answers.shift() ?? true }), { intervalMs: 10 });
    expect(await within(watch.failed, 200)).toBe(pending);
    // The same check failing on consecutive asks is reported: the watch was counting, not asleep.
    answers = ['down', 'down'];
    expect(await within(watch.failed, 200)).toBe('flapping: down');
    watch.stop();
  });

  it('counts a check that throws as failing, and asks nothing after stop()', async () => {
    let asked = 0;
    const watch = watchLiveness(
      () => ({
        store: () => {
          asked++;
          throw new Error('probe exploded');
        },
      }),
      { intervalMs: 10, failuresInARow: 3 },
    );
    expect(await within(watch.failed, 300)).toBe('store: probe exploded');
    const askedThen = asked;
    watch.stop();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(asked).toBe(askedThen);
    expect(askedThen).toBe(3);
  });
});
