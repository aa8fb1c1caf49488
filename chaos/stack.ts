/**
 * The chaos run's own stack (never the shared one): Kafka, the schema registry, moto and
 * PostgreSQL as local processes under the run's directory, each kept by handle so that one of them
 * can be stopped and started again while the others run.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { installStack, startKafka, startMoto, startPostgres, startRegistry, type KafkaServer, type PostgresServer, type ServerProcess, type StackEndpoints } from '@opentrail/stack';
import { TcpProxy } from '../test/archiver/proxy.js';

export interface ChaosStack {
  /** What the services are given: S3/KMS/SNS through the cuttable proxy. */
  serviceEndpoints: StackEndpoints;
  /** moto itself, for the run's own reads (the audit, validate-logs): never cut. */
  awsEndpoint: string;
  /** Stops the broker (SIGTERM, as a rolling restart does) and starts it again on its port with its data. */
  restartBroker(): Promise<void>;
  /** PostgreSQL "fast" shutdown and start again on its port with its data. */
  restartPostgres(): Promise<void>;
  /** S3 (and the rest of moto) unreachable for the services: connections refused, open ones reset. moto keeps its data. */
  cutS3(): Promise<void>;
  restoreS3(): Promise<void>;
  /** The servers' process ids now (a restart changes them). */
  pids(): number[];
  stop(): Promise<void>;
}

export async function startChaosStack(dir: string, log: (line: string) => void): Promise<ChaosStack> {
  const installed = await installStack(log);
  log(`starting Kafka ${installed.versions.kafka}, Apicurio Registry, moto and PostgreSQL under ${dir}`);
  await mkdir(dir, { recursive: true });
  const results = await Promise.allSettled([
    startKafka(installed, dir),
    startRegistry(installed, dir),
    startMoto(installed, dir),
    startPostgres({ binaries: installed.postgres, dir: join(dir, 'postgres') }),
  ] as const);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    // The servers that did start are stopped before the error surfaces: nothing is left running.
    await Promise.all(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.server.stop()] : [])));
    throw failure.reason;
  }
  const [kafkaStarted, registry, moto, postgresStarted] = results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
    KafkaServer,
    Awaited<ReturnType<typeof startRegistry>>,
    Awaited<ReturnType<typeof startMoto>>,
    PostgresServer,
  ];
  const servers: ServerProcess[] = [];
  let kafka: KafkaServer = kafkaStarted;
  let postgres: PostgresServer = postgresStarted;
  servers.push(registry.server, moto.server);
  // moto holds S3 in memory: stopping it would lose every log file written so far, so an S3
  // outage is a proxy that refuses connections (what a service sees of an S3 endpoint that is down).
  const proxy = await TcpProxy.start(moto.endpoint);
  return {
    serviceEndpoints: { kafkaBrokers: kafka.brokers, schemaRegistryUrl: registry.url, awsEndpoint: proxy.url, databaseUrl: postgres.url },
    awsEndpoint: moto.endpoint,
    async restartBroker() {
      await kafka.server.stop(60_000);
      kafka = await startKafka(installed, dir, kafka);
    },
    async restartPostgres() {
      await postgres.server.stop();
      postgres = await startPostgres({ binaries: installed.postgres, dir: join(dir, 'postgres'), port: postgres.port });
    },
    cutS3: () => proxy.down(),
    restoreS3: () => proxy.up(),
    pids: () => [kafka.server.pid, postgres.server.pid, ...servers.map((s) => s.pid)],
    async stop() {
      await proxy.down().catch(() => undefined);
      await Promise.all([kafka.server.stop(), postgres.server.stop(), ...servers.map((s) => s.stop())]);
    },
  };
}
