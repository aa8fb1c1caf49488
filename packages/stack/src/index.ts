import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installStack } from './install.js';
import type { ServerProcess } from './process.js';
import { startKafka, startMoto, startRegistry } from './servers.js';
import { stackVersions } from './versions.js';

export { installStack } from './install.js';
export { startMoto } from './servers.js';
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
} as const satisfies Record<keyof StackEndpoints, string>;

export function endpointsToEnv(endpoints: StackEndpoints): Record<string, string> {
  return {
    [ENDPOINT_ENV.kafkaBrokers]: endpoints.kafkaBrokers,
    [ENDPOINT_ENV.schemaRegistryUrl]: endpoints.schemaRegistryUrl,
    [ENDPOINT_ENV.awsEndpoint]: endpoints.awsEndpoint,
  };
}

/** Endpoints given in the environment (an already running stack), or undefined if any is missing. */
export function endpointsFromEnv(env: NodeJS.ProcessEnv = process.env): StackEndpoints | undefined {
  const kafkaBrokers = env[ENDPOINT_ENV.kafkaBrokers];
  const schemaRegistryUrl = env[ENDPOINT_ENV.schemaRegistryUrl];
  const awsEndpoint = env[ENDPOINT_ENV.awsEndpoint];
  if (!kafkaBrokers || !schemaRegistryUrl || !awsEndpoint) return undefined;
  return { kafkaBrokers, schemaRegistryUrl, awsEndpoint };
}

export interface StartStackOptions {
  /** Directory for logs and data; a fresh temporary one by default. */
  dir?: string;
  /** `local` (processes, the default) or `docker` (testcontainers); default from OPENTRAIL_STACK_BACKEND. */
  backend?: 'local' | 'docker';
  log?: (line: string) => void;
}

/**
 * Starts Kafka, the schema registry and moto, checks each is ready, and returns their endpoints.
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
  log(`starting Kafka ${installed.versions.kafka}, Apicurio Registry ${installed.versions.apicurio} and moto ${installed.versions.moto} (logs in ${dir})`);

  const started: ServerProcess[] = [];
  const track = <T extends { server: ServerProcess }>(p: Promise<T>) =>
    p.then((r) => {
      started.push(r.server);
      return r;
    });
  // The three start in parallel; if one fails, the others are stopped before the error surfaces.
  const results = await Promise.allSettled([
    track(startKafka(installed, dir)),
    track(startRegistry(installed, dir)),
    track(startMoto(installed, dir)),
  ]);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    await Promise.all(started.map((s) => s.stop()));
    throw failure.reason;
  }
  const [kafka, registry, moto] = results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
    Awaited<ReturnType<typeof startKafka>>,
    Awaited<ReturnType<typeof startRegistry>>,
    Awaited<ReturnType<typeof startMoto>>,
  ];
  return {
    backend: 'local',
    dir,
    endpoints: { kafkaBrokers: kafka.brokers, schemaRegistryUrl: registry.url, awsEndpoint: moto.endpoint },
    pids: { kafka: kafka.server.pid, registry: registry.server.pid, moto: moto.server.pid },
    stop: async () => {
      await Promise.all(started.map((s) => s.stop()));
    },
  };
}
