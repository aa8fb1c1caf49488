import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installStack } from './install.js';
import type { ServerProcess } from './process.js';
import { startPostgres } from './postgres.js';
import { startKafka, startMoto, startRegistry } from './servers.js';
import { stackVersions } from './versions.js';

export { installStack, installTrino, trinoHome } from './install.js';
export {
  startTrino, findTrinoJava, processRss, TRINO_ADMIN_USER, TRINO_QUERY_USER, TRINO_LAKE_CATALOG, TRINO_ICEBERG_CATALOG, TRINO_PLUGINS,
  ICEBERG_JDBC_CATALOG_DDL, type IcebergJdbcCatalog, type StartTrinoOptions, type TrinoServer,
} from './trino.js';
export { startKafka, startMoto, startRegistry, type KafkaServer } from './servers.js';
export type { InstalledStack } from './install.js';
export { startPostgres, systemPostgres, type PostgresBinaries, type PostgresServer, type StartPostgresOptions } from './postgres.js';
export { freePort, isAlive, stopProcessGroup, sleep, type ServerProcess } from './process.js';
export { stackVersions, cacheDir, type StackVersions } from './versions.js';

/** What services, tests and the demo need to reach the stack. Printed by `stack:up` as KEY=value lines. */
export interface StackEndpoints {
  /** Kafka bootstrap servers, comma-separated. */
  kafkaBrokers: string;
  /** Confluent-compatible schema registry base URL. */
  schemaRegistryUrl: string;
  /** S3, KMS, SNS and SQS endpoint. */
  awsEndpoint: string;
  /** PostgreSQL (the event history), a postgres:// URL with credentials. */
  databaseUrl: string;
}

export interface Stack {
  backend: 'local' | 'docker';
  endpoints: StackEndpoints;
  /** Process ids of the local servers (empty for the docker backend). */
  pids: Record<string, number>;
  /** Directory holding logs and data (local backend). */
  dir: string;
  stop(): Promise<void>;
}

export const ENDPOINT_ENV = {
  kafkaBrokers: 'OPENTRAIL_KAFKA_BROKERS',
  schemaRegistryUrl: 'OPENTRAIL_SCHEMA_REGISTRY_URL',
  awsEndpoint: 'OPENTRAIL_AWS_ENDPOINT',
  databaseUrl: 'OPENTRAIL_DATABASE_URL',
} as const satisfies Record<keyof StackEndpoints, string>;

export function endpointsToEnv(endpoints: StackEndpoints): Record<string, string> {
  return {
    [ENDPOINT_ENV.kafkaBrokers]: endpoints.kafkaBrokers,
    [ENDPOINT_ENV.schemaRegistryUrl]: endpoints.schemaRegistryUrl,
    [ENDPOINT_ENV.awsEndpoint]: endpoints.awsEndpoint,
    [ENDPOINT_ENV.databaseUrl]: endpoints.databaseUrl,
  };
}

/** Endpoints given in the environment (an already running stack), or undefined if any is missing. */
export function endpointsFromEnv(env: NodeJS.ProcessEnv = process.env): StackEndpoints | undefined {
  const given = givenEndpoints(env);
  const { kafkaBrokers, schemaRegistryUrl, awsEndpoint, databaseUrl } = given;
  if (!kafkaBrokers || !schemaRegistryUrl || !awsEndpoint || !databaseUrl) return undefined;
  return { kafkaBrokers, schemaRegistryUrl, awsEndpoint, databaseUrl };
}

/**
 * Whichever endpoints the environment names. startStack({ given }) starts only the others, e.g.
 * PostgreSQL beside a shared stack that was started without it.
 */
export function givenEndpoints(env: NodeJS.ProcessEnv = process.env): Partial<StackEndpoints> {
  const given: Partial<StackEndpoints> = {};
  for (const key of Object.keys(ENDPOINT_ENV) as (keyof StackEndpoints)[]) {
    const value = env[ENDPOINT_ENV[key]];
    if (value) given[key] = value;
  }
  return given;
}

