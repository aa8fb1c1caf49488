/**
 * The error a promise rejects with, checked to be of `type`: a test then asserts on its code and
 * fields. Throws (failing the test) when the promise resolves or rejects with something else.
 */
export async function rejection<E extends Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof type) return err;
    throw new Error(`expected a ${type.name}, got ${String(err)}`, { cause: err });
  }
  throw new Error(`expected a ${type.name}, but the promise resolved`);
}
