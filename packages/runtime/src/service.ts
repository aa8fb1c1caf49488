import type { KafkaClient } from './kafkaClient.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError, commonBindings, loadConfig, type z, type CommonConfig, type EnvBinding } from '@opentrail/config';
import { createLogger, ServiceMetrics, startHealthServer, type Check, type HealthServer, type Logger } from '@opentrail/observability';
import { createSchemaRegistry, type SchemaRegistry } from '@opentrail/serde';
import { createKafka, kafkajsOf } from './kafka.js';
import { backoffDelay, sleep } from './retry.js';
import { EXIT_CONFIG, EXIT_START_DEADLINE, StartDeadlineError, Startup } from './startup.js';
import { transientCondition } from './transient.js';

/** What a service's start() receives: everything wired from validated configuration. */
export interface ServiceContext<C extends CommonConfig> {
  config: C;
  logger: Logger;
  metrics: ServiceMetrics;
  kafka: KafkaClient;
  registry: SchemaRegistry;
}

/** What a started service hands back: how to stop it, and what /healthz and /readyz should check. */
export interface RunningService {
  stop(): Promise<void>;
  liveness?: Record<string, Check>;
  readiness?: Record<string, Check>;
  routes?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
}

export interface ServiceDefinition<S extends z.ZodType<CommonConfig>> {
  /** e.g. enricher: metric prefix opentrail_enricher_, log field service=enricher. */
  name: string;
  /** Common keys plus the service's own (compose with commonShape). */
  configSchema: S;
  /** Environment variables beyond the common ones. */
  bindings?: EnvBinding[];
  start(context: ServiceContext<z.infer<S>>): Promise<RunningService>;
  /** How long a clean stop may take before the process exits anyway. @default 30000 */
  stopTimeoutMs?: number;
}

export interface ServiceHandle {
  http: HealthServer;
  stop(): Promise<void>;
}

/**
 * Wires a service: configuration (validated; a mistake stops start-up with every bad key named),
 * JSON logs, metrics, the /metrics /healthz /readyz server, and a clean stop on SIGTERM or SIGINT.
 * A service's main.ts is one call to this.
 */
export async function runService<S extends z.ZodType<CommonConfig>>(definition: ServiceDefinition<S>, env: NodeJS.ProcessEnv = process.env): Promise<ServiceHandle> {
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

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
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
  return { http, stop };
}

/**
 * The entry point of a service process: runs it and stops it cleanly on SIGTERM/SIGINT (a second
 * signal exits at once).
 */
export function main<S extends z.ZodType<CommonConfig>>(definition: ServiceDefinition<S>): void {
  runService(definition).then(
    (handle) => {
      let signalled = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (signalled) process.exit(130);
        signalled = true;
        handle.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`${definition.name}: stop failed after ${signal}: ${(err as Error).message}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
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
 * it again from the beginning, after closing every Kafka client the failed attempt opened, until
 * the deadline. A fault that is not transient fails the start at once.
 */
async function startWithRetries<S extends z.ZodType<CommonConfig>>(
  definition: ServiceDefinition<S>,
  context: Omit<ServiceContext<z.infer<S>>, 'kafka'>,
  startup: Startup,
): Promise<RunningService> {
  const { logger, metrics, config } = context;
  let logged = false;
  for (let attempt = 1; ; attempt++) {
    const tracked = trackedKafka(createKafka(config.kafka, `opentrail-${definition.name}`, logger, metrics));
    try {
      const running = await definition.start({ ...context, kafka: tracked.kafka });
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
 * A Kafka client whose producers, consumers and admins are remembered, so that a failed start
 * attempt leaves no connection, group membership or transactional id behind when the next begins.
 */
function trackedKafka(client: KafkaClient): { kafka: KafkaClient; close(): Promise<void>; release(): void } {
  const kafka = kafkajsOf(client);
  const opened: { disconnect(): Promise<void> }[] = [];
  const producer = kafka.producer.bind(kafka);
  const consumer = kafka.consumer.bind(kafka);
  const admin = kafka.admin.bind(kafka);
  kafka.producer = (...args) => remember(producer(...args));
  kafka.consumer = (...args) => remember(consumer(...args));
  kafka.admin = (...args) => remember(admin(...args));
  let tracking = true;
  // Only during the attempt: the services create admin clients all their life (catch-ups).
  function remember<C extends { disconnect(): Promise<void> }>(client: C): C {
    if (tracking) opened.push(client);
    return client;
  }
  const close = async () => {
    await Promise.all(opened.map((client) => client.disconnect().catch(() => undefined)));
  };
  const release = () => {
    tracking = false;
    opened.length = 0;
  };
  return { kafka: client, close, release };
}
