import type { KafkaProducer } from '@opentrail/runtime';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, ServiceMetrics } from '@opentrail/observability';
import { IdentityTable } from '../src/identityTable.js';
import { startIdentitySweeper } from '../src/identitySweeper.js';
import { enricherMetrics } from '../src/metrics.js';
import { inventoryIdentity } from './records.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('startIdentitySweeper', () => {
  it('evicts expired keys on its period and publishes tombstones for the learned sessions among them', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
    const now = Date.now();
    const table = new IdentityTable({ expiryGraceSeconds: 0 });
    table.apply('ASIAGONE', inventoryIdentity('ASIAGONE', 'x', { source: 'sts:AssumeRole', expiresAt: now + 1000 }), now);
    table.apply('AKIAINVGONE', inventoryIdentity('AKIAINVGONE', 'y', { expiresAt: now + 1000 }), now);
    table.apply('AKIASTAYS', inventoryIdentity('AKIASTAYS', 'z'), now);
    const sent: unknown[] = [];
    const producer = { send: async (request: unknown) => void sent.push(request) } as unknown as KafkaProducer;
    const serviceMetrics = new ServiceMetrics('enricher');
    const sweeper = startIdentitySweeper({
      table,
      intervalMs: 60_000,
      tombstones: { producer, topic: 'identities' },
      logger: createLogger('enricher', 'silent'),
      metrics: enricherMetrics(serviceMetrics, { tableEntries: () => table.size, geoDatabases: () => [] }),
    });
    try {
      await vi.advanceTimersByTimeAsync(60_000);
      expect(table.size).toBe(1);
      expect(sent).toEqual([{ topic: 'identities', acks: -1, messages: [{ key: 'ASIAGONE', value: null }] }]);
      const text = await serviceMetrics.registry.metrics();
      expect(text).toContain('opentrail_enricher_identities_evicted_total{reason="expired"} 2');
      expect(text).toContain('opentrail_enricher_identities_table_entries 1');
    } finally {
      sweeper.stop();
    }
  });
});
