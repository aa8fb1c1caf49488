/**
 * The Kafka-backed trail catalog on the real stack: seeding, reconciliation at restart, live
 * changes between two processes, tombstones, unreadable records, read-your-writes.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, ServiceMetrics } from '@opentrail/observability';
import { serdeFor, valueSubject } from '@opentrail/serde';
import { openTrailCatalog, trailRecordValue, trailSchema, type Trail, type TrailCatalogHandle, type TrailChange, type TrailRecord, type TrailInput } from '@opentrail/trails';
import { testKafka, testRegistry, uniquePrefix } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';

const kafka = testKafka('trail-catalog-test');
const registry = testRegistry();

function trail(name: string, extra: Partial<TrailInput> = {}): Trail {
  return trailSchema.parse({ name, accountId: '111122223333', homeRegion: 'us-east-1', bucket: 'catalog-test-bucket', ...extra });
}

function apiRecord(definition: Trail, now = Date.now()): TrailRecord {
  return { definition, isLogging: false, tags: [{ key: 'team', value: 'audit' }, { key: 'flag' }], createdAt: now, updatedAt: now, origin: 'api' };
}

/** A logger whose JSON lines the test can read. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('catalog-test', 'info', sink), lines };
}

async function endOffset(topic: string): Promise<bigint> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + BigInt(p.high), 0n);
  } finally {
    await admin.disconnect();
  }
}

const open: TrailCatalogHandle[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.stop()));
});

async function openCatalog(topic: string, seed: Trail[], extra: { logger?: ReturnType<typeof capturingLogger>['logger']; metrics?: ServiceMetrics } = {}) {
  const catalog = await openTrailCatalog({ kafka, registry, topic, seed, logger: extra.logger ?? capturingLogger().logger, groupIdPrefix: 'catalog-test', metrics: extra.metrics });
  open.push(catalog);
  return catalog;
}

describe('trail catalog on Kafka', () => {
  it('seeds an empty topic from the configuration, and reseeding the same file writes nothing', async () => {
    const topic = `${uniquePrefix('catalog')}trails`;
    const seed = [trail('alpha'), trail('beta', { prefix: 'logs', regions: ['eu-west-1'] })];
    const first = await openCatalog(topic, seed);
    expect(first.ready).toBe(true);
    expect(first.healthy).toBe(true);
    expect(first.all().map((r) => [r.definition.name, r.origin, r.isLogging])).toEqual([
      ['alpha', 'config', true],
      ['beta', 'config', true],
    ]);
    expect(first.get('beta')?.definition).toEqual(seed[1]);
    expect(first.active().map((t) => t.name)).toEqual(['alpha', 'beta']);
    const written = await endOffset(topic);
    expect(written).toBe(2n);
    await first.stop();

    const again = await openCatalog(topic, seed);
    expect(again.all().map((r) => r.definition.name)).toEqual(['alpha', 'beta']);
    expect(await endOffset(topic)).toBe(written);

    // The topic is compacted, one partition, and its values are registered under <topic>-value.
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { resources } = await admin.describeConfigs({ resources: [{ type: 2, name: topic, configNames: ['cleanup.policy'] }], includeSynonyms: false });
      expect(resources[0]?.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue).toBe('compact');
      expect((await admin.fetchTopicOffsets(topic)).length).toBe(1);
    } finally {
      await admin.disconnect();
    }
  });

  it('two catalogs on one topic see each other\'s puts and deletes live; writes are read back before they resolve', async () => {
    const topic = `${uniquePrefix('catalog')}trails`;
    const a = await openCatalog(topic, []);
    const b = await openCatalog(topic, []);
    const seenByB: TrailChange[] = [];
    b.onChange((change) => seenByB.push(change));

    const record = apiRecord(trail('gamma', { eventSelectors: [{ readWriteType: 'WriteOnly' }] }));
    await a.put(record);
    // Read-your-writes: the writer's own view holds the record as soon as put resolves.
    expect(a.get('gamma')).toEqual(record);
    expect(a.active()).toEqual([]);
    await waitFor(() => b.get('gamma'), 'b to see gamma', 30_000);
    expect(b.get('gamma')).toEqual(record);
    expect(seenByB[0]).toEqual({ name: 'gamma', after: record });

    const started = { ...record, isLogging: true, startLoggingTime: record.createdAt + 1, updatedAt: record.createdAt + 1 };
    await b.put(started);
    expect(b.active().map((t) => t.name)).toEqual(['gamma']);
    await waitFor(() => a.get('gamma')?.isLogging, 'a to see gamma logging', 30_000);
    expect(a.get('gamma')).toEqual(started);

    await a.delete('gamma');
    // A tombstone removes the trail, here at once and there live.
    expect(a.get('gamma')).toBeUndefined();
    await waitFor(() => b.get('gamma') === undefined, 'b to see gamma deleted', 30_000);
    expect(seenByB.map((c) => [c.name, c.before?.isLogging, c.after?.isLogging])).toEqual([
      ['gamma', undefined, false],
      ['gamma', false, true],
      ['gamma', true, undefined],
    ]);

    // A catalog opened later reads the history: gamma is gone.
    const c = await openCatalog(topic, []);
    expect(c.all()).toEqual([]);
  });

  it('at restart rewrites config trails the file changed, never API-made ones, and keeps trails the file dropped', async () => {
    const topic = `${uniquePrefix('catalog')}trails`;
    const first = await openCatalog(topic, [trail('from-file'), trail('dropped')]);
    await first.put(apiRecord(trail('from-api')));
    // StopLogging on a config trail: the switch is not the file's business.
    const stopped = { ...first.get('from-file')!, isLogging: false, stopLoggingTime: Date.now() };
    await first.put(stopped);
    await first.stop();

    const { logger, lines } = capturingLogger();
    const edited = trail('from-file', { bucket: 'another-bucket' });
    const second = await openCatalog(topic, [edited, trail('from-api', { bucket: 'file-bucket' })], { logger });
    expect(second.get('from-file')).toMatchObject({ definition: edited, origin: 'config', isLogging: false, stopLoggingTime: stopped.stopLoggingTime, createdAt: stopped.createdAt });
    expect(second.get('from-file')!.updatedAt).toBeGreaterThanOrEqual(stopped.updatedAt);
    expect(second.get('from-api')).toMatchObject({ origin: 'api', definition: trail('from-api') });
    expect(second.get('dropped')?.origin).toBe('config');
    expect(lines.filter((l) => l.trail === 'from-api' && /ignored/.test(String(l.msg)))).toHaveLength(1);
    expect(lines.some((l) => l.trail === 'from-file' && l.reason === 'changed')).toBe(true);
  });

  it('skips records it cannot read, with a warning and a metric, and reads the ones after them', async () => {
    const topic = `${uniquePrefix('catalog')}trails`;
    // The catalog creates the topic and registers the schema; then the bad records go in.
    await (await openCatalog(topic, [])).stop();
    const serde = serdeFor(registry, 'TrailRecord');
    await serde.register(valueSubject(topic));
    const good = apiRecord(trail('after-the-bad-ones'));
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({
        topic,
        messages: [
          { key: 'garbage', value: Buffer.from('not avro at all') },
          { key: 'bad-json', value: serde.encode({ ...trailRecordValue(apiRecord(trail('bad-json'))), definition: '{"name": "bad-json",' }) },
          { key: 'invalid', value: serde.encode({ ...trailRecordValue(apiRecord(trail('invalid'))), definition: JSON.stringify({ name: 'invalid', bucket: 'UPPER' }) }) },
          { key: 'mismatch', value: serde.encode(trailRecordValue(apiRecord(trail('other-name')))) },
          // A compacted topic refuses a record without a key; an empty one gets through.
          { key: '', value: serde.encode(trailRecordValue(apiRecord(trail('no-key')))) },
          { key: good.definition.name, value: serde.encode(trailRecordValue(good)) },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    const { logger, lines } = capturingLogger();
    const metrics = new ServiceMetrics('catalogtest');
    const catalog = await openCatalog(topic, [], { logger, metrics });
    expect(catalog.all()).toEqual([good]);
    expect(catalog.healthy).toBe(true);
    const skipped = lines.filter((l) => l.level === 'warn' && /skipped/.test(String(l.msg)));
    expect(skipped.map((l) => l.key)).toEqual(['garbage', 'bad-json', 'invalid', 'mismatch', undefined]);
    const counted = (await metrics.registry.getSingleMetric('opentrail_catalogtest_table_records_total')!.get()).values;
    expect(counted.find((v) => v.labels.kind === 'skipped')?.value).toBe(5);
    expect(counted.find((v) => v.labels.kind === 'value')?.value).toBe(1);

    // Still following: a put after the bad records is applied.
    await catalog.put(apiRecord(trail('later')));
    expect(catalog.all().map((r) => r.definition.name)).toEqual(['after-the-bad-ones', 'later']);
  });

  it('refuses to write a definition the trails schema refuses, and anything once stopped', async () => {
    const topic = `${uniquePrefix('catalog')}trails`;
    const catalog = await openCatalog(topic, []);
    const bad = apiRecord({ ...trail('fine'), bucket: 'Not_A_Bucket' });
    await expect(catalog.put(bad)).rejects.toThrow(/bucket/);
    expect(await endOffset(topic)).toBe(0n);
    await catalog.stop();
    await expect(catalog.put(apiRecord(trail('fine')))).rejects.toThrow(/stopped/);
    await expect(catalog.delete('fine')).rejects.toThrow(/stopped/);
    expect(await endOffset(topic)).toBe(0n);
  });
});
