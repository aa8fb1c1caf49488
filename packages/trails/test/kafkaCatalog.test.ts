import avsc from 'avsc';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadSchemas, type TrailRecord as TrailRecordValue } from '@opentrail/serde';
import { configTrailRecord, type TrailRecord } from '../src/catalog.js';
import { canonicalJson, planSeed, sameDefinition, trailRecordFromValue, trailRecordValue, TrailRecordError } from '../src/kafkaCatalog.js';
import { trailSchema, type Trail, type TrailInput } from '../src/schema.js';

const trail = (name: string, extra: Partial<TrailInput> = {}): Trail => trailSchema.parse({ name, accountId: '111122223333', homeRegion: 'us-east-1', bucket: 'audit-logs', ...extra });

const apiRecord = (definition: Trail, isLogging = true): TrailRecord => ({ definition, isLogging, tags: [], createdAt: 1, updatedAt: 1, origin: 'api' });

/** Applies a plan's writes to what the topic holds, as the catalog's reader would. */
function applied(current: TrailRecord[], plan: ReturnType<typeof planSeed>): TrailRecord[] {
  const byName = new Map(current.map((r) => [r.definition.name, r]));
  for (const { record } of plan.writes) byName.set(record.definition.name, record);
  return [...byName.values()];
}

const arbTrail = fc
  .record({
    name: fc.constantFrom('alpha', 'beta', 'gamma', 'delta'),
    bucket: fc.constantFrom('audit-logs', 'other-bucket'),
    prefix: fc.option(fc.constantFrom('a', 'logs/x'), { nil: undefined }),
    regions: fc.constantFrom<'all' | string[]>('all', ['eu-west-1'], ['us-east-1', 'eu-west-1']),
    includeGlobalServiceEvents: fc.boolean(),
    selectors: fc.option(fc.constantFrom<'ReadOnly' | 'WriteOnly' | 'All'>('ReadOnly', 'WriteOnly', 'All'), { nil: undefined }),
  })
  .map(({ name, bucket, prefix, regions, includeGlobalServiceEvents, selectors }) =>
    trail(name, { bucket, ...(prefix ? { prefix } : {}), regions, includeGlobalServiceEvents, ...(selectors ? { eventSelectors: [{ readWriteType: selectors }] } : {}) }),
  );

const arbRecord = fc.record({ definition: arbTrail, origin: fc.constantFrom<'config' | 'api'>('config', 'api'), isLogging: fc.boolean() }).map(
  ({ definition, origin, isLogging }): TrailRecord => ({ definition, origin, isLogging, tags: [], createdAt: 5, updatedAt: 5 }),
);
/** What a topic holds: at most one record per name. */
const arbTopic = fc.uniqueArray(arbRecord, { selector: (r) => r.definition.name, maxLength: 4 });
const arbSeed = fc.uniqueArray(arbTrail, { selector: (t) => t.name, maxLength: 4 });

describe('planSeed: reconciling the configured trails with the topic', () => {
  it('writes a configured trail the topic does not hold, logging, with origin config', () => {
    const plan = planSeed([], [trail('alpha')], 1000);
    expect(plan.writes).toEqual([{ record: configTrailRecord(trail('alpha'), 1000), reason: 'new' }]);
    expect(plan.writes[0]!.record).toMatchObject({ isLogging: true, origin: 'config', startLoggingTime: 1000, createdAt: 1000 });
  });

  it('rewrites a config record whose definition the file changed, keeping its switch, times and tags', () => {
    const before: TrailRecord = { ...configTrailRecord(trail('alpha'), 10), isLogging: false, stopLoggingTime: 20, tags: [{ key: 'k', value: 'v' }] };
    const edited = trail('alpha', { bucket: 'other-bucket' });
    const plan = planSeed([before], [edited], 30);
    expect(plan.writes).toEqual([{ record: { ...before, definition: edited, updatedAt: 30 }, reason: 'changed' }]);
  });

  it('leaves a config record the file did not change alone', () => {
    const record = configTrailRecord(trail('alpha', { regions: ['eu-west-1'] }), 10);
    // Same trail, built again (another object, keys in another order): no write.
    const again = trailSchema.parse(JSON.parse(JSON.stringify({ ...record.definition })));
    expect(planSeed([record], [again], 30)).toEqual({ writes: [], ignored: [], unlisted: [] });
  });

  it('never overwrites an API-made record; names it as ignored only when the file differs', () => {
    const api = apiRecord(trail('alpha'));
    expect(planSeed([api], [trail('alpha', { bucket: 'other-bucket' })], 30)).toEqual({ writes: [], ignored: ['alpha'], unlisted: [] });
    expect(planSeed([api], [trail('alpha')], 30)).toEqual({ writes: [], ignored: [], unlisted: [] });
  });

  it('keeps config records the file no longer names (listed as unlisted), and ignores API ones', () => {
    const plan = planSeed([configTrailRecord(trail('alpha'), 1), apiRecord(trail('beta'))], [], 30);
    expect(plan).toEqual({ writes: [], ignored: [], unlisted: ['alpha'] });
  });

  it('properties: API records are never written, every configured trail exists afterwards, and planning again writes nothing', () => {
    fc.assert(
      fc.property(arbTopic, arbSeed, (topic, seed) => {
        const plan = planSeed(topic, seed, 99);
        const apiNames = new Set(topic.filter((r) => r.origin === 'api').map((r) => r.definition.name));
        for (const { record } of plan.writes) {
          expect(apiNames.has(record.definition.name)).toBe(false);
          expect(record.origin).toBe('config');
        }
        const after = applied(topic, plan);
        for (const t of seed) {
          const record = after.find((r) => r.definition.name === t.name)!;
          expect(record).toBeDefined();
          if (record.origin === 'config') expect(sameDefinition(record.definition, t)).toBe(true);
        }
        // Records the plan does not name are untouched.
        for (const r of topic) if (!plan.writes.some((w) => w.record.definition.name === r.definition.name)) expect(after).toContainEqual(r);
        expect(planSeed(after, seed, 100).writes).toEqual([]);
      }),
    );
  });
});

