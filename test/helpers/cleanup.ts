import { afterEach } from 'vitest';

/** Undoes one thing a test set up: closes a client, stops a process, removes a directory. */
export type Cleanup = () => unknown;

/** Where a test and its helpers register teardown as soon as the thing to undo exists. */
export interface Cleanups {
  push(...cleanups: Cleanup[]): void;
}

/**
 * Registers an afterEach hook that undoes, last first, what the file's tests pushed, and returns
 * the list to push to. Every teardown runs even when one fails (a failed test must not leak the
 * processes and clients of the next one); the first failure then fails the test, since a client
 * that cannot close is a finding. `ignoreFailures` is for files whose tests kill or cut what they
 * set up on purpose, so that tearing it down again may fail without telling anything.
 */
export function cleanupAfterEach(options: { ignoreFailures?: boolean } = {}): Cleanups {
  const pending: Cleanup[] = [];
  afterEach(async () => {
    const failures: unknown[] = [];
    for (const cleanup of pending.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length > 0 && !options.ignoreFailures) throw failures[0];
  });
  return { push: (...cleanups) => void pending.push(...cleanups) };
}
