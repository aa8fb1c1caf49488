/**
 * The history service's ingest figures (issue 12), the ingest half of the history benchmarks
 * (bench/history-lookup.bench.ts has the lookups):
 * - the enricher's output rate, measured in the same run on the same input: its handler on the
 *   stream runtime, raw → enriched (what history has to keep up with);
 * - history's ingest rate over that enriched topic into PostgreSQL (HistoryIngest on the stream
 *   runtime, durable commits, a fresh database each round), in events/s and in events per CPU
 *   second of this process plus the PostgreSQL server's processes ("per core"), this process's main
 *   thread apart from its other threads (V8's garbage collection and compiles, the Kafka client);
 * - storage: bytes per event on disk (events + event_resources partitions, indexes and TOAST
 *   included), and the average record text for comparison.
 *
 * `npx tsx bench/history-ingest.bench.ts`. Uses the Kafka stack of OPENTRAIL_KAFKA_BROKERS & co.
 * when set, else starts one; always starts a PostgreSQL of its own (so that CPU time of its processes
 * is this benchmark's alone). BENCH_EVENTS (default 40000), BENCH_ROUNDS (3), BENCH_HISTORY_MAX_ROWS (1000),
 * BENCH_HISTORY_WRITERS (2), BENCH_HISTORY_WRITES_IN_FLIGHT (2),
 * BENCH_HISTORY_FETCH_BYTES (1048576), BENCH_HISTORY_CONCURRENCY (4): the service's batch settings.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { validateApiCallEvent } from '@opentrail/cloudtrail';
import { createPool, EventWriter, migrate, PartitionManager } from '@opentrail/history';
import { createLogger, ServiceMetrics } from '@opentrail/observability';
import { StreamProcessor } from '@opentrail/runtime';
import { serdeFor, type EnrichedEvent } from '@opentrail/serde';
import { installStack, startPostgres } from '@opentrail/stack';
import { HistoryIngest } from '../services/history/src/historyIngest.js';
import { historyMetrics } from '../services/history/src/metrics.js';
import { preProduce, recentFixtureEvents } from './lib/events.js';
import { measureHandler, type Throughput } from './lib/passthrough.js';
import { enricherUnderTest, openBundledGeoDatabases } from './lib/enricher-handler.js';
import { benchStack } from './lib/stack.js';
import { cpuSeconds } from './lib/proc.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 40_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** history.batch settings, as the service's defaults. */
const MAX_ROWS = Number(process.env.BENCH_HISTORY_MAX_ROWS ?? 1000);
const WRITERS = Number(process.env.BENCH_HISTORY_WRITERS ?? 2);
const FETCH_BYTES = Number(process.env.BENCH_HISTORY_FETCH_BYTES ?? 1024 * 1024);
const CONCURRENCY = Number(process.env.BENCH_HISTORY_CONCURRENCY ?? 4);
const IN_FLIGHT = Number(process.env.BENCH_HISTORY_WRITES_IN_FLIGHT ?? 2);


/** CPU seconds (user + system) per process: a process and its direct children, the postmaster and its backends. */
async function processTreeCpu(rootPid: number): Promise<Map<number, number>> {
  const ticks = 100; // USER_HZ on Linux
  const cpu = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (!stat) continue;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(entry);
    const ppid = Number(fields[1]);
    if (pid !== rootPid && ppid !== rootPid) continue;
    cpu.set(pid, (Number(fields[11]) + Number(fields[12])) / ticks);
  }
  return cpu;
}

/**
 * CPU seconds of this process's main thread (its thread id is the process id): node's CPU figure
 * less this is V8's worker threads (garbage collection, optimising compiles) and the Kafka client's.
 */
function mainThreadCpu(): number {
  return cpuSeconds(process.pid, process.pid) ?? 0;
}

/**
 * CPU seconds the processes spent between two snapshots: per process, what it spent since the first
 * (all of it for one started since). Per process, not total minus total: a backend that exits in
 * between (the connection that ran CREATE DATABASE, closed just before the first snapshot but not yet
 * gone) would otherwise subtract everything it had spent before the window from the window's figure.
 */
