/**
 * What isolating poison records costs the runtime (issue 19, class 2): a batch the handler fails on
 * is re-run in halves down to the records it fails on (packages/runtime/src/isolation.ts). Printed
 * per batch of BENCH_BATCH records with k poison records: handler calls, records handed over in all
 * (a clean batch: one call, BENCH_BATCH records), and the time beside a clean batch in the same run.
 * The handler's work per record is the encoding of a synthetic event of about 1.5 KB (JSON text).
 *
 * `npx tsx bench/isolation.bench.ts`. BENCH_BATCH (default 500), BENCH_ROUNDS (20).
 */
import { toApiCallEvent, writeRecordJson } from '@opentrail/cloudtrail';
import { TrafficGenerator } from '@opentrail/testing';
import { isInfrastructureError, processIsolating } from '@opentrail/runtime';

const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);

const generator = new TrafficGenerator({ seed: 19 });
const events = Array.from({ length: BATCH }, () => toApiCallEvent(generator.next()));

async function runBatch(poison: Set<number>): Promise<{ calls: number; handedOver: number; ms: number }> {
  let calls = 0;
  let handedOver = 0;
  const started = process.hrtime.bigint();
  await processIsolating(
    events.map((_, i) => i),
    {
      run: async (part) => {
        calls++;
        handedOver += part.length;
        let bytes = 0;
        for (const i of part) {
          if (poison.has(i)) throw new TypeError(`cannot handle record ${i}`);
          bytes += writeRecordJson(events[i]!).length;
        }
        return bytes;
      },
      done: () => undefined,
      poisoned: () => undefined,
      isInfrastructure: isInfrastructureError,
    },
  );
  return { calls, handedOver, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

function spread(k: number): Set<number> {
  return new Set(Array.from({ length: k }, (_, j) => Math.floor(((j + 0.5) * BATCH) / k)));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(`isolation: batches of ${BATCH} records, median of ${ROUNDS} rounds (clean batch measured in the same rounds)`);
for (const k of [1, 5, 25]) {
  const ratios: number[] = [];
  let shape = { calls: 0, handedOver: 0 };
  const cleanMs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const clean = await runBatch(new Set());
    const poisoned = await runBatch(spread(k));
    cleanMs.push(clean.ms);
    ratios.push(poisoned.ms / clean.ms);
    shape = poisoned;
  }
  console.log(`  ${String(k).padStart(2)} poison: ${shape.calls} handler calls, ${shape.handedOver} records handed over (${(shape.handedOver / BATCH).toFixed(1)}x the batch), time ${median(ratios).toFixed(1)}x a clean batch (${median(cleanMs).toFixed(2)} ms)`);
}
