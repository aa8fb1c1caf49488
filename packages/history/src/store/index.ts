export { createPool, isDatabaseUnavailable, type DatabaseOptions, type Pool, type PoolClient } from './database.js';
export { loadMigrations, migrate, pendingMigrations, MIGRATIONS_DIR, type Migration } from './migrations.js';
