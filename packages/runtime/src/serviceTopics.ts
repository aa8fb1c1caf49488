import { topicName, type CommonConfig } from '@opentrail/config';
import { serdeFor, valueSubject, type AvroSerde, type SchemaName, type SchemaRegistry, type SchemaTypes } from '@opentrail/serde';
import type { KafkaClient } from './kafkaClient.js';
import { ensureTopics, partitionCount, type TopicSpec } from './kafka.js';
import { startupStep } from './startup.js';

/**
 * One topic a service uses, by its role:
 * - `reads`: a topic it consumes (created if missing, so a service may start before its upstream);
 * - `writes`: a topic it produces to (its value schema, if any, is registered: the writer owns the subject);
 * - `table`: a compacted topic it keeps state or keys in (registered like a written topic).
 * The name is a pipeline topic (a TOPICS key of @opentrail/config, e.g. `enriched`) or any other
 * name (`archiver.state`), prefixed by topics.prefix either way.
 */
export type TopicDeclaration = ({ reads: string } | { writes: string } | { table: string }) & {
  /** The value schema: the context hands out its serde. */
  value?: SchemaName;
  /**
   * Registers the value schema under `<topic>-value` before start.
   * @default true for `writes` and `table`, false for `reads` (the writer owns the subject)
   */
  register?: boolean;
  /**
   * The full name from a configuration key, where one exists and is set (archiver.stateTopic,
   * OPENTRAIL_ARCHIVER_STATE_TOPIC): it wins over the declared name.
   */
  configured?: string | undefined;
  /**
   * A number, or as many as another declared topic has: a state table with a partition per input
   * partition, so each input partition's state has one transactional writer.
   * @default the configured topics.partitions
   */
  partitions?: number | { like: string };
  /**
   * False for a topic another package creates with its own settings (the trails package's
   * topics): named here, never created here.
   * @default true
   */
  ensure?: boolean;
};

export type TopicDeclarations = Record<string, TopicDeclaration>;

/** A service's topics: fixed, or from its configuration (where a key names one). */
export type TopicsOf<C, T extends TopicDeclarations> = T | ((config: C) => T);

/** The full names of the declared topics, by the names the service gave them. */
export type TopicNames<T> = { readonly [K in keyof T]: string };

/** A registered serde for every declared topic that names a value schema. */
export type TopicSerdes<T> = {
  readonly [K in keyof T as T[K] extends { value: SchemaName } ? K : never]: T[K] extends { value: infer N extends SchemaName } ? AvroSerde<SchemaTypes[N]> : never;
};

/** The name a topic is declared under (`reads`, `writes` or `table`). */
function declaredName(declaration: TopicDeclaration): string {
  return 'reads' in declaration ? declaration.reads : 'writes' in declaration ? declaration.writes : declaration.table;
}

/** The full topic names: the configured one where the key is set, else topics.prefix + the TOPICS name. */
export function resolveTopicNames<T extends TopicDeclarations>(declarations: T, config: Pick<CommonConfig, 'topics'>): TopicNames<T> {
  const names = new Map<string, string>();
  for (const [key, declaration] of Object.entries(declarations)) names.set(key, declaration.configured ?? topicName(config, declaredName(declaration)));
  return Object.freeze(Object.fromEntries(names)) as TopicNames<T>;
}

/**
 * The order topics are created in: those whose partition count is their own first, then those
 * that take the count of another (which must exist by then). A `like` naming no declared topic,
 * or one that itself copies another, is a programming error, reported before anything is created.
 */
export function topicCreationPlan(declarations: TopicDeclarations, names: Readonly<Record<string, string>>): { first: TopicSpec[]; then: { spec: TopicSpec; like: string }[] } {
  const first: TopicSpec[] = [];
  const then: { spec: TopicSpec; like: string }[] = [];
  for (const [key, declaration] of Object.entries(declarations)) {
    if (declaration.ensure === false) continue;
    const spec: TopicSpec = { topic: names[key]!, ...('table' in declaration ? { compacted: true } : {}) };
    const partitions = declaration.partitions;
    if (typeof partitions === 'object') {
      const model = Object.hasOwn(declarations, partitions.like) ? declarations[partitions.like] : undefined;
      if (!model) throw new Error(`topic ${key}: partitions like "${partitions.like}", which is not a declared topic`);
      if (typeof model.partitions === 'object') throw new Error(`topic ${key}: partitions like "${partitions.like}", which takes its own count from another topic`);
      then.push({ spec, like: names[partitions.like]! });
    } else {
      first.push(partitions === undefined ? spec : { ...spec, partitions });
    }
  }
  return { first, then };
}

/**
 * Creates the declared topics that are missing and registers the value schemas of the ones the
 * service writes, before its start() runs. Every step retries its transient failures (startup.ts).
 */
export async function prepareTopics<C extends Pick<CommonConfig, 'topics'>, T extends TopicDeclarations>(
  kafka: KafkaClient,
  registry: SchemaRegistry,
  topics: TopicsOf<C, T>,
  config: C,
): Promise<{ names: TopicNames<T>; serdes: TopicSerdes<T> }> {
  const declarations = typeof topics === 'function' ? topics(config) : topics;
  const names = resolveTopicNames(declarations, config);
  const plan = topicCreationPlan(declarations, names);
  if (plan.first.length > 0) await ensureTopics(kafka, plan.first, config.topics);
  for (const { spec, like } of plan.then) await ensureTopics(kafka, [{ ...spec, partitions: await partitionCount(kafka, like) }], config.topics);

  const serdes = new Map<string, AvroSerde<unknown>>();
  for (const [key, declaration] of Object.entries(declarations)) {
    if (!declaration.value) continue;
    const serde = serdeFor(registry, declaration.value) as AvroSerde<unknown>;
    if (declaration.register ?? !('reads' in declaration)) {
      const subject = valueSubject((names as Record<string, string>)[key]!);
      await startupStep(`schema registration of ${subject}`, () => serde.register(subject));
    }
    serdes.set(key, serde);
  }
  return { names, serdes: Object.freeze(Object.fromEntries(serdes)) as TopicSerdes<T> };
}
