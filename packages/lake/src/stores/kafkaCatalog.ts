import type { Logger, ServiceMetrics } from '@opentrail/observability';
import { CompactedTopicReader, ensureTopics, startupStep, writeAndApply, type CompactedTopicDecoder, type KafkaClient, type KafkaProducer } from '@opentrail/runtime';
import { serdeFor, valueSubject, type AvroSerde, type EventDataStoreRecord as EventDataStoreRecordValue, type SchemaRegistry } from '@opentrail/serde';
import { OpentrailError } from '@opentrail/errors';
import { canonicalJson } from '@opentrail/trails';
import { EventDataStoreTable, type EventDataStoreCatalogHandle, type EventDataStoreChange, type EventDataStoreRecord } from './catalog.js';
import { eventDataStoreSchema } from './schema.js';

/**
 * The Kafka-backed event data store catalog (catalog.ts is the contract), built like the trail
 * catalog: a compacted topic, one partition, key = store ID, value = schemas/event-data-store.avsc,
 * a tombstone removes. Every process that opens it reads the whole topic and follows it live;
 * writes resolve once this process's own reader has applied them. Stores have no configuration
 * file seed: they are made through the API only.
 */

/** Why a store record cannot be read. Never retriable: the record stays unreadable and is skipped. */
export class EventDataStoreRecordError extends OpentrailError<'INVALID_EVENT_DATA_STORE_RECORD'> {
  constructor(message: string) {
    super('INVALID_EVENT_DATA_STORE_RECORD', message);
  }
}

export function eventDataStoreRecordValue(record: EventDataStoreRecord): EventDataStoreRecordValue {
  return {
    id: record.definition.id,
    status: record.status,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    deletedAt: record.deletedAt ?? null,
    tags: record.tags.map((t) => ({ key: t.key, value: t.value ?? null })),
    definition: canonicalJson(record.definition),
  };
}

export function eventDataStoreRecordFromValue(key: string, value: EventDataStoreRecordValue): EventDataStoreRecord {
  if (value.id !== key) throw new EventDataStoreRecordError(`the record names store "${value.id.slice(0, 200)}" under the key "${key.slice(0, 200)}"`);
  let json: unknown;
  try {
    json = JSON.parse(value.definition);
  } catch (err) {
    throw new EventDataStoreRecordError(`the definition is not JSON: ${(err as Error).message}`);
  }
  const parsed = eventDataStoreSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new EventDataStoreRecordError(`the definition is not a valid event data store: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : parsed.error.message}`);
  }
  if (parsed.data.id !== key) throw new EventDataStoreRecordError(`the definition names store "${parsed.data.id}" under the key "${key.slice(0, 200)}"`);
  return {
    definition: parsed.data,
    status: value.status,
    tags: value.tags.map((t) => (t.value !== null ? { key: t.key, value: t.value } : { key: t.key })),
    createdAt: value.createdAt,
    updatedAt: value.updatedAt,
    ...(value.deletedAt !== null ? { deletedAt: value.deletedAt } : {}),
  };
}

export function eventDataStoreRecordDecoder(serde: AvroSerde<EventDataStoreRecordValue>): CompactedTopicDecoder<EventDataStoreRecord> {
  return {
    prepare: (values) => serde.prepare(values),
    decode: (value, key) => eventDataStoreRecordFromValue(key, serde.decode(value)),
  };
}

export interface EventDataStoreCatalogOptions {
  kafka: KafkaClient;
  registry: SchemaRegistry;
  /** The event data stores topic, prefix included (topicName(config, 'eventDataStores')). */
  topic: string;
  logger: Logger;
  /** Prefix of the reader's own consumer group (a fresh one per process). */
  groupIdPrefix: string;
  metrics?: ServiceMetrics;
  /** @default 1 */
  replicationFactor?: number;
  /** How long put/remove wait for this process's reader to apply the write. @default 30000 */
  writeTimeoutMs?: number;
}

class KafkaEventDataStoreCatalog implements EventDataStoreCatalogHandle {
  private readonly table = new EventDataStoreTable();
  readonly reader: CompactedTopicReader<EventDataStoreRecord>;
  private stopped = false;

  constructor(
    private readonly options: EventDataStoreCatalogOptions,
    private readonly serde: AvroSerde<EventDataStoreRecordValue>,
    private readonly producer: KafkaProducer,
  ) {
    this.reader = new CompactedTopicReader<EventDataStoreRecord>({
      kafka: options.kafka,
      topic: options.topic,
      groupIdPrefix: `${options.groupIdPrefix}-eventdatastores`,
      what: 'the event data stores topic',
      decoder: eventDataStoreRecordDecoder(serde),
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

  all(): EventDataStoreRecord[] {
    return this.table.all();
  }

  get(id: string): EventDataStoreRecord | undefined {
    return this.table.get(id);
  }

  onChange(listener: (change: EventDataStoreChange) => void): () => void {
    return this.table.onChange(listener);
  }

  async put(record: EventDataStoreRecord): Promise<void> {
    const parsed = eventDataStoreSchema.safeParse(record.definition);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new EventDataStoreRecordError(`store "${record.definition.id}" is not valid: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : parsed.error.message}`);
    }
    await this.write(record.definition.id, this.serde.encode(eventDataStoreRecordValue(record)));
  }

  async remove(id: string): Promise<void> {
    await this.write(id, null);
  }

  private async write(id: string, value: Buffer | null): Promise<void> {
    if (this.stopped) throw new Error('the event data store catalog is stopped');
    await writeAndApply({ producer: this.producer, reader: this.reader, topic: this.options.topic, key: id, value, timeoutMs: this.options.writeTimeoutMs ?? 30_000, what: `event data store "${id}"` });
  }

  async open(): Promise<void> {
    await this.reader.start();
    await this.reader.caughtUp;
    this.options.logger.info({ topic: this.options.topic, stores: this.table.all().length }, 'event data store catalog open');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.reader.stop();
    await this.producer.disconnect().catch(() => undefined);
  }
}

/** Opens the catalog: ensures the topic (1 partition, compacted), registers the schema, reads the topic to its end. */
export async function openEventDataStoreCatalog(options: EventDataStoreCatalogOptions): Promise<EventDataStoreCatalogHandle> {
  const { kafka, registry, topic } = options;
  await ensureTopics(kafka, [{ topic, partitions: 1, compacted: true }], { partitions: 1, replicationFactor: options.replicationFactor ?? 1 });
  const serde = serdeFor(registry, 'EventDataStoreRecord');
  await startupStep(`the schema of ${topic}`, () => serde.register(valueSubject(topic)));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await startupStep(`a producer for ${topic}`, () => producer.connect());
  const catalog = new KafkaEventDataStoreCatalog(options, serde, producer);
  try {
    await catalog.open();
  } catch (err) {
    await catalog.stop();
    throw err;
  }
  return catalog;
}
