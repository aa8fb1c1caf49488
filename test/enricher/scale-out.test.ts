import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { serdeFor } from '@opentrail/serde';
import { callRecord } from '../../services/enricher/test/records.js';
import { testRegistry } from '../helpers/env.js';
import type { ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { enricherStage, readToEnd, startEnricher, topics } from './enricher.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach();

/** Events of 12 accounts, so that they spread over the 3 partitions. */
const wave = (n: number) => Array.from({ length: n }, (_, i) => callRecord({ account: `1000000000${String(i % 12).padStart(2, '0')}` }));

describe('enricher: scale-out', () => {
  it('two instances in one group share the partitions and write each event once, also across the rebalance', async () => {
    const { prefix, kafka, enricher: a, recorder, enriched } = await enricherStage(cleanups, 'enr-scale');
    const produce = async (records: ReturnType<typeof wave>, pauseMs = 0) => {
      for (const r of records) {
        await recorder.record(r);
        if (pauseMs) await sleep(pauseMs);
      }
      await recorder.flush();
    };

    const first = wave(100);
    await produce(first);
    await enriched.waitForEvents(first.map((r) => r.eventID!));

    // The second instance joins while events keep coming: partitions move from a to b mid-stream.
    const second = wave(150);
    const [b] = await Promise.all([startEnricher(prefix), produce(second, 10)]);
    cleanups.push(() => b.stop());
    const assigned = (p: ServiceProcess) => p.metric('opentrail_enricher_assigned_partitions');
    await waitFor(async () => {
      const [na, nb] = await Promise.all([assigned(a), assigned(b)]);
      return na > 0 && nb > 0 && na + nb === 3;
    }, 'both instances to own partitions');

    const third = wave(100);
    await produce(third);
    const all = [...first, ...second, ...third];
    await enriched.waitForEvents(all.map((r) => r.eventID!));
    expect(await a.metric('opentrail_enricher_events_enriched_total')).toBeGreaterThan(0);
    expect(await b.metric('opentrail_enricher_events_enriched_total')).toBeGreaterThan(0);

    // Stop both (each commits what it did), then read the whole topic: every event exactly once.
    await Promise.all([a.stop(), b.stop()]);
    const messages = await readToEnd(kafka, topics(prefix).enriched);
    const serde = serdeFor(testRegistry(), 'EnrichedEvent');
    await serde.prepare(messages.map((m) => m.value));
    const ids = messages.map((m) => serde.decode(m.value).event.eventID);
    expect(new Set(ids).size).toBe(all.length);
    expect(ids).toHaveLength(all.length);
  });
});
