import type { KafkaClient, KafkaProducer } from '@opentrail/runtime';
import type { Logger, ServiceMetrics } from '@opentrail/observability';
import { CompactedTopicReader, ensureTopics, startupStep, writeAndApply, type CompactedTopicDecoder } from '@opentrail/runtime';
import { serdeFor, valueSubject, type AvroSerde, type SchemaRegistry, type TrailRecord as TrailRecordValue } from '@opentrail/serde';
import { OpentrailError } from '@opentrail/errors';
import { TrailTable, configTrailRecord, type TrailCatalogHandle, type TrailChange, type TrailRecord } from './catalog.js';
import { trailSchema, type Trail } from './schema.js';

/**
 * The Kafka-backed trail catalog (catalog.ts is the contract): a compacted topic of trail records,
 * one partition, key = trail name, value = schemas/trail.avsc, a tombstone deletes. Every process
 * that opens it reads the whole topic (runtime's CompactedTopicReader) and follows it live; writes
 * are produced with an idempotent producer (acks all) and resolve once this process's own reader
 * has applied them (read-your-writes).
 *
 * Opening reconciles the configuration file's `trails:` (the seed) with the topic (`planSeed`):
 * - a configured trail the topic does not hold is written (`configTrailRecord`: logging);
 * - a record of origin `config` whose definition differs from the file is rewritten with the
 *   file's definition (the operator edited the file); its logging switch, times and tags stay;
 * - a record of origin `api` is never overwritten by the file (logged once per start);
 * - a `config` record the file no longer names stays: services whose configuration has no
 *   `trails:` open the catalog too, and must not delete every trail. DeleteTrail removes it.
 * Definitions are written as deterministic JSON (`canonicalJson`), so reseeding an unchanged file
 * writes nothing.
 */

/** Why a trail record cannot be read. Never retriable: the record stays unreadable. */
export class TrailRecordError extends OpentrailError<'INVALID_TRAIL_RECORD'> {
  constructor(message: string) {
    super('INVALID_TRAIL_RECORD', message);
  }
}

/** Nesting deeper than any valid trail definition: canonicalJson refuses it rather than recurse without bound. */
const MAX_JSON_DEPTH = 32;

/**
 * JSON with object keys sorted and undefined members left out: equal values give equal text, so a
 * definition compares (and is written) the same at every start.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value, 0));
}

function sortKeys(value: unknown, depth: number): unknown {
  if (depth > MAX_JSON_DEPTH) throw new TrailRecordError(`nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : sortKeys(item, depth + 1)));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[key];
    if (member !== undefined) out[key] = sortKeys(member, depth + 1);
  }
  return out;
}

/** Whether two definitions are the same trail (deterministic JSON of each). */
export function sameDefinition(a: Trail, b: Trail): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** The Avro value of a record. */
export function trailRecordValue(record: TrailRecord): TrailRecordValue {
  return {
    name: record.definition.name,
    origin: record.origin,
    isLogging: record.isLogging,
    startLoggingTime: record.startLoggingTime ?? null,
    stopLoggingTime: record.stopLoggingTime ?? null,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    tags: record.tags.map((t) => ({ key: t.key, value: t.value ?? null })),
    definition: canonicalJson(record.definition),
  };
}

/** The record of a decoded Avro value under `key`; throws TrailRecordError when it is not a valid trail of that name. */
export function trailRecordFromValue(key: string, value: TrailRecordValue): TrailRecord {
  if (value.name !== key) throw new TrailRecordError(`the record names trail "${value.name.slice(0, 200)}" under the key "${key.slice(0, 200)}"`);
  let json: unknown;
  try {
    json = JSON.parse(value.definition);
  } catch (err) {
    throw new TrailRecordError(`the definition is not JSON: ${(err as Error).message}`);
  }
  const parsed = trailSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TrailRecordError(`the definition is not a valid trail: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : parsed.error.message}`);
  }
  if (parsed.data.name !== key) throw new TrailRecordError(`the definition names trail "${parsed.data.name}" under the key "${key.slice(0, 200)}"`);
  return {
    definition: parsed.data,
    isLogging: value.isLogging,
    ...(value.startLoggingTime !== null ? { startLoggingTime: value.startLoggingTime } : {}),
    ...(value.stopLoggingTime !== null ? { stopLoggingTime: value.stopLoggingTime } : {}),
    tags: value.tags.map((t) => (t.value !== null ? { key: t.key, value: t.value } : { key: t.key })),
    createdAt: value.createdAt,
    updatedAt: value.updatedAt,
    origin: value.origin,
  };
}

/** What opening the catalog does with the configured trails. */
export interface SeedPlan {
  /** Records to write: new configured trails, and config records whose definition the file changed. */
  writes: { record: TrailRecord; reason: 'new' | 'changed' }[];
  /** Trails the file defines differently from an API-made record, which wins. */
  ignored: string[];
  /** Config records the file no longer names; they stay. */
  unlisted: string[];
}

/** The reconciliation rules (module comment), as a pure function of what the topic holds and the file says. */
export function planSeed(current: readonly TrailRecord[], seed: readonly Trail[], now: number): SeedPlan {
  const byName = new Map<string, TrailRecord>();
  for (const record of current) byName.set(record.definition.name, record);
  const plan: SeedPlan = { writes: [], ignored: [], unlisted: [] };
  const seeded = new Set<string>();
  for (const trail of seed) {
    if (seeded.has(trail.name)) continue;
    seeded.add(trail.name);
    const existing = byName.get(trail.name);
    if (!existing) plan.writes.push({ record: configTrailRecord(trail, now), reason: 'new' });
    else if (sameDefinition(existing.definition, trail)) continue;
    else if (existing.origin === 'config') plan.writes.push({ record: { ...existing, definition: trail, updatedAt: now }, reason: 'changed' });
    else plan.ignored.push(trail.name);
  }
  for (const record of current) {
    if (record.origin === 'config' && !seeded.has(record.definition.name)) plan.unlisted.push(record.definition.name);
  }
  return plan;
}

