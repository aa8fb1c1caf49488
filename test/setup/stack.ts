/**
 * Integration tests run against the real stack: Kafka's and Apicurio's JVMs and moto, started here
 * as local processes (or through testcontainers with OPENTRAIL_STACK_BACKEND=docker), once for the
 * whole run. If OPENTRAIL_KAFKA_BROKERS, OPENTRAIL_SCHEMA_REGISTRY_URL and OPENTRAIL_AWS_ENDPOINT are
 * set (e.g. from `npm run stack:up`), that stack is used instead and left running.
 */
import type { TestProject } from 'vitest/node';
import { endpointsFromEnv, startStack, type Stack, type StackEndpoints } from '@opentrail/stack';

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
    stack = await startStack({ log: (line) => console.log(`stack: ${line}`) });
    endpoints = stack.endpoints;
    console.log(`integration tests: stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s: kafka=${endpoints.kafkaBrokers} registry=${endpoints.schemaRegistryUrl} aws=${endpoints.awsEndpoint}`);
  }
  project.provide('stack', endpoints);
}

export async function teardown() {
  await stack?.stop();
}
