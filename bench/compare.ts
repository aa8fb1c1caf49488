/**
 * Every bench figure before and after a change (issue 16: "every figure of the existing benches no
 * worse than before the change, printed before/after").
 *
 * `npx tsx bench/compare.ts [--base 9a21ffc] [--benches a,b] [--rounds 2] [--timeout-minutes 20]
 * [--markdown file]` (or `npm run bench -- compare …`). "Before" is the base commit's tree,
 * exported and installed once under ~/.cache/opentrail/bench-base (lib/compare/trees.ts); "now" is
 * this checkout. Each bench of both trees runs on the same stack (the one named by
 * OPENTRAIL_KAFKA_BROKERS & co., else one started here for all), with the same BENCH_* sizes
 * (lib/compare/benches.ts), interleaved round by round (before, now, before, now…) so that a drift
 * in the machine's load hits both trees alike. Each figure is the median of its rounds; it is
 * WORSE only when it moved the wrong way by more than the base tree's own spread between rounds
 * (lib/compare/verdict.ts). Prints one table; the runs' output is kept in bench/results/compare-*.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { endpointsFromEnv, endpointsToEnv, givenEndpoints, startStack, type Stack } from '@opentrail/stack';
import { BENCHES, benchEnv, type BenchSpec } from './lib/compare/benches.js';
import { EXTRACTORS } from './lib/compare/extractors.js';
import type { Figure } from './lib/compare/figures.js';
import { runBench } from './lib/compare/runBench.js';
import { comparisonTable, verdictCounts } from './lib/compare/table.js';
import { currentTree, exportedTree, resolveCommit, type Tree } from './lib/compare/trees.js';
import { MIN_BAND, compareRounds, type Comparison } from './lib/compare/verdict.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string) => console.error(`compare: ${line}`);

const { values: options } = parseArgs({
  options: {
    base: { type: 'string', default: '9a21ffc' },
    benches: { type: 'string' },
    rounds: { type: 'string', default: '2' },
    'timeout-minutes': { type: 'string', default: '20' },
    markdown: { type: 'string' },
    /** A previous run's output directory: make the table again from its saved output (after an extractor fix). */
    reextract: { type: 'string' },
  },
});
const rounds = Number(options.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds: a whole number, at least 1');
const timeoutMs = Number(options['timeout-minutes']) * 60_000;

const wanted = options.benches?.split(',').map((s) => s.trim()).filter(Boolean);
const unknown = wanted?.filter((name) => !BENCHES.some((b) => b.name === name)) ?? [];
if (unknown.length) throw new Error(`unknown bench ${unknown.join(', ')}; known: ${BENCHES.map((b) => b.name).join(', ')}`);
const selected: BenchSpec[] = BENCHES.filter((b) => (wanted ? wanted.includes(b.name) : b.byDefault));

const outputDir = options.reextract ?? join(repo, 'bench', 'results', `compare-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const runs: RunRecord[] = options.reextract ? savedRuns(outputDir) : await runAll();
const roundsRun = Math.max(0, ...runs.map((r) => r.round));
const labels = { before: runs.find((r) => r.role === 'before')?.label ?? '?', now: runs.find((r) => r.role === 'now')?.label ?? '?' };

// What was run (with --reextract: what the saved runs hold of the selection).
const compared = selected.filter((spec) => runs.some((r) => r.bench === spec.name));
const comparisons: Comparison[] = [];
const failures: string[] = [];
for (const spec of compared) {
  const extract = EXTRACTORS.get(spec.name)!;
  const figures: Record<Tree['role'], Figure[][]> = { before: [], now: [] };
  for (const run of runs.filter((r) => r.bench === spec.name)) {
    const found = extract(readFileSync(join(outputDir, `${run.name}.stdout`), 'utf8'));
    if (run.code !== 0 || found.length === 0) {
      failures.push(`${run.name}: exit ${run.code}${run.timedOut ? ', timed out' : ''}, ${found.length} figures (see ${join(outputDir, run.name)}.stderr)`);
    }
    // A failed run's figures are not used: a half-finished bench prints what it got so far.
    if (run.code === 0) figures[run.role].push(found);
  }
  comparisons.push(...compareRounds(spec.name, figures.before, figures.now));
}

const sizes = compared.map((b) => `${b.name} ${Object.entries(benchEnv(b, process.env)).map(([k, v]) => `${k}=${v}`).join(' ') || '(its defaults)'}`.trim());
const leftOut = BENCHES.filter((b) => !compared.includes(b)).map((b) => `${b.name}${b.leftOut ? `: ${b.leftOut}` : ''}`);
const report = [
  `before/after: before = ${labels.before}, now = ${labels.now}; node ${process.version}; up to ${roundsRun} round(s) per tree, interleaved; median of rounds; noise ± = the wider spread of either tree's own rounds (at least ${MIN_BAND * 100}%)`,
  `sizes: ${sizes.join('; ')}`,
  '',
  comparisonTable(comparisons),
  '',
  `verdicts: ${verdictCounts(comparisons)}`,
  ...(leftOut.length ? ['left out:', ...leftOut.map((l) => `  ${l}`)] : []),
  ...(failures.length ? ['failed runs:', ...failures.map((f) => `  ${f}`)] : []),
  `runs' output: ${outputDir}`,
].join('\n');
console.log(report);
writeFileSync(join(outputDir, 'comparison.md'), `${report}\n`);
writeFileSync(join(outputDir, 'comparison.json'), `${JSON.stringify(comparisons, null, 2)}\n`);
if (options.markdown) writeFileSync(options.markdown, `${report}\n`);
process.exit(failures.length ? 1 : 0);

/** One bench run as saved in the output directory (runs.json), so a table can be made again from it. */
interface RunRecord {
  bench: string;
  role: Tree['role'];
  label: string;
  round: number;
  name: string;
  code: number | null;
  timedOut: boolean;
  seconds: number;
}

function savedRuns(dir: string): RunRecord[] {
  return JSON.parse(readFileSync(join(dir, 'runs.json'), 'utf8')) as RunRecord[];
}

async function runAll(): Promise<RunRecord[]> {
  const baseCommit = resolveCommit(repo, options.base);
  const trees: Tree[] = [exportedTree(repo, baseCommit, 'before', log), currentTree(repo)];
  mkdirSync(outputDir, { recursive: true });
  let stack: Stack | undefined;
  if (!endpointsFromEnv()) stack = await startStack({ log: (line) => log(`stack: ${line}`), given: givenEndpoints() });
  const stackEnv = stack ? endpointsToEnv(stack.endpoints) : {};
  const done: RunRecord[] = [];
  try {
    for (const spec of selected) {
      const env = {
        ...process.env,
        ...stackEnv,
        ...benchEnv(spec, process.env),
        // kafkajs's idle timer prints a TimeoutNegativeWarning on Node 24 (see .npmrc): not a figure.
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --disable-warning=TimeoutNegativeWarning`.trim(),
      };
      const benchRounds = Math.max(rounds, spec.minRounds ?? 1);
      for (let round = 1; round <= benchRounds; round++) {
        for (const tree of trees) {
          // A failed run is run once more (a topic not yet known to a loaded broker fails a bench's
          // set-up now and then, in either tree); both are kept and listed, the failed one unused.
          for (const attempt of ['', '.retry']) {
            const name = `${spec.name}.${tree.role}.${round}${attempt}`;
            log(`${spec.name}: round ${round}/${benchRounds}${attempt}, ${tree.role} (${tree.label})…`);
            const run = await runBench(spec, tree, env, outputDir, name, timeoutMs);
            log(`${spec.name}: round ${round}${attempt}, ${tree.role}: exit ${run.code}${run.timedOut ? ' (timed out)' : ''} in ${run.seconds.toFixed(0)} s`);
            done.push({ bench: spec.name, role: tree.role, label: tree.label, round, name, code: run.code, timedOut: run.timedOut, seconds: run.seconds });
            // Saved after every run: an interrupted comparison can still be tabled with --reextract.
            writeFileSync(join(outputDir, 'runs.json'), `${JSON.stringify(done, null, 2)}\n`);
            if (run.code === 0 || run.timedOut) break;
          }
        }
      }
    }
  } finally {
    await stack?.stop();
  }
  return done;
}
