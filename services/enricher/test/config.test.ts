import { describe, expect, it } from 'vitest';
import { commonBindings, ConfigError, loadConfig } from '@opentrail/config';
import { bindings, BUNDLED_GEO_DATABASES, configSchema } from '../src/config.js';

const base = { OPENTRAIL_KAFKA_BROKERS: 'localhost:9092', OPENTRAIL_SCHEMA_REGISTRY_URL: 'http://localhost:8081' };
const load = (env: Record<string, string>) => loadConfig(configSchema, { env: { ...base, ...env }, bindings: [...commonBindings, ...bindings] });

describe('enricher configuration', () => {
  it('has defaults for every key of its section', () => {
    expect(load({}).config.enricher).toEqual({
      groupId: 'opentrail-enricher',
      transactional: true,
      heartbeatIntervalMs: 1000,
      partitionsConsumedConcurrently: 4,
      identities: { maxEntries: 2_000_000, maxChainDepth: 8, expiryGraceSeconds: 3600, sweepIntervalSeconds: 60, tombstoneExpired: true },
      geo: { databases: [...BUNDLED_GEO_DATABASES], reloadCheckIntervalMs: 5000, cacheEntries: 50_000 },
    });
  });

  it('reads OPENTRAIL_ENRICHER_* variables', () => {
    const { enricher } = load({
      OPENTRAIL_ENRICHER_GROUP_ID: 'g',
      OPENTRAIL_ENRICHER_TRANSACTIONAL: 'false',
      OPENTRAIL_ENRICHER_GEO_DATABASES: BUNDLED_GEO_DATABASES.join(','),
      OPENTRAIL_ENRICHER_GEO_RELOAD_CHECK_INTERVAL_MS: '200',
      OPENTRAIL_ENRICHER_IDENTITIES_MAX_ENTRIES: '10',
      OPENTRAIL_ENRICHER_IDENTITIES_TOMBSTONE_EXPIRED: 'no',
    }).config;
    expect(enricher).toMatchObject({ groupId: 'g', transactional: false, geo: { reloadCheckIntervalMs: 200 }, identities: { maxEntries: 10, tombstoneExpired: false } });
  });

  it('names the key and its source when a value is wrong', () => {
    expect(() => load({ OPENTRAIL_ENRICHER_GEO_DATABASES: '/no/such/file.mmdb', OPENTRAIL_ENRICHER_IDENTITIES_MAX_CHAIN_DEPTH: '0' })).toThrow(ConfigError);
    try {
      load({ OPENTRAIL_ENRICHER_GEO_DATABASES: '/no/such/file.mmdb', OPENTRAIL_ENRICHER_IDENTITIES_MAX_CHAIN_DEPTH: '0' });
    } catch (err) {
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toContain('enricher.geo.databases.0 (env OPENTRAIL_ENRICHER_GEO_DATABASES): file does not exist');
      expect(problems).toContain('enricher.identities.maxChainDepth (env OPENTRAIL_ENRICHER_IDENTITIES_MAX_CHAIN_DEPTH)');
    }
  });
});
