/**
 * The entry check's cost (issue 19): what `record()` spends per event to guarantee that what it
 * acknowledges comes out exactly as it went in (acceptRecord: the content walk, the member checks,
 * the log-line size), beside the work it cannot avoid, measured in the same run on the same records:
 * converting to ApiCallEvent and encoding the Avro body. Also the consumers' check
 * (validateApiCallEvent, the enricher's and the archiver's gate) beside decoding the Avro body, and
 * how long the worst inputs take to be refused (100000 levels of nesting, 10 million elements, a
 * record of exactly 256 KB). CPU only, no stack.
 *
 * `npx tsx bench/producer.bench.ts` (or `npm run bench -- producer`). BENCH_ROUNDS (default 5).
 */
import { readFileSync } from 'node:fs';
import { MAX_EVENT_BYTES, acceptRecord, toApiCallEvent, validateApiCallEvent, withDefaults, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { loadSchemas, type ApiCallEvent } from '@opentrail/serde';
import { recordOfSize } from '../test/helpers/recordSize.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const type = loadSchemas().ApiCallEvent.type;

const records = readFileSync(new URL('../test/fixtures/cloudtrail-records.ndjson', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => withDefaults(JSON.parse(line) as CloudTrailRecord))
  .filter((record) => {
    try {
      acceptRecord(record);
      return true;
    } catch {
      return false;
    }
  });
const input = Array.from({ length: 20_000 }, (_, i) => records[i % records.length]!);
const encoded = input.map((r) => type.toBuffer(toApiCallEvent(r)));

/** Microseconds of CPU per call of `work` over the input, the best of ROUNDS (least disturbed). */
function perEvent<T>(items: T[], work: (item: T) => unknown): number {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.cpuUsage();
    for (const item of items) work(item);
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / items.length);
  }
  return best;
}

function once(work: () => unknown): number {
  const start = process.hrtime.bigint();
  try {
    work();
  } catch {
    // refusals are what is timed
  }
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const baseline = perEvent(input, (r) => type.toBuffer(toApiCallEvent(r)));
const checked = perEvent(input, (r) => type.toBuffer(acceptRecord(r).event));
const decode = perEvent(encoded, (b) => type.fromBuffer(b));
const decoded = encoded.map((b) => type.fromBuffer(b) as ApiCallEvent);
const gate = perEvent(decoded.map((e, i) => [e, encoded[i]!.length] as const), ([e, n]) => validateApiCallEvent(e, n));

let deep: unknown = 'bottom';
for (let i = 0; i < 100_000; i++) deep = { d: deep };
const base = records[0]!;
const deepMs = once(() => acceptRecord({ ...base, requestParameters: deep }));
const wide = new Array<number>(10_000_000).fill(0);
const wideMs = once(() => acceptRecord({ ...base, requestParameters: { wide } }));
const atLimit = recordOfSize(base, MAX_EVENT_BYTES);
const atLimitMs = Math.min(...Array.from({ length: 5 }, () => once(() => acceptRecord(atLimit))));
const atLimitEvent = toApiCallEvent(atLimit);
const atLimitBytes = type.toBuffer(atLimitEvent).length;
const gateAtLimitMs = Math.min(...Array.from({ length: 5 }, () => once(() => validateApiCallEvent(atLimitEvent, atLimitBytes))));

const avgBytes = encoded.reduce((n, b) => n + b.length, 0) / encoded.length;
console.log(`input: ${input.length} events (${records.length} distinct real records of test/fixtures, ${avgBytes.toFixed(0)} Avro bytes on average), best of ${ROUNDS} rounds`);
console.log(`  producer: convert + encode (baseline)          ${baseline.toFixed(2)} µs CPU/event`);
console.log(`  producer: acceptRecord + encode (record())     ${checked.toFixed(2)} µs CPU/event  (${(checked / baseline).toFixed(2)}x the baseline)`);
console.log(`  consumers: Avro decode (baseline)              ${decode.toFixed(2)} µs CPU/event`);
console.log(`  consumers: validateApiCallEvent                ${gate.toFixed(2)} µs CPU/event  (${(gate / decode).toFixed(2)}x the decode)`);
console.log(`  refusal of 100000 levels of nesting            ${deepMs.toFixed(2)} ms (no RangeError)`);
console.log(`  refusal of a 10-million element array          ${wideMs.toFixed(2)} ms`);
console.log(`  acceptRecord of a record of exactly 256 KB     ${atLimitMs.toFixed(2)} ms; the consumers' check of it ${gateAtLimitMs.toFixed(2)} ms`);
