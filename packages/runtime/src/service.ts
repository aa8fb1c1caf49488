import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError, commonBindings, loadConfig, type z, type CommonConfig, type EnvBinding } from '@opentrail/config';
import { createLogger, ServiceMetrics, startHealthServer, type Check, type HealthServer, type Logger } from '@opentrail/observability';
import { createSchemaRegistry, type SchemaRegistry } from '@opentrail/serde';
import type { Kafka } from 'kafkajs';
import { createKafka } from './kafka.js';

/** What a service's start() receives: everything wired from validated configuration. */
export interface ServiceContext<C extends CommonConfig> {
  config: C;
  logger: Logger;
  metrics: ServiceMetrics;
  kafka: Kafka;
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
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const config = loaded.config;
  const logger = createLogger(definition.name, config.log.level);
  for (const warning of loaded.warnings) logger.warn(warning);
  const metrics = new ServiceMetrics(definition.name);
  const kafka = createKafka(config.kafka, `opentrail-${definition.name}`, logger);
  const registry = createSchemaRegistry(config.schemaRegistry);

  let running: RunningService | undefined;
  let startError: string | undefined;
  const http = await startHealthServer({
    port: config.http.port,
    host: config.http.host,
    registry: metrics.registry,
    liveness: () => ({ started: () => startError ?? true, ...running?.liveness }),
    readiness: () => ({ started: () => (running ? true : startError ?? 'starting'), ...running?.readiness }),
    routes: (req, res) => running?.routes?.(req, res) ?? false,
  });
  logger.info({ metrics: `${http.url}/metrics`, port: http.port }, `${definition.name} starting`);

  try {
    running = await definition.start({ config, logger, metrics, kafka, registry });
  } catch (err) {
    startError = (err as Error).message;
    logger.fatal({ err }, `${definition.name} failed to start`);
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
      process.exit(1);
    },
  );
}
