/**
 * The enricher's figures (issue 3):
 * - throughput: the enricher's handler on the stream runtime, beside the runtime's pass-through
 *   measured in the same run on the same input (aim: at least 70% of it), in paired rounds of
 *   alternating order, with the CPU time each costs this process per event;
 * - memory: a fresh process holding the bundled geo databases and one million identities in the
 *   table (aim: its RSS at most 512 MB), and where that RSS goes (V8 heap, buffers and typed
 *   arrays outside it, the rest: code, the loader, the allocator).
 *
 * `npx tsx bench/enricher.bench.ts` (uses the stack of OPENTRAIL_KAFKA_BROKERS & co. when set,
 * else starts one). BENCH_EVENTS (default 20000), BENCH_ROUNDS (5), BENCH_TRANSACTIONAL (true, as
 * the enricher runs by default), BENCH_IDENTITIES (1000000). About two minutes on a quiet two-core machine.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fileURLToPath } from 'node:url';
import { toApiCallEvent, validateApiCallEvent, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { loadSchemas, type ApiCallEvent, type Identity } from '@opentrail/serde';
import { BUNDLED_GEO_DATABASES } from '../services/enricher/src/config.js';
import { GeoDatabase } from '../services/enricher/src/geoDatabase.js';
import { IdentityTable } from '../services/enricher/src/identityTable.js';
import { assumedRole, assumeRoleRecord, callRecord, iamUser } from '../services/enricher/test/records.js';
import { preProduce } from './lib/events.js';
import { syntheticIdentity } from './lib/identities.js';
import { measureHandler, measurePassThrough, type Throughput } from './lib/passthrough.js';
import { enricherUnderTest, openBundledGeoDatabases } from './lib/enricher-handler.js';
import { benchStack } from './lib/stack.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TRANSACTIONAL = (process.env.BENCH_TRANSACTIONAL ?? 'true') !== 'false';
const IDENTITIES = Number(process.env.BENCH_IDENTITIES ?? 1_000_000);

/**
 * The input: the 501 valid real CloudTrail records of test/fixtures (varied services, identities,
 * anonymised addresses), cycled with fresh eventIDs, plus one role session in twenty events: an
 * AssumeRole by an IAM user, then calls signed by the key it returned.
 */
