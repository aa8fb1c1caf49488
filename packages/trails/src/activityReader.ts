import type { KafkaClient, KafkaProducer } from '@opentrail/runtime';
import type { Logger, ServiceMetrics } from '@opentrail/observability';
import { CompactedTopicReader, ensureTopics, startupStep } from '@opentrail/runtime';
import { serdeFor, valueSubject, type SchemaRegistry, type TrailActivity } from '@opentrail/serde';
import { activityRecorder, TrailActivityTable, type ActivityRecorder, type TrailActivityView } from './activity.js';

/**
 * The trail activity topic read as a table, for GetTrailStatus (activity.ts says what is in it).
 * `activity(trailName)` answers from memory; `ready` / `healthy` go to the API's /readyz and /healthz.
 */
export interface TrailActivityReader {
  activity(trailName: string): TrailActivityView;
  readonly ready: boolean | string;
  readonly healthy: boolean | string;
  stop(): Promise<void>;
}

export interface TrailActivityOptions {
  kafka: KafkaClient;
  registry: SchemaRegistry;
  /** The activity topic, prefix included (topicName(config, 'trailActivity')). */
  topic: string;
  logger: Logger;
  /** Prefix of the reader's own consumer group, e.g. the service's group. */
  groupIdPrefix: string;
  metrics?: ServiceMetrics;
  /** Of the topic, if it must be created. @default 1 */
  replicationFactor?: number;
}

/** Ensures the topic (1 partition, compacted): readers and writers may start in any order. */
async function ensureActivityTopic(kafka: KafkaClient, topic: string, replicationFactor = 1): Promise<void> {
  await ensureTopics(kafka, [{ topic, partitions: 1, compacted: true }], { partitions: 1, replicationFactor });
}

/** Starts reading the activity topic; resolves once the reader runs (it becomes ready once caught up). */
export async function openTrailActivityReader(options: TrailActivityOptions): Promise<TrailActivityReader> {
  const { kafka, registry, topic } = options;
  await ensureActivityTopic(kafka, topic, options.replicationFactor);
  const serde = serdeFor(registry, 'TrailActivity');
  const table = new TrailActivityTable();
  const reader = new CompactedTopicReader<TrailActivity>({
    kafka,
    topic,
    groupIdPrefix: `${options.groupIdPrefix}-activity`,
    what: 'the trail activity topic',
    decoder: { prepare: (values) => serde.prepare(values), decode: (value) => serde.decode(value) },
    apply: (key, value) => table.apply(key, value),
    logger: options.logger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
  await reader.start();
  return {
    activity: (trailName) => table.activity(trailName),
    get ready() {
      return reader.ready;
    },
    get healthy() {
      return reader.healthy;
    },
    stop: () => reader.stop(),
  };
}

/** A service's writer of trail activity: its recorder and the producer behind it. */
export interface TrailActivityWriter {
  recorder: ActivityRecorder;
  stop(): Promise<void>;
}

/**
 * Opens a writer (archiver, digester, notifier): ensures the topic, registers the schema, connects
 * a plain producer (activity is advisory: a lost or repeated record only moves a timestamp).
 */
export async function openTrailActivityWriter(options: { kafka: KafkaClient; registry: SchemaRegistry; topic: string; service: string; logger: Logger; replicationFactor?: number; intervalMs?: number }): Promise<TrailActivityWriter> {
  const { kafka, registry, topic, logger } = options;
  await ensureActivityTopic(kafka, topic, options.replicationFactor);
  const serde = serdeFor(registry, 'TrailActivity');
  await startupStep(`the schema of ${topic}`, () => serde.register(valueSubject(topic)));
  const producer: KafkaProducer = kafka.producer({ allowAutoTopicCreation: false });
  await startupStep(`a producer for ${topic}`, () => producer.connect());
  const recorder = activityRecorder(options.service, producer, topic, serde, logger, options.intervalMs);
  return {
    recorder,
    async stop() {
      await recorder.stop();
      await producer.disconnect().catch(() => undefined);
    },
  };
}
