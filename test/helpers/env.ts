import { connectKafka, type KafkaClient } from '@opentrail/runtime';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createSchemaRegistry } from '@opentrail/serde';
import { endpointsToEnv, type StackEndpoints } from '@opentrail/stack';

export function stackEndpoints(): StackEndpoints {
  return inject('stack');
}

/** A topic prefix of its own for each test, so tests never see each other's data. */
export function uniquePrefix(label = 't'): string {
  return `${label}-${randomBytes(4).toString('hex')}.`;
}

export function testKafka(clientId = 'test'): KafkaClient {
  return connectKafka({ clientId, brokers: [stackEndpoints().kafkaBrokers] });
}

export function testRegistry() {
  return createSchemaRegistry({ url: stackEndpoints().schemaRegistryUrl });
}

/** The environment a service process needs to reach the stack, with a topic prefix and a free HTTP port. */
export function serviceEnv(prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...endpointsToEnv(stackEndpoints()),
    OPENTRAIL_TOPIC_PREFIX: prefix,
    OPENTRAIL_TOPIC_PARTITIONS: '3',
    OPENTRAIL_HTTP_PORT: '0',
    OPENTRAIL_LOG_LEVEL: 'info',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    ...extra,
  };
}