function* workload(n: number): Generator<ApiCallEvent> {
  const fixtures = readFileSync(new URL('../test/fixtures/cloudtrail-records.ndjson', import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as CloudTrailRecord)
    .flatMap((record) => {
      try {
        const event = toApiCallEvent(record.eventID ? record : { ...record, eventID: randomUUID() });
        return validateApiCallEvent(event, 0) === undefined ? [event] : [];
      } catch {
        return [];
      }
    });
  for (let i = 0; i < n; i++) {
    if (i % 20 === 0) {
      const key = `ASIABENCH${String(i).padStart(11, '0')}`;
      yield toApiCallEvent(assumeRoleRecord({ caller: iamUser(`user${i % 50}`, `AKIABENCH${String(i % 50).padStart(11, '0')}`), roleName: `role${i % 7}`, sessionName: `s${i}`, newAccessKeyId: key }));
      continue;
    }
    if (i % 20 < 6) {
      const session = i - (i % 20);
      yield toApiCallEvent(callRecord({ userIdentity: assumedRole(`role${session % 7}`, `s${session}`, `ASIABENCH${String(session).padStart(11, '0')}`), eventName: 'GetObject', sourceIPAddress: `81.2.69.${i % 250}` }));
      continue;
    }
    yield { ...fixtures[i % fixtures.length]!, eventID: randomUUID() };
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function throughput() {
  const stack = await benchStack();
  try {
    const { kafka, registry } = stack;
    const run = randomUUID().slice(0, 8);
    const input = `bench-${run}.events.raw`;
    const produced = await preProduce(kafka, registry, input, workload(EVENTS));
    console.error(`produced ${produced} events to ${input}`);

    // Opened once, as a running enricher has them.
    const geoDatabases = openBundledGeoDatabases();
    const enricherRun = async (): Promise<Throughput> => {
      const { handler, enrichedTopic, eventSerde } = await enricherUnderTest(kafka, registry, run, geoDatabases);
      return measureHandler({ kafka, registry, inputTopic: input, count: produced, outputTopic: enrichedTopic, handler, serde: eventSerde, validate: validateApiCallEvent, transactional: TRANSACTIONAL });
    };
    const passThroughRun = () => measurePassThrough({ kafka, registry, inputTopic: input, count: produced, validate: validateApiCallEvent, transactional: TRANSACTIONAL });

    // One round of each first, not counted: the JIT, the geo databases' pages and the IAM data warm up.
    await passThroughRun();
    await enricherRun();
    const rounds: { pass: Throughput; enrich: Throughput }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // Paired and in alternating order, so that drift in the shared machine's load hits both
      // alike; the ratio is taken within each pair, where the load was about the same.
      const enricherFirst = round % 2 === 0;
      const first = await (enricherFirst ? enricherRun() : passThroughRun());
      const second = await (enricherFirst ? passThroughRun() : enricherRun());
      const [p, e] = enricherFirst ? [second, first] : [first, second];
      rounds.push({ pass: p, enrich: e });
      console.error(
        `round ${round}: pass-through ${p.eventsPerSecond.toFixed(0)} events/s (${p.seconds.toFixed(2)} s), enricher ${e.eventsPerSecond.toFixed(0)} events/s (${e.seconds.toFixed(2)} s): ${((e.eventsPerSecond / p.eventsPerSecond) * 100).toFixed(0)}%`,
      );
    }
    const perEventUs = (t: Throughput) => ((t.cpuSeconds ?? Number.NaN) / t.events) * 1e6;
    return {
      events: produced,
      pass: median(rounds.map((r) => r.pass.eventsPerSecond)),
      enrich: median(rounds.map((r) => r.enrich.eventsPerSecond)),
      ratio: median(rounds.map((r) => r.enrich.eventsPerSecond / r.pass.eventsPerSecond)),
      passCpuUs: median(rounds.map((r) => perEventUs(r.pass))),
      enrichCpuUs: median(rounds.map((r) => perEventUs(r.enrich))),
    };
  } finally {
    await stack.stop();
  }
}

/**
 * Memory of a process holding what a running enricher holds at rest: the bundled geo databases
 * and the identities table with IDENTITIES identities, each decoded from Avro as the identities
 * reader does. Run in a fresh process (see below), so that nothing else is in its heap.
 */
function memory() {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const type = loadSchemas().Identity.type;
  const geo = BUNDLED_GEO_DATABASES.map((p) => GeoDatabase.open(p));
  // maxmind's Reader holds each file whole in a Buffer.
  const geoBytes = BUNDLED_GEO_DATABASES.reduce((sum, p) => sum + statSync(p).size, 0);
  gc();
  gc();
  const start = process.memoryUsage();
  // The table is JS strings on the heap and typed-array columns outside it.
  const before = start.heapUsed + start.arrayBuffers;
  const table = new IdentityTable({ maxEntries: IDENTITIES });
  const started = Date.now();
  for (let i = 0; i < IDENTITIES; i++) {
    const identity = type.fromBuffer(type.toBuffer(syntheticIdentity(i))) as Identity;
    table.apply(identity.accessKeyId, identity);
  }
  const seconds = (Date.now() - started) / 1000;
  gc();
  gc();
  const usage = process.memoryUsage();
  if (geo.length === 0) throw new Error('no geo database');
  const mb = (n: number) => n / 2 ** 20;
  return {
    entries: table.size,
    tableMb: mb(usage.heapUsed + usage.arrayBuffers - before),
    tableHeapMb: mb(usage.heapUsed - start.heapUsed),
    heapMb: mb(usage.heapUsed),
    heapTotalMb: mb(usage.heapTotal),
    externalMb: mb(usage.external),
    geoMb: mb(geoBytes),
    rssMb: mb(usage.rss),
    seconds,
  };
}
type Memory = ReturnType<typeof memory>;

if (process.env.BENCH_MEMORY_CHILD === '1') {
  console.log(JSON.stringify(memory()));
  process.exit(0);
}

const t = await throughput();
// A fresh process for the memory figure: the throughput runs leave their garbage, buffers and
// connections in this one.
const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], { env: { ...process.env, BENCH_MEMORY_CHILD: '1' }, encoding: 'utf8', maxBuffer: 1 << 20 });
if (child.status !== 0) throw new Error(`memory measurement failed (${child.status}): ${child.stderr}`);
const m = JSON.parse(child.stdout.trim().split('\n').pop()!) as Memory;
console.log(`enricher throughput (${t.events} events, ${ROUNDS} paired rounds, median, ${TRANSACTIONAL ? 'transactional' : 'at-least-once'}):`);
console.log(`  runtime pass-through  ${t.pass.toFixed(0)} events/s, ${t.passCpuUs.toFixed(0)} us CPU per event in this process`);
console.log(`  enricher              ${t.enrich.toFixed(0)} events/s, ${t.enrichCpuUs.toFixed(0)} us CPU per event in this process`);
console.log(`  enricher / pass-through: ${(t.ratio * 100).toFixed(0)}% (median of the paired rounds; aim >= 70%) ${t.ratio >= 0.7 ? 'OK' : 'BELOW AIM'}`);
// Wall time on a shared machine swings with everything else it runs; CPU per event much less. When
// this process is what limits throughput, the ratio of throughputs is the inverse ratio of CPU.
const cpuRatio = t.passCpuUs / t.enrichCpuUs;
console.log(`  pass-through CPU / enricher CPU per event: ${(cpuRatio * 100).toFixed(0)}% (the throughput ratio where this process is the limit) ${cpuRatio >= 0.7 ? 'OK' : 'BELOW AIM'}`);
console.log(`identities table with ${m.entries} identities (half IAM-user keys, half STS sessions; loaded in ${m.seconds.toFixed(1)} s), in a fresh process with the bundled geo databases open:`);
console.log(`  process RSS ${m.rssMb.toFixed(0)} MB (aim <= 512 MB) ${m.rssMb <= 512 ? 'OK' : 'ABOVE AIM'}`);
console.log(`  table ${m.tableMb.toFixed(0)} MB (${((m.tableMb * 2 ** 20) / m.entries).toFixed(0)} bytes per identity): ${m.tableHeapMb.toFixed(0)} MB of heap, ${(m.tableMb - m.tableHeapMb).toFixed(0)} MB of typed-array columns`);
console.log(`  V8 heap ${m.heapMb.toFixed(0)} MB used of ${m.heapTotalMb.toFixed(0)} MB reserved (new space, free space in pages); outside it ${m.externalMb.toFixed(0)} MB, of which ${m.geoMb.toFixed(0)} MB the mmdb files; the rest of the RSS (code, loader, allocator) ${(m.rssMb - m.heapTotalMb - m.externalMb).toFixed(0)} MB`);
