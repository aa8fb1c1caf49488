/**
 * Class 7 of issue 19: rule evaluation must be linear in the length of event values, which
 * producers control. For each pattern kind, the worst pattern we could construct is evaluated
 * against a 256 KB value (CloudTrail's record limit) with the new engines, and the OLD engines
 * (backtracking RegExp, kept below as they were, for this measurement only) against growing values
 * until one evaluation takes a second or times out; their time at 256 KB is extrapolated from the
 * growth between the last two sizes (the old cost is polynomial, degree ≈ the number of stars).
 *
 * No stack is needed: `npx tsx bench/patterns.bench.ts` (or `npm run bench -- patterns`).
 * BENCH_OLD_TIMEOUT_MS (default 10000): the longest one old evaluation may run before it is stopped.
 */
import { Worker } from 'node:worker_threads';
import { toApiCallEvent, withDefaults, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { compileFilterPattern, compileSigmaRule, RuleEvent } from '@opentrail/rules';

const SIZE = 256 * 1024;
const OLD_TIMEOUT_MS = Number(process.env.BENCH_OLD_TIMEOUT_MS ?? 10_000);

interface Case {
  name: string;
  /** The new engine, through the public compile functions, on an event whose value is `value`. */
  compileNew: () => (value: string) => boolean;
  /** The old engine's body (JavaScript, run in a worker): `value => boolean`. */
  oldSource: string;
  /** The hostile value of length n: it never matches, so every engine must explore it all. */
  value: (n: number) => string;
}

function event(record: CloudTrailRecord): RuleEvent {
  return new RuleEvent(toApiCallEvent(withDefaults({ awsRegion: 'us-east-1', recipientAccountId: '123456789012', eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstances', ...record })));
}

const sigma = (detection: Record<string, unknown>) => compileSigmaRule({ title: 'bench', logsource: { product: 'aws', service: 'cloudtrail' }, detection: { ...detection, condition: 'sel' } }, 'bench');

// The old matchers, verbatim in substance: globs became anchored RegExps with '.*' per star, and
// %regex% / |re went to RegExp. They run in a worker so that a runaway one can be stopped.
const OLD_GLOB = (regexSource: string) => `const re = new RegExp(${JSON.stringify(regexSource)}, 's'); return (v) => re.test(v);`;
const OLD_REGEX = (source: string, flags = '') => `const re = new RegExp(${JSON.stringify(source)}, ${JSON.stringify(flags)}); return (v) => re.test(v);`;

const cases: Case[] = [
  {
    name: 'filter pattern { $.userAgent = "*a*a*a*a*a*b*" } (6 stars)',
    compileNew: () => {
      const p = compileFilterPattern('{ $.userAgent = "*a*a*a*a*a*b*" }');
      return (v) => p.matches(event({ userAgent: v }));
    },
    oldSource: OLD_GLOB('^.*a.*a.*a.*a.*a.*b.*$'),
    value: (n) => 'a'.repeat(n),
  },
  {
    // The worst shape for the new glob: every position is a candidate for the middle segment and
    // each candidate fails only at the segment's last character (cost ≈ value length × segment length).
    name: 'filter pattern { $.userAgent = "*aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab*" } (worst for the new glob)',
    compileNew: () => {
      const p = compileFilterPattern(`{ $.userAgent = "*${'a'.repeat(31)}b*" }`);
      return (v) => p.matches(event({ userAgent: v }));
    },
    oldSource: OLD_GLOB(`^.*${'a'.repeat(31)}b.*$`),
    value: (n) => 'a'.repeat(n),
  },
  {
    name: 'filter pattern { $.userAgent = %a*a*a*a*a*a*c% } (regex, 6 stars)',
    compileNew: () => {
      const p = compileFilterPattern('{ $.userAgent = %a*a*a*a*a*a*c% }');
      return (v) => p.matches(event({ userAgent: v }));
    },
    oldSource: OLD_REGEX('a*a*a*a*a*a*c'),
    value: (n) => 'a'.repeat(n),
  },
  {
    name: "Sigma userAgent: '*a*a*a*a*a?*b*' (wildcards)",
    compileNew: () => {
      const r = sigma({ sel: { userAgent: '*a*a*a*a*a?*b*' } });
      return (v) => r.matches(event({ userAgent: v }));
    },
    oldSource: OLD_GLOB('^.*a.*a.*a.*a.*a..*b.*$'),
    value: (n) => 'a'.repeat(n),
  },
  {
    name: "Sigma userAgent|re: '^(a+)+$' (nested quantifier)",
    compileNew: () => {
      const r = sigma({ sel: { 'userAgent|re': '^(a+)+$' } });
      return (v) => r.matches(event({ userAgent: v }));
    },
    oldSource: OLD_REGEX('^(a+)+$'),
    value: (n) => `${'a'.repeat(n - 1)}!`,
  },
];

/** Median time of `runs` evaluations, in ms. */
function timeNew(test: (v: string) => boolean, value: string, runs: number): { ms: number; result: boolean } {
  let result = false;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    result = test(value);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, result };
}

/** One old evaluation in a worker: its time in ms, or undefined when it ran past the timeout. */
async function timeOld(source: string, value: string): Promise<number | undefined> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const test = (() => { ${source} })();
    const start = performance.now();
    test(workerData);
    parentPort.postMessage(performance.now() - start);`;
  const worker = new Worker(code, { eval: true, workerData: value });
  try {
    return await new Promise<number | undefined>((resolve, reject) => {
      const timer = setTimeout(() => resolve(undefined), OLD_TIMEOUT_MS);
      worker.once('message', (ms: number) => {
        clearTimeout(timer);
        resolve(ms);
      });
      worker.once('error', reject);
    });
  } finally {
    await worker.terminate();
  }
}

function fmt(ms: number): string {
  if (ms < 1_000) return `${ms.toFixed(2)} ms`;
  if (ms < 3_600_000) return `${(ms / 1000).toFixed(1)} s`;
  const years = ms / 3.156e10;
  return years < 1 ? `${(ms / 3_600_000).toFixed(1)} h` : `${years.toExponential(1)} years`;
}

console.log(`pattern evaluation against a hostile ${SIZE / 1024} KB value (no match: every engine explores it all)`);
for (const c of cases) {
  const test = c.compileNew();
  const value = c.value(SIZE);
  test(value); // warm-up
  const full = timeNew(test, value, 15);
  const half = timeNew(test, c.value(SIZE / 2), 15);
  if (full.result) throw new Error(`${c.name}: the hostile value should not match`);

  // The old engine: grow the length by a quarter from 8 until one evaluation takes ≥ 300 ms or times out.
  const points: { n: number; ms: number }[] = [];
  let timedOutAt: number | undefined;
  for (let n = 8; n <= SIZE; n = n === SIZE ? SIZE + 1 : Math.min(SIZE, Math.ceil(n * 1.25))) {
    const ms = await timeOld(c.oldSource, c.value(n));
    if (ms === undefined) {
      timedOutAt = n;
      break;
    }
    points.push({ n, ms });
    if (ms >= 300) break;
  }
  let oldText: string;
  const last = points[points.length - 1];
  const prev = points[points.length - 2];
  if (last && last.n === SIZE) {
    oldText = `${fmt(last.ms)} measured`;
  } else if (last && prev && last.ms >= 300 && last.ms > 1.5 * prev.ms) {
    // A power law through the last two sizes: for exponential growth ((a+)+) this is a lower bound.
    const degree = Math.log(last.ms / prev.ms) / Math.log(last.n / prev.n);
    const extrapolated = last.ms * Math.pow(SIZE / last.n, degree);
    oldText = `≈ ${fmt(extrapolated)} extrapolated (measured ${fmt(last.ms)} at ${last.n} chars, ${fmt(prev.ms)} at ${prev.n}: growth ~n^${degree.toFixed(1)})`;
  } else if (last) {
    oldText = `${fmt(last.ms)} at ${last.n} chars (too fast to extrapolate)`;
  } else {
    oldText = 'no size measured';
  }
  if (timedOutAt !== undefined) oldText += `; did not finish in ${OLD_TIMEOUT_MS / 1000} s at ${timedOutAt} chars`;
  console.log(`\n  ${c.name}`);
  console.log(`    new engine: ${fmt(full.ms)} at ${SIZE / 1024} KB (${fmt(half.ms)} at ${SIZE / 2048} KB: ×${(full.ms / half.ms).toFixed(2)} for twice the length)`);
  console.log(`    old engine: ${oldText}`);
}
