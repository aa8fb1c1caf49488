/**
 * Integration tests run against the real stack: Kafka's and Apicurio's JVMs and moto, started here
 * as local processes (or through testcontainers with OPENTRAIL_STACK_BACKEND=docker), once for the
 * whole run. If OPENTRAIL_KAFKA_BROKERS, OPENTRAIL_SCHEMA_REGISTRY_URL, OPENTRAIL_AWS_ENDPOINT and
 * OPENTRAIL_DATABASE_URL are set (e.g. from `npm run stack:up`), that stack is used instead and left
 * running; if only some are set, only the missing servers are started here.
 */
import type { TestProject } from 'vitest/node';
import { endpointsFromEnv, givenEndpoints, startStack, type Stack, type StackEndpoints } from '@opentrail/stack';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackEndpoints;
  }
}

let stack: Stack | undefined;

export async function setup(project: TestProject) {
  let endpoints = endpointsFromEnv();
  if (endpoints) {
    console.log(`integration tests: using the stack given in the environment (${endpoints.kafkaBrokers})`);
  } else {
    const started = Date.now();
    // Servers the environment names are reused: a shared stack started without PostgreSQL gets
    // one PostgreSQL of this run's own.
    stack = await startStack({ log: (line) => console.log(`stack: ${line}`), given: givenEndpoints() });
    endpoints = stack.endpoints;
    console.log(`integration tests: stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s: kafka=${endpoints.kafkaBrokers} registry=${endpoints.schemaRegistryUrl} aws=${endpoints.awsEndpoint} database=${endpoints.databaseUrl}`);
  }
  project.provide('stack', endpoints);
}

export async function teardown() {
  await stack?.stop();
}
