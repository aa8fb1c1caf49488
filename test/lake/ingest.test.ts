import { afterEach, describe, expect, it } from 'vitest';
import { toApiCallEvent, writeRecordJson, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { compileEventDataStores } from '@opentrail/lake';
import { serviceEnv, testKafka, uniquePrefix } from '../helpers/env.js';
import { createTopics } from '../helpers/kafka.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { EnrichedProducer } from '../archiver/helpers.js';
import { awsClients } from '../api/trail-helpers.js';
import { historyEvent } from '../history/ingest-helpers.js';
import { openStores, readStoreFiles, storeRecord } from './helpers.js';

/**
 * The lake service against real Kafka and S3 (moto): each event goes once into the table of every
 * event data store that selects it, as Parquet files by day, and a SIGKILL at any moment loses and
 * duplicates nothing (segment manifests, lakeIngest.ts).
 */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const aws = awsClients();
const FAST = { OPENTRAIL_LAKE_SESSION_TIMEOUT_MS: '6000', OPENTRAIL_LAKE_HEARTBEAT_INTERVAL_MS: '1000', OPENTRAIL_LAKE_ROLL_INTERVAL_SECONDS: '1', OPENTRAIL_LAKE_ROLL_MAX_ROWS: '700' };

async function setup(label: string) {
  const prefix = uniquePrefix(label);
  const kafka = testKafka();
  await createTopics(kafka, [`${prefix}events.enriched`, `${prefix}events.dlq`]);
  const stores = await openStores(kafka, prefix);
  cleanups.push(() => stores.stop());
  const producer = await EnrichedProducer.create(kafka, prefix);
  cleanups.push(() => producer.close());
  const bucket = `lake-${prefix.replace(/[^a-z0-9]/g, '')}`.slice(0, 40);
  return { prefix, stores, producer, bucket, env: serviceEnv(prefix, { OPENTRAIL_LAKE_BUCKET: bucket, ...FAST }) };
}

/** Every eventID of a store's table, with how often it is there. */
async function tableCounts(bucket: string, storeId: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const file of await readStoreFiles(aws.s3, bucket, 'lake', storeId)) for (const row of file.rows) counts.set(row.eventid!, (counts.get(row.eventid!) ?? 0) + 1);
  return counts;
}

function expectExactly(counts: Map<string, number>, expected: CloudTrailRecord[]) {
  const twice = [...counts].filter(([, n]) => n > 1);
  expect(twice, 'events stored twice').toEqual([]);
  const missing = expected.filter((r) => !counts.has(r.eventID!)).map((r) => r.eventID);
  expect(missing, 'events missing').toEqual([]);
  expect(counts.size).toBe(expected.length);
}

