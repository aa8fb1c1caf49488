/**
 * The run's producer: generated events at a steady rate, each acknowledged one written down in the
 * ledger with its JSON and the trails that must log it, so that the audit can say of every eventID
 * whether it arrived, once, unchanged.
 */
import { toApiCallEvent, type CloudTrailRecord } from '@opentrail/cloudtrail';
import type { Recorder } from '@opentrail/producer';
import type { TrafficGenerator } from '@opentrail/testing';
import type { TrailMatcher } from '@opentrail/trails';
import { canonicalJson } from '../test/helpers/canonical.js';

export interface LedgerEntry {
  /** The record as produced, members sorted (canonicalJson): what every copy must equal. */
  canonical: string;
  /** Names of the trails whose selectors take it. */
  trails: string[];
}

export class Ledger {
  readonly produced = new Map<string, LedgerEntry>();
  /** Records the producer was not acknowledged for (e.g. during the broker restart): not expected anywhere. */
  refused = 0;
  firstRefusal: string | undefined;
}

/** Records generated events at `rate` per second (100 ms ticks) until the signal aborts. */
export async function produceSteadily(options: { recorder: Recorder; generator: TrafficGenerator; matcher: TrailMatcher; rate: number; ledger: Ledger; signal: AbortSignal }): Promise<void> {
  const { recorder, generator, matcher, ledger } = options;
  const inFlight = new Set<Promise<unknown>>();
  let due = 0;
  while (!options.signal.aborted) {
    due += options.rate / 10;
    for (; due >= 1; due--) {
      const record: CloudTrailRecord = generator.next();
      const entry: LedgerEntry = { canonical: canonicalJson(record), trails: matcher.select(toApiCallEvent(record)).map((t) => t.trail.name) };
      const sent = recorder.record(record).then(
        (receipt) => void ledger.produced.set(receipt.eventID, entry),
        (err: unknown) => {
          ledger.refused++;
          ledger.firstRefusal ??= (err as Error).message;
        },
      );
      inFlight.add(sent);
      void sent.finally(() => inFlight.delete(sent));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await Promise.all(inFlight);
}
