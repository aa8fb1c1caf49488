/**
 * The benches the comparison runs, at the sizes it runs them: the same file, arguments and BENCH_*
 * settings in both trees, small enough that two rounds of both trees fit in well under an hour on
 * a shared two-core machine. A BENCH_* variable set in the environment overrides a size here (for
 * both trees alike).
 */
export interface BenchSpec {
  name: string;
  /** The file, relative to the tree's root: the same path in both trees. */
  file: string;
  args: readonly string[];
  /** BENCH_* sizes for the comparison (the benches' defaults are sized for a quiet machine and one run). */
  env: Readonly<Record<string, string>>;
  /** Rounds per tree at least (a CPU-only bench takes seconds: more rounds narrow its noise cheaply). */
  minRounds?: number;
  /** Whether it runs when --benches is not given. */
  byDefault: boolean;
  /** Why it is left out by default, printed with the table. */
  leftOut?: string;
}

export const BENCHES: readonly BenchSpec[] = [
  { name: 'producer', file: 'bench/producer.bench.ts', args: [], env: { BENCH_ROUNDS: '3' }, minRounds: 5, byDefault: true },
  { name: 'isolation', file: 'bench/isolation.bench.ts', args: [], env: {}, minRounds: 5, byDefault: true },
  // The old engine's (V8 irregexp) time is not a figure of this project's code: a short limit on it.
  { name: 'patterns', file: 'bench/patterns.bench.ts', args: [], env: { BENCH_OLD_TIMEOUT_MS: '2000' }, minRounds: 3, byDefault: true },
  { name: 'alerter', file: 'bench/alerter.bench.ts', args: [], env: { BENCH_EVENTS: '20000', BENCH_ROUNDS: '3' }, minRounds: 3, byDefault: true },
  { name: 'runtime', file: 'bench/runtime.bench.ts', args: [], env: { BENCH_EVENTS: '5000', BENCH_ROUNDS: '3', BENCH_RUNTIME_BEFORE: '' }, byDefault: true },
  { name: 'enricher', file: 'bench/enricher.bench.ts', args: [], env: { BENCH_EVENTS: '5000', BENCH_ROUNDS: '3', BENCH_IDENTITIES: '100000' }, byDefault: true },
  { name: 'archiver', file: 'bench/archiver.bench.ts', args: [], env: { BENCH_EVENTS: '20000', BENCH_RATE: '2000', BENCH_SECONDS: '10' }, byDefault: true },
  { name: 'history-writer', file: 'bench/history-writer.bench.ts', args: [], env: { BENCH_EVENTS: '10000', BENCH_ROUNDS: '2' }, byDefault: true },
  { name: 'history-ingest', file: 'bench/history-ingest.bench.ts', args: [], env: { BENCH_EVENTS: '5000', BENCH_ROUNDS: '2' }, byDefault: true },
  { name: 'history-lookup', file: 'bench/history-lookup.bench.ts', args: [], env: { BENCH_SIZES: '20000,100000', BENCH_SAMPLES: '30' }, byDefault: true },
  // The bare clients in both trees (the port-* rows exist only after the change: nothing to compare them with).
  { name: 'kafka-clients', file: 'bench/kafka-clients.bench.ts', args: [], env: { BENCH_EVENTS: '5000', BENCH_CLIENTS: 'kafkajs,confluent,platformatic' }, byDefault: true },
  {
    name: 'coldstart',
    file: 'bench/coldstart.ts',
    args: ['--runs', '1', '--dir', '.coldstart-compare'],
    env: {},
    byDefault: false,
    leftOut: 'coldstart starts a whole stack and the demo from nothing per run (minutes, most of it JVM start-up); run it with --benches coldstart',
  },
];

/** The spec's sizes, with any BENCH_* the caller set taking precedence. */
export function benchEnv(spec: BenchSpec, environment: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = { ...spec.env };
  for (const key of Object.keys(spec.env)) {
    const given = environment[key];
    if (given !== undefined) out[key] = given;
  }
  return out;
}
