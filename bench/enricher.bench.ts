/**
 * The enricher's figures (issue 3):
 * - throughput: the enricher's handler on the stream runtime, beside the runtime's pass-through
 *   measured in the same run on the same input (aim: at least 70% of it);
 * - memory: heap of the identities table holding one million identities (aim: at most 512 MB).
 *
 * `npx tsx bench/enricher.bench.ts` (uses the stack of OPENTRAIL_KAFKA_BROKERS & co. when set,
 * else starts one). BENCH_EVENTS (default 40000), BENCH_ROUNDS (3), BENCH_TRANSACTIONAL (true, as
 * the enricher runs by default), BENCH_IDENTITIES (1000000).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { toApiCallEvent, validateApiCallEvent, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { ServiceMetrics } from '@opentrail/observability';
import { loadSchemas, serdeFor, valueSubject, type ApiCallEvent, type Identity } from '@opentrail/serde';
import { BUNDLED_GEO_DATABASES } from '../services/enricher/src/config.js';
import { EnrichedEventCodec } from '../services/enricher/src/enrichedEventCodec.js';
import { Enricher } from '../services/enricher/src/enricher.js';
import { GeoDatabase } from '../services/enricher/src/geoDatabase.js';
import { GeoLocator } from '../services/enricher/src/geoLocator.js';
import { IdentityResolver } from '../services/enricher/src/identityResolution.js';
import { IdentityTable } from '../services/enricher/src/identityTable.js';
import { enricherMetrics } from '../services/enricher/src/metrics.js';
import { ServiceClassifier } from '../services/enricher/src/serviceClassification.js';
import { assumedRole, assumeRoleRecord, callRecord, iamUser } from '../services/enricher/test/records.js';
import { createTopic, preProduce } from './lib/events.js';
import { syntheticIdentity } from './lib/identities.js';
import { measureHandler, measurePassThrough, type Throughput } from './lib/passthrough.js';
import { benchStack } from './lib/stack.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 40_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
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
    const geoDatabases = BUNDLED_GEO_DATABASES.map((p) => GeoDatabase.open(p));
    const enricherRun = async (): Promise<Throughput> => {
      const suffix = randomUUID().slice(0, 8);
      const enrichedTopic = `bench-${run}.events.enriched-${suffix}`;
      const identitiesTopic = `bench-${run}.identities-${suffix}`;
      await createTopic(kafka, enrichedTopic, 6);
      await createTopic(kafka, identitiesTopic, 6, { 'cleanup.policy': 'compact' });
      const enrichedSerde = serdeFor(registry, 'EnrichedEvent');
      await enrichedSerde.register(valueSubject(enrichedTopic));
      const identitySerde = serdeFor(registry, 'Identity');
      await identitySerde.register(valueSubject(identitiesTopic));
      // Built as services/enricher/src/main.ts builds it, with the bundled geo databases.
      const eventSerde = serdeFor(registry, 'ApiCallEvent');
      const table = new IdentityTable();
      const services = new ServiceClassifier();
      await services.prepare([]);
      const handler = new Enricher({
        table,
        resolver: new IdentityResolver(table, 8),
        geo: new GeoLocator(geoDatabases, 50_000),
        services,
        enriched: new EnrichedEventCodec(enrichedSerde, eventSerde),
        identitySerde,
        enrichedTopic,
        identitiesTopic,
        metrics: enricherMetrics(new ServiceMetrics('enricher'), { tableEntries: () => table.size, geoDatabases: () => [] }),
      });
      return measureHandler({ kafka, registry, inputTopic: input, count: produced, outputTopic: enrichedTopic, handler, serde: eventSerde, validate: validateApiCallEvent, transactional: TRANSACTIONAL });
    };
    const passThroughRun = () => measurePassThrough({ kafka, registry, inputTopic: input, count: produced, validate: validateApiCallEvent, transactional: TRANSACTIONAL });

    // One round of each first, not counted: the JIT, the geo databases' pages and the IAM data warm up.
    await passThroughRun();
    await enricherRun();
    const pass: number[] = [];
    const enrich: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate, so that drift in the shared machine's load hits both alike.
      const p = await passThroughRun();
      const e = await enricherRun();
      pass.push(p.eventsPerSecond);
      enrich.push(e.eventsPerSecond);
      console.error(`round ${round}: pass-through ${p.eventsPerSecond.toFixed(0)} events/s (${p.seconds.toFixed(2)} s), enricher ${e.eventsPerSecond.toFixed(0)} events/s (${e.seconds.toFixed(2)} s)`);
    }
    return { events: produced, pass: median(pass), enrich: median(enrich) };
  } finally {
    await stack.stop();
  }
}

/** Heap of the table with IDENTITIES identities in it, each decoded from Avro as the identities reader does. */
function memory() {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const type = loadSchemas().Identity.type;
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const table = new IdentityTable({ maxEntries: IDENTITIES });
  const started = Date.now();
  for (let i = 0; i < IDENTITIES; i++) {
    const identity = type.fromBuffer(type.toBuffer(syntheticIdentity(i))) as Identity;
    table.apply(identity.accessKeyId, identity);
  }
  const seconds = (Date.now() - started) / 1000;
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  return { entries: table.size, tableMb: (after - before) / 2 ** 20, heapMb: after / 2 ** 20, rssMb: process.memoryUsage().rss / 2 ** 20, seconds };
}

const t = await throughput();
const m = memory();
const ratio = t.enrich / t.pass;
console.log(`enricher throughput (${t.events} events, ${ROUNDS} rounds, median, ${TRANSACTIONAL ? 'transactional' : 'at-least-once'}):`);
console.log(`  runtime pass-through  ${t.pass.toFixed(0)} events/s`);
console.log(`  enricher              ${t.enrich.toFixed(0)} events/s = ${(ratio * 100).toFixed(0)}% of pass-through (aim >= 70%) ${ratio >= 0.7 ? 'OK' : 'BELOW AIM'}`);
console.log(`identities table with ${m.entries} identities (half IAM-user keys, half STS sessions; loaded in ${m.seconds.toFixed(1)} s):`);
console.log(`  table heap ${m.tableMb.toFixed(0)} MB, process heap ${m.heapMb.toFixed(0)} MB (aim <= 512 MB) ${m.heapMb <= 512 ? 'OK' : 'ABOVE AIM'}; process RSS ${m.rssMb.toFixed(0)} MB (includes the 134 MB of mmdb files and the throughput runs)`);