describe('canonicalJson', () => {
  it('is independent of key order and leaves out undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { f: 1, e: undefined }], c: 2 } })).toBe('{"a":{"c":2,"d":[3,{"f":1}]},"b":1}');
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }), (object) => {
        const reversed = Object.fromEntries(Object.entries(object).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(object));
        expect(JSON.parse(canonicalJson(object))).toEqual(JSON.parse(JSON.stringify(object)));
      }),
    );
  });

  it('refuses nesting deeper than any trail', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(TrailRecordError);
  });

  it('keeps a "__proto__" key as data', () => {
    const object = JSON.parse('{"__proto__": {"x": 1}, "a": 2}') as unknown;
    expect(canonicalJson(object)).toBe('{"__proto__":{"x":1},"a":2}');
  });
});

describe('trail record values', () => {
  const avro = loadSchemas().TrailRecord.type;
  const roundTrip = (record: TrailRecord) => trailRecordFromValue(record.definition.name, avro.fromBuffer(avro.toBuffer(trailRecordValue(record))) as TrailRecordValue);

  it('round-trip through Avro unchanged', () => {
    fc.assert(
      fc.property(
        arbRecord,
        fc.option(fc.nat(), { nil: undefined }),
        fc.option(fc.nat(), { nil: undefined }),
        fc.array(fc.record({ key: fc.string({ minLength: 1, maxLength: 5 }), value: fc.option(fc.string({ maxLength: 5 }), { nil: undefined }) }, { requiredKeys: ['key'] }), { maxLength: 3 }),
        (base, startLoggingTime, stopLoggingTime, tags) => {
          const record: TrailRecord = { ...base, ...(startLoggingTime !== undefined ? { startLoggingTime } : {}), ...(stopLoggingTime !== undefined ? { stopLoggingTime } : {}), tags: tags.map((t) => (t.value === undefined ? { key: t.key } : { key: t.key, value: t.value })) };
          expect(roundTrip(record)).toEqual(record);
        },
      ),
    );
  });

  it('write the definition as deterministic JSON with defaults applied', () => {
    const value = trailRecordValue(configTrailRecord(trail('alpha'), 1));
    expect(value.definition).toBe(canonicalJson(trail('alpha')));
    expect(JSON.parse(value.definition)).toMatchObject({ encryption: { mode: 'SSE_S3' }, regions: 'all' });
  });

  it('refuse a definition that is not JSON, not a valid trail, or names another trail', () => {
    const good = trailRecordValue(apiRecord(trail('alpha')));
    expect(() => trailRecordFromValue('alpha', { ...good, definition: '{"name":' })).toThrow(/not JSON/);
    expect(() => trailRecordFromValue('alpha', { ...good, definition: JSON.stringify({ ...trail('alpha'), bucket: 'UPPER' }) })).toThrow(/not a valid trail: bucket/);
    expect(() => trailRecordFromValue('alpha', { ...good, definition: JSON.stringify({ ...trail('alpha'), extra: 1 }) })).toThrow(TrailRecordError);
    expect(() => trailRecordFromValue('alpha', { ...good, definition: canonicalJson(trail('beta')) })).toThrow(/names trail "beta"/);
    expect(() => trailRecordFromValue('beta', good)).toThrow(/under the key "beta"/);
    expect(() => trailRecordFromValue('alpha', { ...good, definition: '[]' })).toThrow(TrailRecordError);
    expect(trailRecordFromValue('alpha', good)).toEqual(apiRecord(trail('alpha')));
  });

  it('read an origin this code does not know (a newer writer) as api, which the file never overwrites', () => {
    const schema = JSON.parse(loadSchemas().TrailRecord.canonical) as { fields: { name: string; type: { symbols?: string[] } }[] };
    schema.fields.find((f) => f.name === 'origin')!.type.symbols = ['config', 'api', 'operator'];
    const writer = avsc.Type.forSchema(schema as avsc.Schema);
    const written = writer.toBuffer({ ...trailRecordValue(configTrailRecord(trail('alpha'), 1)), origin: 'operator' });
    const record = trailRecordFromValue('alpha', avro.fromBuffer(written, avro.createResolver(writer)) as TrailRecordValue);
    expect(record.origin).toBe('api');
    expect(planSeed([record], [trail('alpha', { bucket: 'other-bucket' })], 2).writes).toEqual([]);
  });

  it('is never retriable', () => {
    expect(new TrailRecordError('x').canRetry).toBe(false);
  });
});