function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface IngestRun extends Throughput {
  pgCpuSeconds: number;
  /** This process's main thread, of cpuSeconds (the rest: V8's workers, the Kafka client's threads). */
  mainThreadCpuSeconds: number;
  /** The Kafka broker's, over the same span (0 when the stack was given). */
  brokerCpuSeconds: number;
  bytesPerEvent: number;
  recordBytesPerEvent: number;
  rows: number;
}

async function main() {
  const stack = await benchStack();
  const installed = await installStack();
  const postgresDir = await mkdtemp(join(tmpdir(), 'opentrail-bench-pg-'));
  const postgres = await startPostgres({ binaries: installed.postgres, dir: postgresDir });
  console.error(`PostgreSQL (${installed.postgres.source}) at ${postgres.url}`);
  try {
    const { kafka, registry } = stack;
    const run = randomUUID().slice(0, 8);
    const input = `bench-${run}.events.raw`;
    const produced = await preProduce(kafka, registry, input, recentFixtureEvents(EVENTS));
    console.error(`produced ${produced} events to ${input}`);
    const geoDatabases = openBundledGeoDatabases();
    // The broker's CPU in each measured span: the enricher leans on it (fetch, produce, transaction
    // markers) as history leans on PostgreSQL. Known when this process started the stack.
    const brokerPid = stack.pids.kafka;
    const brokerCpu = () => (brokerPid === undefined ? 0 : (cpuSeconds(brokerPid) ?? 0));

    /** The enricher over the raw input into a fresh enriched topic, as services/enricher/src/main.ts builds it. */
    const enricherRun = async (): Promise<{ throughput: Throughput; brokerCpuSeconds: number; enrichedTopic: string }> => {
      const { handler, enrichedTopic, eventSerde } = await enricherUnderTest(kafka, registry, run, geoDatabases);
      let brokerAtFirst = 0;
      let brokerAtEnd = 0;
      const throughput = await measureHandler({
        kafka, registry, inputTopic: input, count: produced, outputTopic: enrichedTopic, handler, serde: eventSerde, validate: validateApiCallEvent, transactional: true,
        onFirstBatch: () => (brokerAtFirst = brokerCpu()),
        onMeasured: () => (brokerAtEnd = brokerCpu()),
      });
      return { throughput, brokerCpuSeconds: brokerAtEnd - brokerAtFirst, enrichedTopic };
    };

    /** History over an enriched topic into a fresh database, timed from its first batch to the last row durable. */
    const historyRun = async (enrichedTopic: string, count: number): Promise<IngestRun> => {
      const database = `bench_${randomUUID().slice(0, 8)}`;
      const admin = new pg.Client({ connectionString: postgres.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${database}`);
      await admin.end();
      const url = postgres.url.replace(/\/opentrail$/, `/${database}`);
      const pool = createPool({ url, maxConnections: CONCURRENCY * IN_FLIGHT * WRITERS + 1 });
      await migrate(pool);
      // A server that has been running recycles its WAL segments at each checkpoint; a fresh one
      // (this benchmark's) creates and zero-fills a new 16 MB segment for every 16 MB of WAL, which
      // cost PostgreSQL 12-20 µs per event more (perf: pwritev of zeros). A checkpoint before
      // each round lets the round write into recycled segments, as a long-running server does.
      await pool.query('CHECKPOINT');
      const partitions = new PartitionManager(pool);
      const metrics = new ServiceMetrics('history');
      const m = historyMetrics(metrics);
      const ingest = new HistoryIngest({ writer: new EventWriter(pool, partitions), deadLetterTopic: `${enrichedTopic}.dlq`, retentionDays: 90, futureToleranceSeconds: 86_400, maxRows: MAX_ROWS, writers: WRITERS, writesInFlight: IN_FLIGHT, metrics: m, logger: createLogger('history', 'warn') });
      let firstBatchAt: bigint | undefined;
      let cpuAtFirst: NodeJS.CpuUsage | undefined;
      let pgCpuAtFirst = new Map<number, number>();
      let mainThreadAtFirst = 0;
      let brokerAtFirst = 0;
      const pgCpuStart = processTreeCpu(postgres.server.pid);
      const processor = new StreamProcessor<EnrichedEvent>({
        service: 'history',
        kafka,
        groupId: `bench-history-${randomUUID().slice(0, 8)}`,
        topic: enrichedTopic,
        serde: serdeFor(registry, 'EnrichedEvent'),
        // As services/history/src/main.ts checks them (and the enricher's run checks its input).
        validate: (value, bytes) => validateApiCallEvent(value.event, bytes),
        deadLetterTopic: `${enrichedTopic}.dlq`,
        // The service's handler as it runs (its writes pipelined, offsets held until durable), timed from its first batch.
        handler: {
          flush: (partition, reason) => ingest.flush(partition, reason),
          heldFrom: (partition) => ingest.heldFrom(partition),
          onRevoked: (partitions) => ingest.onRevoked(partitions),
          processBatch: async (records, context) => {
            if (!firstBatchAt) {
              cpuAtFirst = process.cpuUsage();
              firstBatchAt = process.hrtime.bigint();
              pgCpuAtFirst = await pgCpuStart;
              mainThreadAtFirst = mainThreadCpu();
              brokerAtFirst = brokerCpu();
            }
            return ingest.processBatch(records, context);
          },
        },
        logger: createLogger('history', 'warn'),
        metrics,
        partitionsConsumedConcurrently: CONCURRENCY,
        flushIntervalMs: 500,
        consumer: { maxBytesPerPartition: FETCH_BYTES, maxBytes: FETCH_BYTES * 6 },
      });
      await processor.start();
      try {
        const inserted = async () => (await metrics.registry.getSingleMetric('opentrail_history_rows_inserted_total')?.get())?.values[0]?.value ?? 0;
        const deadline = Date.now() + 600_000;
        while ((await inserted()) < count) {
          if (Date.now() > deadline) throw new Error(`timed out: ${await inserted()} of ${count} rows`);
          await new Promise((r) => setTimeout(r, 5));
        }
        const seconds = Number(process.hrtime.bigint() - firstBatchAt!) / 1e9;
        const cpu = process.cpuUsage(cpuAtFirst);
        const pgCpuSeconds = cpuBetween(pgCpuAtFirst, await processTreeCpu(postgres.server.pid));
        const mainThreadCpuSeconds = mainThreadCpu() - mainThreadAtFirst;
        const brokerCpuSeconds = brokerCpu() - brokerAtFirst;
        const { rows } = await pool.query<{ bytes: string; records: string; n: string }>(`
          SELECT (SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('events') WHERE isleaf)
               + (SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree('event_resources') WHERE isleaf) AS bytes,
                 (SELECT sum(octet_length(record)) FROM events) AS records,
                 (SELECT count(*) FROM events) AS n`);
        const n = Number(rows[0]!.n);
        return {
          events: count,
          seconds,
          eventsPerSecond: count / seconds,
          cpuSeconds: (cpu.user + cpu.system) / 1e6,
          pgCpuSeconds,
          mainThreadCpuSeconds,
          brokerCpuSeconds,
          bytesPerEvent: Number(rows[0]!.bytes) / n,
          recordBytesPerEvent: Number(rows[0]!.records) / n,
          rows: n,
        };
      } finally {
        await processor.stop();
        await pool.end();
      }
    };

    // A first round of each, not counted: JIT, the geo databases' pages, PostgreSQL's caches.
    const warm = await enricherRun();
    await historyRun(warm.enrichedTopic, produced);
    const rounds: { enrich: Throughput & { brokerCpuSeconds: number }; history: IngestRun }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const e = await enricherRun();
      const h = await historyRun(e.enrichedTopic, produced);
      rounds.push({ enrich: { ...e.throughput, brokerCpuSeconds: e.brokerCpuSeconds }, history: h });
      console.error(
        `round ${round}: enricher ${e.throughput.eventsPerSecond.toFixed(0)} events/s (node ${e.throughput.cpuSeconds?.toFixed(2)} + broker ${e.brokerCpuSeconds.toFixed(2)} CPU s); history ${h.eventsPerSecond.toFixed(0)} events/s (${h.seconds.toFixed(2)} s, node ${h.cpuSeconds?.toFixed(2)} + postgres ${h.pgCpuSeconds.toFixed(2)} + broker ${h.brokerCpuSeconds.toFixed(2)} CPU s): ${((h.eventsPerSecond / e.throughput.eventsPerSecond) * 100).toFixed(0)}% of the enricher`,
      );
    }
    const last = rounds[rounds.length - 1]!.history;
    const us = (seconds: number, events: number) => (seconds / events) * 1e6;
    const result = {
      events: produced,
      enricherEventsPerSecond: median(rounds.map((r) => r.enrich.eventsPerSecond)),
      historyEventsPerSecond: median(rounds.map((r) => r.history.eventsPerSecond)),
      historyVsEnricher: median(rounds.map((r) => r.history.eventsPerSecond / r.enrich.eventsPerSecond)),
      // Each service's own process: what a replica of it costs a core.
      enricherNodeCpuUsPerEvent: median(rounds.map((r) => us(r.enrich.cpuSeconds ?? Number.NaN, r.enrich.events))),
      historyNodeCpuUsPerEvent: median(rounds.map((r) => us(r.history.cpuSeconds ?? Number.NaN, r.history.events))),
      historyMainThreadUsPerEvent: median(rounds.map((r) => us(r.history.mainThreadCpuSeconds, r.history.events))),
      // And the servers each leans on: the broker for both, PostgreSQL for history.
      enricherBrokerCpuUsPerEvent: median(rounds.map((r) => us(r.enrich.brokerCpuSeconds, r.enrich.events))),
      historyBrokerCpuUsPerEvent: median(rounds.map((r) => us(r.history.brokerCpuSeconds, r.history.events))),
      postgresCpuUsPerEvent: median(rounds.map((r) => us(r.history.pgCpuSeconds, r.history.events))),
      enricherAllCpuUsPerEvent: median(rounds.map((r) => us((r.enrich.cpuSeconds ?? Number.NaN) + r.enrich.brokerCpuSeconds, r.enrich.events))),
      historyAllCpuUsPerEvent: median(rounds.map((r) => us((r.history.cpuSeconds ?? Number.NaN) + r.history.pgCpuSeconds + r.history.brokerCpuSeconds, r.history.events))),
      bytesPerEvent: last.bytesPerEvent,
      recordBytesPerEvent: last.recordBytesPerEvent,
    };
    const perSecond = (usPerEvent: number) => (1e6 / usPerEvent).toFixed(0);
    const brokerKnown = stack.pids.kafka !== undefined;
    console.log('\nhistory ingest (median of rounds, same input, same run):');
    console.log(`  enricher output          ${result.enricherEventsPerSecond.toFixed(0)} events/s`);
    console.log(`  history into PostgreSQL  ${result.historyEventsPerSecond.toFixed(0)} events/s = ${(result.historyVsEnricher * 100).toFixed(0)}% of the enricher's rate (goal: ≥ 100%: history is not the bottleneck)`);
    console.log(`  per core, the service    history ${perSecond(result.historyNodeCpuUsPerEvent)} events per CPU second (${result.historyNodeCpuUsPerEvent.toFixed(0)} µs per event; main thread ${result.historyMainThreadUsPerEvent.toFixed(0)}, the rest V8's workers and the Kafka client's threads)`);
    console.log(`                           enricher ${perSecond(result.enricherNodeCpuUsPerEvent)} (${result.enricherNodeCpuUsPerEvent.toFixed(0)} µs): history ${((result.enricherNodeCpuUsPerEvent / result.historyNodeCpuUsPerEvent) * 100).toFixed(0)}% of the enricher's events per core`);
    console.log(`  per core, with servers   PostgreSQL ${result.postgresCpuUsPerEvent.toFixed(0)} µs per event${brokerKnown ? `; broker ${result.historyBrokerCpuUsPerEvent.toFixed(0)} µs under history, ${result.enricherBrokerCpuUsPerEvent.toFixed(0)} µs under the enricher` : ' (broker: not measured, the stack was given)'}`);
    if (brokerKnown) console.log(`                           history ${perSecond(result.historyAllCpuUsPerEvent)} events per CPU second (${result.historyAllCpuUsPerEvent.toFixed(0)} µs), enricher ${perSecond(result.enricherAllCpuUsPerEvent)} (${result.enricherAllCpuUsPerEvent.toFixed(0)} µs)`);
    console.log(`  storage                  ${result.bytesPerEvent.toFixed(0)} bytes per event on disk (tables, indexes, TOAST; record text alone ${result.recordBytesPerEvent.toFixed(0)} bytes)`);
    console.log(JSON.stringify(result));
  } finally {
    await postgres.server.stop();
    await rm(postgresDir, { recursive: true, force: true });
    await stack.stop();
  }
}

await main();
