import type { KafkaClient, KafkaProducer, ProducerOptions } from './kafkaClient.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError, commonBindings, loadConfig, type z, type CommonConfig, type EnvBinding } from '@opentrail/config';
import { createLogger, ServiceMetrics, startHealthServer, type Check, type HealthServer, type Logger } from '@opentrail/observability';
import { createSchemaRegistry, type SchemaRegistry } from '@opentrail/serde';
import { StreamProcessor, type ProcessorOptions } from './processor.js';
import { ServiceResources, type ServiceResource } from './serviceResources.js';
import { prepareTopics, type TopicDeclarations, type TopicsOf, type TopicNames, type TopicSerdes } from './serviceTopics.js';
import { createKafka } from './kafka.js';
import { backoffDelay, sleep } from './retry.js';
import { EXIT_CONFIG, EXIT_START_DEADLINE, EXIT_UNHEALTHY, StartDeadlineError, Startup } from './startup.js';
import { watchLiveness } from './livenessWatch.js';
import { transientCondition } from './transient.js';

/**
 * What a service's start() receives: everything wired from validated configuration, its declared
 * topics by name (created, their schemas registered), and the means to open what it runs so the
 * runtime knows how to check and stop it.
 */
export interface ServiceContext<C extends CommonConfig, T extends TopicDeclarations = Record<never, never>> {
  config: C;
  logger: Logger;
  metrics: ServiceMetrics;
  kafka: KafkaClient;
  registry: SchemaRegistry;
  /** The full names of the declared topics. */
  topics: TopicNames<T>;
  /** The serdes of the declared topics that name a value schema, registered where the service writes. */
  serdes: TopicSerdes<T>;
  /** Aborted when the service begins to stop, before anything is stopped (see ServiceResources). */
  stopping: AbortSignal;
  /**
   * A stream processor of this service (its Kafka client, logs and metrics filled in), started; its
   * readiness and liveness checked under `name`.
   * @default name 'consumer'
   */
  processor: <V>(options: ServiceProcessorOptions<V>, name?: string) => Promise<StreamProcessor<V>>;
  /** Starts a resource and registers it: stopped in reverse order of creation, its `ready` / `healthy` checked under `name`. */
  start: <R extends ServiceResource>(name: string, resource: R) => Promise<R>;
  /** Registers a resource opened already (a trail catalog from openTrailCatalog). */
  own: <R extends ServiceResource>(name: string, resource: R) => R;
  /** A connected producer, disconnected when the service stops. */
  producer: (options?: ProducerOptions) => Promise<KafkaProducer>;
  /** Something to undo when the service stops, in reverse order of registration among the rest. */
  onStop: (name: string, stop: () => void | Promise<void>) => void;
  /** A readiness check beyond those of the resources (a database probe). */
  ready: (name: string, check: Check) => void;
  /** A liveness check beyond those of the resources. */
  live: (name: string, check: Check) => void;
  /** Extra routes on the /metrics /healthz /readyz server; true when the request was answered. */
  routes: (handler: RouteHandler) => void;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

/** A processor's options without what the runtime fills in; each may still be given (a child logger). */
export type ServiceProcessorOptions<V> = Omit<ProcessorOptions<V>, 'service' | 'kafka' | 'logger' | 'metrics'> & Partial<Pick<ProcessorOptions<V>, 'logger'>>;

/** What a started service is to the runtime: how to stop it, what /healthz and /readyz check. */
export interface RunningService {
  stop(): Promise<void>;
  liveness?: Record<string, Check>;
  readiness?: Record<string, Check>;
  routes?: RouteHandler;
}

export interface ServiceDefinition<S extends z.ZodType<CommonConfig>, T extends TopicDeclarations = Record<never, never>> {
  /** e.g. enricher: metric prefix opentrail_enricher_, log field service=enricher. */
  name: string;
  /** Common keys plus the service's own (compose with commonShape). */
  configSchema: S;
  /** Environment variables beyond the common ones. */
  bindings?: EnvBinding[];
  /** The topics it reads, writes and keeps tables in: created and registered before start() runs. */
  topics?: TopicsOf<z.infer<S>, T>;
  /**
   * Wires the service's domain objects, opening what it runs through the context. Whatever it
   * opened is stopped if it throws (and again tried, if the failure is transient).
   */
  start(context: ServiceContext<z.infer<S>, T>): Promise<void>;
  /** How long a clean stop may take before the process exits anyway. @default 30000 */
  stopTimeoutMs?: number;
}

export interface ServiceHandle {
  http: HealthServer;
  stop(): Promise<void>;
  /** Resolves with the reasons when the service's liveness checks keep failing (livenessWatch.ts). */
  unhealthy: Promise<string>;
}

/** How often a started service asks its own liveness checks (two failures in a row: unhealthy). */
const LIVENESS_WATCH_MS = 5_000;

/**
 * Wires a service: configuration (validated; a mistake stops start-up with every bad key named),
 * JSON logs, metrics, the /metrics /healthz /readyz server, and a clean stop on SIGTERM or SIGINT.
 * A service's main.ts is one call to this.
 */
export async function runService<S extends z.ZodType<CommonConfig>, T extends TopicDeclarations>(definition: ServiceDefinition<S, T>, env: NodeJS.ProcessEnv = process.env): Promise<ServiceHandle> {
  let loaded;
  try {
    loaded = loadConfig(definition.configSchema, { env, bindings: [...commonBindings, ...(definition.bindings ?? [])] });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${JSON.stringify({ level: 'fatal', service: definition.name, time: new Date().toISOString(), msg: err.message, problems: err.problems })}\n`);
      process.stderr.write(`${definition.name}: ${err.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
  const config = loaded.config;
  const logger = createLogger(definition.name, config.log.level);
  for (const warning of loaded.warnings) logger.warn(warning);
  if (config.kafka.instanceId !== undefined && config.kafka.client === 'kafkajs') logger.warn({ instanceId: config.kafka.instanceId }, 'kafka.instanceId (OPENTRAIL_INSTANCE_ID) asks for static group membership, which kafkajs does not have: the consumer groups use dynamic membership');
  const metrics = new ServiceMetrics(definition.name);
  const registry = createSchemaRegistry(config.schemaRegistry);
  const startup = new Startup({ deadlineMs: config.start.deadlineSeconds * 1000, logger, metrics });

  let running: RunningService | undefined;
  let startError: string | undefined;
  const http = await startHealthServer({
    port: config.http.port,
    host: config.http.host,
    registry: metrics.registry,
    liveness: () => ({ started: () => startError ?? true, ...running?.liveness }),
    readiness: () => ({ started: () => (running ? true : (startError ?? startup.waitingFor ?? 'starting')), ...running?.readiness }),
    routes: (req, res) => running?.routes?.(req, res) ?? false,
  });
  logger.info({ metrics: `${http.url}/metrics`, port: http.port, startDeadlineSeconds: config.start.deadlineSeconds }, `${definition.name} starting`);

  try {
    running = await startup.run(() => startWithRetries(definition, { config, logger, metrics, registry }, startup));
  } catch (err) {
    startError = (err as Error).message;
    logger.fatal({ err }, `${definition.name} failed to start: ${startError}`);
    await http.close();
    throw err;
  }
  logger.info({ metrics: `${http.url}/metrics` }, `${definition.name} started`);
  const liveness = watchLiveness(() => running?.liveness, { intervalMs: LIVENESS_WATCH_MS });
  const unhealthy = liveness.failed.then((reason) => {
    logger.fatal({ reason }, `${definition.name} stopped working for good (${reason}); stopping so that it is restarted`);
    return reason;
  });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      liveness.stop();
      logger.info(`${definition.name} stopping`);
      const timeout = setTimeout(() => {
        logger.error(`${definition.name} did not stop within ${definition.stopTimeoutMs ?? 30_000} ms; exiting`);
        process.exit(1);
      }, definition.stopTimeoutMs ?? 30_000);
      timeout.unref();
      try {
        await running?.stop();
      } finally {
        await http.close();
        clearTimeout(timeout);
        logger.info(`${definition.name} stopped`);
      }
    })();
    return stopping;
  };
  return { http, stop, unhealthy };
}