export interface TrailCatalogOptions {
  kafka: KafkaClient;
  registry: SchemaRegistry;
  /** The trails topic, prefix included (topicName(config, 'trails')). */
  topic: string;
  /** The configuration file's trails (config.trails), reconciled into the topic at open. */
  seed: Trail[];
  logger: Logger;
  /** Prefix of the catalog reader's own consumer group (a fresh one per process), e.g. the service's group. */
  groupIdPrefix: string;
  metrics?: ServiceMetrics;
  /** Of the topic, if it must be created. @default 1 */
  replicationFactor?: number;
  /** How long put/delete wait for this process's reader to apply the write before rejecting. @default 30000 */
  writeTimeoutMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** The Avro decoder of trail records: a record that is not a valid trail is skipped by the reader. */
export function trailRecordDecoder(serde: AvroSerde<TrailRecordValue>): CompactedTopicDecoder<TrailRecord> {
  return {
    prepare: (values) => serde.prepare(values),
    decode: (value, key) => trailRecordFromValue(key, serde.decode(value)),
  };
}

class KafkaTrailCatalog implements TrailCatalogHandle {
  private readonly table = new TrailTable();
  readonly reader: CompactedTopicReader<TrailRecord>;
  private stopped = false;

  constructor(
    private readonly options: TrailCatalogOptions,
    private readonly serde: AvroSerde<TrailRecordValue>,
    private readonly producer: KafkaProducer,
  ) {
    this.reader = new CompactedTopicReader<TrailRecord>({
      kafka: options.kafka,
      topic: options.topic,
      groupIdPrefix: `${options.groupIdPrefix}-trails`,
      what: 'the trails topic',
      decoder: trailRecordDecoder(serde),
      apply: (key, record) => this.table.apply(key, record),
      logger: options.logger,
      metrics: options.metrics,
    });
  }

  get ready(): boolean | string {
    return this.reader.ready;
  }

  get healthy(): boolean | string {
    return this.reader.healthy;
  }

  all(): TrailRecord[] {
    return this.table.all();
  }

  get(name: string): TrailRecord | undefined {
    return this.table.get(name);
  }

  active(): Trail[] {
    return this.table.active();
  }

  onChange(listener: (change: TrailChange) => void): () => void {
    return this.table.onChange(listener);
  }

  async put(record: TrailRecord): Promise<void> {
    const parsed = trailSchema.safeParse(record.definition);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new TrailRecordError(`trail "${record.definition.name}" is not a valid trail: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : parsed.error.message}`);
    }
    await this.write(record.definition.name, this.serde.encode(trailRecordValue(record)));
  }

  async delete(name: string): Promise<void> {
    await this.write(name, null);
  }

  /** Produces one record and waits until this process's reader has applied it. */
  private async write(name: string, value: Buffer | null): Promise<void> {
    if (this.stopped) throw new Error('the trail catalog is stopped');
    await writeAndApply({ producer: this.producer, reader: this.reader, topic: this.options.topic, key: name, value, timeoutMs: this.options.writeTimeoutMs ?? 30_000, what: `trail "${name}"` });
  }

  /** Reads the topic to its end and reconciles the seed (module comment). */
  async open(): Promise<void> {
    const { logger, seed, topic } = this.options;
    await this.reader.start();
    await this.reader.caughtUp;
    const plan = planSeed(this.table.all(), seed, (this.options.now ?? Date.now)());
    for (const name of plan.ignored) {
      logger.info({ topic, trail: name }, 'the configuration file defines this trail, but it was created or changed through the API: the file\'s version is ignored');
    }
    if (plan.unlisted.length) logger.info({ topic, trails: plan.unlisted }, 'trails seeded from an earlier configuration stay (delete them through the API)');
    for (const { record, reason } of plan.writes) {
      await this.put(record);
      logger.info({ topic, trail: record.definition.name, reason }, reason === 'new' ? 'trail seeded from the configuration file' : 'trail rewritten: the configuration file changed it');
    }
    logger.info({ topic, trails: this.table.all().length, active: this.table.active().length, written: plan.writes.length }, 'trail catalog open');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.reader.stop();
    await this.producer.disconnect().catch(() => undefined);
  }
}

/**
 * Opens the trail catalog: ensures the topic (1 partition, compacted), registers the schema under
 * `<topic>-value`, reads the topic to its end, reconciles the seed, and resolves with the live
 * handle. Its steps run as startup steps of the service's start (retried while transient).
 */
export async function openTrailCatalog(options: TrailCatalogOptions): Promise<TrailCatalogHandle> {
  const { kafka, registry, topic } = options;
  await ensureTopics(kafka, [{ topic, partitions: 1, compacted: true }], { partitions: 1, replicationFactor: options.replicationFactor ?? 1 });
  const serde = serdeFor(registry, 'TrailRecord');
  await startupStep(`the schema of ${topic}`, () => serde.register(valueSubject(topic)));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1});
  await startupStep(`a producer for ${topic}`, () => producer.connect());
  const catalog = new KafkaTrailCatalog(options, serde, producer);
  try {
    await catalog.open();
  } catch (err) {
    await catalog.stop();
    throw err;
  }
  return catalog;
}
