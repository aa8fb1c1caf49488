/** The real stack a benchmark runs against: the one named in the environment, or one started here. */
import { connectKafka, type KafkaClient } from '@opentrail/runtime';
import { createSchemaRegistry, type SchemaRegistry } from '@opentrail/serde';
import { endpointsFromEnv, givenEndpoints, startStack, type StackEndpoints } from '@opentrail/stack';

export interface BenchStack {
  endpoints: StackEndpoints;
  kafka: KafkaClient;
  registry: SchemaRegistry;
  /** Process ids of the servers this process started (`kafka`, `registry`, `moto`, `postgres`); none for a given stack. */
  pids: Record<string, number>;
  /** Stops the stack if this process started it. */
  stop(): Promise<void>;
}

export async function benchStack(log: (line: string) => void = (line) => console.error(line)): Promise<BenchStack> {
  const given = endpointsFromEnv();
  const started = given ? undefined : await startStack({ log: (line) => log(`stack: ${line}`), given: givenEndpoints() });
  const endpoints = given ?? started!.endpoints;
  return {
    endpoints,
    kafka: connectKafka({ clientId: 'bench', brokers: endpoints.kafkaBrokers.split(',') }),
    registry: createSchemaRegistry({ url: endpoints.schemaRegistryUrl }),
    pids: started?.pids ?? {},
    stop: async () => {
      await started?.stop();
    },
  };
}

/** The environment of a service process on the bench's stack: its topics under `prefix`, a free HTTP port. */
export function serviceEnv(endpoints: Pick<StackEndpoints, 'kafkaBrokers' | 'schemaRegistryUrl' | 'awsEndpoint'>, prefix: string, partitions: number): Record<string, string> {
  return {
    OPENTRAIL_KAFKA_BROKERS: endpoints.kafkaBrokers,
    OPENTRAIL_SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
    OPENTRAIL_AWS_ENDPOINT: endpoints.awsEndpoint,
    OPENTRAIL_TOPIC_PREFIX: prefix,
    OPENTRAIL_TOPIC_PARTITIONS: String(partitions),
    OPENTRAIL_HTTP_PORT: '0',
    OPENTRAIL_LOG_LEVEL: 'info',
  };
}