/**
 * The entry point of a service process: runs it and stops it cleanly on SIGTERM/SIGINT (a second
 * signal exits at once), or when it stopped working for good (exit code SERVICE_EXIT.unhealthy, for
 * its supervisor to restart it).
 */
export function main<S extends z.ZodType<CommonConfig>, T extends TopicDeclarations = Record<never, never>>(definition: ServiceDefinition<S, T>): void {
  runService(definition).then(
    (handle) => {
      let stopping = false;
      const stopAndExit = (why: string, code: number) => {
        if (stopping) process.exit(130);
        stopping = true;
        handle.stop().then(
          () => process.exit(code),
          (err: unknown) => {
            process.stderr.write(`${definition.name}: stop failed after ${why}: ${(err as Error).message}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stopAndExit('SIGTERM', 0));
      process.on('SIGINT', () => stopAndExit('SIGINT', 0));
      void handle.unhealthy.then(() => {
        if (!stopping) stopAndExit('failing liveness checks', EXIT_UNHEALTHY);
      });
    },
    (err: unknown) => {
      process.stderr.write(`${definition.name}: ${(err as Error).stack ?? String(err)}\n`);
      // A supervisor (the demo, Kubernetes) tells "gave up waiting" from a crash by the code.
      process.exit(err instanceof StartDeadlineError ? EXIT_START_DEADLINE : 1);
    },
  );
}

/**
 * The start itself. Every step the runtime offers (topics, state topics, the consumer group, schema
 * registration through the serde) retries its own transient failures; a transient failure that
 * still escapes start() (a step a service takes on its own: an S3 bucket check, a database) starts
 * it again from the beginning, after stopping what the failed attempt opened and closing every
 * Kafka client it made, until the deadline. A fault that is not transient fails the start at once.
 */
async function startWithRetries<S extends z.ZodType<CommonConfig>, T extends TopicDeclarations>(
  definition: ServiceDefinition<S, T>,
  context: { config: z.infer<S>; logger: Logger; metrics: ServiceMetrics; registry: SchemaRegistry },
  startup: Startup,
): Promise<RunningService> {
  const { logger, metrics, config } = context;
  let logged = false;
  for (let attempt = 1; ; attempt++) {
    const tracked = trackedKafka(createKafka(config.kafka, `opentrail-${definition.name}`, logger, metrics));
    try {
      const { names, serdes } = await prepareTopics(tracked.kafka, context.registry, definition.topics ?? ({} as T), config);
      const running = await openService(definition, { ...context, kafka: tracked.kafka, topics: names, serdes });
      tracked.release();
      return running;
    } catch (err) {
      await tracked.close();
      const condition = transientCondition(err);
      if (condition === undefined) throw err;
      const delay = backoffDelay(attempt, 500, 10_000);
      startup.waitingOn(`${definition.name} to start`, condition, err, delay);
      if (!logged) {
        logged = true;
        logger.warn({ condition, err: { message: (err as Error).message } }, `${definition.name} start met ${condition}; starting again until the start deadline`);
      }
      await sleep(delay);
    }
  }
}

/**
 * One start attempt: runs the definition's start() with a context whose resources register
 * themselves, and derives the running service from them. A start that throws has what it opened
 * stopped (in reverse order) before the error goes on.
 */
export async function openService<C extends CommonConfig, T extends TopicDeclarations>(
  definition: { name: string; start(context: ServiceContext<C, T>): Promise<void> },
  base: Pick<ServiceContext<C, T>, 'config' | 'logger' | 'metrics' | 'kafka' | 'registry' | 'topics' | 'serdes'>,
): Promise<RunningService> {
  const resources = new ServiceResources(base.logger);
  let routes: RouteHandler | undefined;
  const context: ServiceContext<C, T> = {
    ...base,
    stopping: resources.signal,
    processor: (options, name = 'consumer') => {
      // Static membership where the instance has a stable name: a group has one member per instance.
      const { instanceId } = base.config.kafka;
      const consumer = instanceId === undefined ? options.consumer : { groupInstanceId: instanceId, ...options.consumer };
      return resources.start(name, new StreamProcessor({ ...options, consumer, service: definition.name, kafka: base.kafka, logger: options.logger ?? base.logger, metrics: base.metrics }));
    },
    start: (name, resource) => resources.start(name, resource),
    own: (name, resource) => resources.own(name, resource),
    producer: async (options) => {
      const producer = base.kafka.producer(options);
      resources.onStop('producer', () => producer.disconnect());
      await producer.connect();
      return producer;
    },
    onStop: (name, stop) => resources.onStop(name, stop),
    ready: (name, check) => resources.ready(name, check),
    live: (name, check) => resources.live(name, check),
    routes: (handler) => {
      if (routes) throw new Error(`${definition.name}: routes registered twice`);
      routes = handler;
    },
  };
  try {
    await definition.start(context);
  } catch (err) {
    await resources.stop().catch((stopErr: unknown) => base.logger.warn({ err: stopErr }, `${definition.name}: stopping what a failed start opened failed`));
    throw err;
  }
  return {
    stop: () => resources.stop(),
    readiness: resources.readinessChecks,
    liveness: resources.livenessChecks,
    ...(routes ? { routes } : {}),
  };
}

/**
 * A Kafka client whose producers, consumers and admins are remembered, so that a failed start
 * attempt leaves no connection, group membership or transactional id behind when the next begins.
 */
function trackedKafka(client: KafkaClient): { kafka: KafkaClient; close(): Promise<void>; release(): void } {
  const opened: { disconnect(): Promise<void> }[] = [];
  let tracking = true;
  // Only during the attempt: the services create admin clients all their life (catch-ups).
  function remember<C extends { disconnect(): Promise<void> }>(made: C): C {
    if (tracking) opened.push(made);
    return made;
  }
  const kafka: KafkaClient = {
    producer: (options) => remember(client.producer(options)),
    consumer: (options) => remember(client.consumer(options)),
    groupConsumer: (options) => remember(client.groupConsumer(options)),
    admin: () => remember(client.admin()),
  };
  const close = async () => {
    await Promise.all(opened.map((made) => made.disconnect().catch(() => undefined)));
  };
  const release = () => {
    tracking = false;
    opened.length = 0;
  };
  return { kafka, close, release };
}
