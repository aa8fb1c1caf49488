export { createPool, isDatabaseUnavailable, type DatabaseOptions, type Pool, type PoolClient } from './database.js';
export { loadMigrations, migrate, pendingMigrations, MIGRATIONS_DIR, type Migration } from './migrations.js';
export { toEventRow, dayOf, UnstorableEventError, type EventRow } from './eventRow.js';
export { eventResources, plainOfArn, DERIVATIONS, type LookupResource, type ResourceKey, type EventResources } from './resources.js';
export { eventUsername } from './username.js';
export { PartitionManager, dayBounds, PARTITIONED_TABLES } from './partitions.js';
export { EventWriter, type EventWriterOptions, type WriteResult } from './writer.js';
export { BinaryCopyWriter } from './copyBinary.js';
export { retentionCutoff } from './retention.js';
