export { AvroSerde, createSchemaRegistry, type RegistryOptions } from './serde.js';
export { SerdeError } from './errors.js';
export { SUBJECT_COMPATIBILITY } from './registration.js';
export { loadSchemas, type LoadedSchema, type SchemaName } from './schemas.js';
export type * from './generated/avro-types.js';
export type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';

import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { SchemaTypes } from './generated/avro-types.js';
import { AvroSerde } from './serde.js';
import { loadSchemas, type SchemaName } from './schemas.js';

/** A serde for one of the project's schemas, e.g. `serdeFor(registry, 'EnrichedEvent')`. */
export function serdeFor<N extends SchemaName>(registry: SchemaRegistry, name: N): AvroSerde<SchemaTypes[N]> {
  return new AvroSerde<SchemaTypes[N]>(registry, loadSchemas()[name]);
}

/** TopicNameStrategy: the value subject of a topic. */
export const valueSubject = (topic: string) => `${topic}-value`;