describe('lake: ingest', () => {
  it('writes each selected event once into each store that selects it, as Parquet by day, with the record\'s values', async () => {
    const { stores, producer, bucket, env } = await setup('lake');
    const all = storeRecord({ accountId: '111122223333', name: 'everything', organizationId: 'o-exampleorgid1' });
    const iam = storeRecord({ accountId: '111122223333', name: 'iam-writes', advancedEventSelectors: [{ fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }, { field: 'eventSource', notEquals: ['kms.amazonaws.com'] }, { field: 'readOnly', equals: ['false'] }] }] });
    await stores.put(all);
    await stores.put(iam);
    const records = Array.from({ length: 3000 }, (_, i) => historyEvent(i, 'lake', -(Math.floor(i / 7) % 3)));
    await producer.send(records);
    const lake = await startService('lake', env);
    cleanups.push(() => lake.kill());

    const matcher = compileEventDataStores([all, iam]);
    const expectedIn = (id: string) => records.filter((r) => matcher.select(toApiCallEvent(r)).some((s) => s.id === id));
    const wantAll = expectedIn(all.definition.id);
    const wantIam = expectedIn(iam.definition.id);
    expect(wantIam.length).toBeGreaterThan(0);
    expect(wantIam.length).toBeLessThan(wantAll.length);
    await waitFor(async () => (await tableCounts(bucket, all.definition.id)).size >= wantAll.length && (await tableCounts(bucket, iam.definition.id)).size >= wantIam.length, 'both tables complete', 120_000, 1000);
    expectExactly(await tableCounts(bucket, all.definition.id), wantAll);
    expectExactly(await tableCounts(bucket, iam.definition.id), wantIam);

    // Files by day; each row's values are the record's.
    const files = await readStoreFiles(aws.s3, bucket, 'lake', iam.definition.id);
    const byId = new Map(records.map((r) => [r.eventID!, r]));
    const days = new Set<string>();
    for (const file of files) {
      const day = /eventdate=(\d{4}-\d\d-\d\d)\//.exec(file.key)![1]!;
      days.add(day);
      for (const row of file.rows) {
        const record = byId.get(row.eventid!)!;
        expect(record.eventTime!.slice(0, 10)).toBe(day);
        expect(row.eventname).toBe(record.eventName);
        expect(row.eventsource).toBe(record.eventSource);
        expect(row.awsregion).toBe(record.awsRegion);
        expect(row.useridentity?.arn ?? null).toBe(record.userIdentity?.arn ?? null);
        // The record as the trails' log files hold it.
        expect(JSON.parse(row.eventjson!)).toEqual(JSON.parse(writeRecordJson(toApiCallEvent(record))));
      }
    }
    // The records span three dates, or four when the run starts just after midnight UTC (each day's
    // events reach up to 50 minutes back): one partition per date they fall on.
    const recordDays = new Set(wantIam.map((r) => r.eventTime!.slice(0, 10)));
    expect(recordDays.size).toBeGreaterThanOrEqual(3);
    expect([...days].sort()).toEqual([...recordDays].sort());
    expect(await lake.metric('opentrail_lake_rows_written_total')).toBe(wantAll.length + wantIam.length);
    expect((await fetch(`${lake.url}/readyz`)).status).toBe(200);
    expect((await lake.stop()).code).toBe(0);
  });

  it('SIGKILLed at 3 random moments while ingesting: every selected event in the store exactly once', { timeout: 420_000 }, async () => {
    const { stores, producer, bucket, env: base } = await setup('lakecrash');
    // Segments close by age only: their bounds then depend on timing, and only the manifests let a
    // replay rebuild the same ones (size-closed segments would end at the same record anyway).
    const env = { ...base, OPENTRAIL_LAKE_ROLL_MAX_ROWS: '1000000', OPENTRAIL_LAKE_ROLL_INTERVAL_SECONDS: '1' };
    const store = storeRecord({ accountId: '111122223333', name: 'crash', organizationId: 'o-exampleorgid1', advancedEventSelectors: [{ fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }] }] });
    await stores.put(store);
    const N = 12_000;
    const records = Array.from({ length: N }, (_, i) => historyEvent(i, 'lakecrash'));
    const want = records.filter((r) => compileEventDataStores([store]).select(toApiCallEvent(r)).length > 0);
    let lake: ServiceProcess = await startService('lake', env);
    cleanups.push(() => lake.kill());
    const producing = (async () => {
      for (let c = 0; c < 10; c++) {
        await producer.send(records.slice((c * N) / 10, ((c + 1) * N) / 10));
        await new Promise((r) => setTimeout(r, 400));
      }
    })();
    const moments: string[] = [];
    for (let k = 0; k < 3; k++) {
      // Each process counts from 0: kill once this one has stored some rows (or after 30 s, when
      // what is left is already in), then at a random moment in the next 1.5 s.
      const rows = 100 + Math.floor(Math.random() * 1000);
      await waitFor(async () => (await lake.metric('opentrail_lake_rows_written_total').catch(() => 0)) >= rows, `${rows} rows`, 30_000, 50).catch(() => undefined);
      const extraMs = Math.floor(Math.random() * 1500);
      await new Promise((r) => setTimeout(r, extraMs));
      await lake.kill();
      moments.push(`after ${rows} rows and ${extraMs} ms`);
      lake = await startService('lake', env);
    }
    await producing;
    await waitFor(async () => (await tableCounts(bucket, store.definition.id)).size >= want.length, `${want.length} events (kills ${moments.join('; ')})`, 180_000, 1000);
    await waitFor(async () => (await lake.metric('opentrail_consumer_lag').catch(() => 1)) === 0, 'lag 0', 60_000, 500).catch(() => undefined);
    expect((await lake.stop()).code).toBe(0);
    expectExactly(await tableCounts(bucket, store.definition.id), want);
  });
});
