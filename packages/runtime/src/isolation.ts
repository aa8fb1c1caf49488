/**
 * Finding the record a failed batch fails on (issue 19, class 2). A handler's failure that is not
 * the infrastructure's is tied to the data, so retrying the same batch fails for ever and stalls the
 * partition. Instead the batch is run again in halves, in offset order, down to the single record
 * that fails: that one is dead-lettered, every other record is processed. Handlers already keep no
 * partial state from a failed call (PartitionHandler.processBatch), so a part may be re-run.
 *
 * A batch with k poison records of n costs about k·log2(n) extra calls; a clean batch costs nothing.
 */

export interface IsolationSteps<R, W> {
  /** Runs the handler on a part of the batch (in offset order). */
  run(part: R[]): Promise<W>;
  /** A part succeeded: take its work now, so that a later infrastructure failure does not lose or repeat it. */
  done(part: R[], work: W, isolating: boolean): void | Promise<void>;
  /** `record` fails on its own with an error of the data: set it aside. */
  poisoned(record: R, error: unknown): void;
  /** Whether an error is the infrastructure's: it ends the isolation and is thrown (the batch is retried from the first record not done). */
  isInfrastructure(error: unknown): boolean;
  /** Before each re-run (keeps the consumer group membership alive). */
  beforeRerun?(): Promise<void>;
}

/** Processes `records`, isolating the ones a data failure comes from; throws infrastructure failures. */
export async function processIsolating<R, W>(records: R[], steps: IsolationSteps<R, W>): Promise<void> {
  // An explicit stack, not recursion: the depth would be log2(n), but the loop is as simple.
  const stack: { part: R[]; rerun: boolean }[] = [{ part: records, rerun: false }];
  while (stack.length > 0) {
    const { part, rerun } = stack.pop()!;
    if (part.length === 0) continue;
    if (rerun) await steps.beforeRerun?.();
    let work: W;
    try {
      work = await steps.run(part);
    } catch (err) {
      if (steps.isInfrastructure(err)) throw err;
      if (part.length === 1) {
        steps.poisoned(part[0]!, err);
        continue;
      }
      const middle = Math.ceil(part.length / 2);
      // The later half first onto the stack, so that the earlier half runs first: offset order.
      stack.push({ part: part.slice(middle), rerun: true }, { part: part.slice(0, middle), rerun: true });
      continue;
    }
    await steps.done(part, work, rerun);
  }
}
