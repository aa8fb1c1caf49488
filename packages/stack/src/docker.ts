import type { Stack } from './index.js';
import { freePort } from './process.js';
import type { StackVersions } from './versions.js';

/**
 * The same servers from their official images, through testcontainers, for machines that
 * have a Docker engine (OPENTRAIL_STACK_BACKEND=docker). testcontainers is imported only here and
 * only dynamically: on a machine without Docker the local backend never loads it.
 */
export async function startDockerStack(versions: StackVersions, log: (line: string) => void): Promise<Stack> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  try {
    await getContainerRuntimeClient();
  } catch (err) {
    throw new Error(`OPENTRAIL_STACK_BACKEND=docker but no container runtime was found (${(err as Error).message}); unset it to use the local backend`);
  }
  log(`starting apache/kafka:${versions.kafka}, apicurio/apicurio-registry:${versions.apicurio} and motoserver/moto:${versions.moto} in Docker`);
  // The official apache/kafka image is configured through KAFKA_* variables. The client port is
  // bound to a host port chosen up front so that the broker can advertise it.
  const kafkaPort = await freePort();
  const [kafka, registry, moto, postgres] = await Promise.all([
    new GenericContainer(`apache/kafka:${versions.kafka}`)
      .withExposedPorts({ container: 9092, host: kafkaPort })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start(),
    new GenericContainer(`apicurio/apicurio-registry:${versions.apicurio}`)
      .withExposedPorts(8080)
      .withWaitStrategy(Wait.forHttp('/apis/ccompat/v7/subjects', 8080))
      .start(),
    new GenericContainer(`motoserver/moto:${versions.moto}`)
      .withExposedPorts(5000)
      .withWaitStrategy(Wait.forHttp('/moto-api/', 5000))
      .start(),
    new GenericContainer('postgres:15')
      .withExposedPorts(5432)
      .withEnvironment({ POSTGRES_USER: 'opentrail', POSTGRES_PASSWORD: 'opentrail', POSTGRES_DB: 'opentrail' })
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start(),
  ]);
  return {
    backend: 'docker',
    dir: '',
    pids: {},
    endpoints: {
      kafkaBrokers: `127.0.0.1:${kafkaPort}`,
      schemaRegistryUrl: `http://${registry.getHost()}:${registry.getMappedPort(8080)}/apis/ccompat/v7`,
      awsEndpoint: `http://${moto.getHost()}:${moto.getMappedPort(5000)}`,
      databaseUrl: `postgres://opentrail:opentrail@${postgres.getHost()}:${postgres.getMappedPort(5432)}/opentrail`,
    },
    stop: async () => {
      await Promise.all([kafka.stop(), registry.stop(), moto.stop(), postgres.stop()]);
    },
  };
}