export interface StartStackOptions {
  /** Directory for logs and data; a fresh temporary one by default. */
  dir?: string;
  /** `local` (processes, the default) or `docker` (testcontainers); default from OPENTRAIL_STACK_BACKEND. */
  backend?: 'local' | 'docker';
  log?: (line: string) => void;
  /** Endpoints of servers already running elsewhere: those are not started (local backend). */
  given?: Partial<StackEndpoints>;
}

/**
 * Starts Kafka, the schema registry, moto and PostgreSQL (those not `given`), checks each is ready, and returns their endpoints.
 * Every server listens on 127.0.0.1 on a port the kernel chose, so two stacks can run side by side.
 */
export async function startStack(options: StartStackOptions = {}): Promise<Stack> {
  const backend = options.backend ?? (process.env.OPENTRAIL_STACK_BACKEND === 'docker' ? 'docker' : 'local');
  const log = options.log ?? (() => {});
  if (backend === 'docker') {
    const { startDockerStack } = await import('./docker.js');
    return startDockerStack(stackVersions(), log);
  }
  const installed = await installStack(log);
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'opentrail-stack-')));
  await mkdir(dir, { recursive: true });
  const given = options.given ?? {};
  const wanted = [
    given.kafkaBrokers ? undefined : `Kafka ${installed.versions.kafka}`,
    given.schemaRegistryUrl ? undefined : `Apicurio Registry ${installed.versions.apicurio}`,
    given.awsEndpoint ? undefined : `moto ${installed.versions.moto}`,
    given.databaseUrl ? undefined : `PostgreSQL (${installed.postgres.source}: ${installed.postgres.bindir})`,
  ].filter(Boolean);
  log(`starting ${wanted.join(', ')} (logs in ${dir})`);

  const started: ServerProcess[] = [];
  const track = <T extends { server: ServerProcess }>(p: Promise<T>) =>
    p.then((r) => {
      started.push(r.server);
      return r;
    });
  // The servers start in parallel; if one fails, the others are stopped before the error surfaces.
  const results = await Promise.allSettled([
    given.kafkaBrokers ? undefined : track(startKafka(installed, dir)),
    given.schemaRegistryUrl ? undefined : track(startRegistry(installed, dir)),
    given.awsEndpoint ? undefined : track(startMoto(installed, dir)),
    given.databaseUrl ? undefined : track(startPostgres({ binaries: installed.postgres, dir: join(dir, 'postgres') })),
  ]);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    await Promise.all(started.map((s) => s.stop()));
    throw failure.reason;
  }
  const [kafka, registry, moto, postgres] = results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
    Awaited<ReturnType<typeof startKafka>> | undefined,
    Awaited<ReturnType<typeof startRegistry>> | undefined,
    Awaited<ReturnType<typeof startMoto>> | undefined,
    Awaited<ReturnType<typeof startPostgres>> | undefined,
  ];
  const pids: Record<string, number> = {};
  for (const s of started) pids[s.name === 'apicurio-registry' ? 'registry' : s.name] = s.pid;
  return {
    backend: 'local',
    dir,
    endpoints: {
      kafkaBrokers: kafka?.brokers ?? given.kafkaBrokers!,
      schemaRegistryUrl: registry?.url ?? given.schemaRegistryUrl!,
      awsEndpoint: moto?.endpoint ?? given.awsEndpoint!,
      databaseUrl: postgres?.url ?? given.databaseUrl!,
    },
    pids,
    stop: async () => {
      await Promise.all(started.map((s) => s.stop()));
      // A stack in a directory of its own making drops its data when it stops (a benchmark's Kafka
      // and PostgreSQL reach gigabytes, and nothing reads them again); the logs stay, for the
      // run that failed. A directory the caller named is the caller's.
      if (options.dir === undefined) {
        await Promise.all(STACK_DATA_DIRS.map((d) => rm(join(dir, d), { recursive: true, force: true })));
      }
    },
  };
}

/** What the local servers store under a stack's directory, beside their logs. */
const STACK_DATA_DIRS = ['kafka-data', join('postgres', 'pgdata')];
