import { describe, expect, it } from 'vitest';
import type { Delivery } from '@opentrail/serde';
import type { TrailInput } from '@opentrail/trails';
import { startService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { archiverEnv, archiverEvent, archiverStage, EnrichedProducer, isManagement, readDeliveries, readLogFiles } from './helpers.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach({ ignoreFailures: true });

const EVENTS = 40_000;
const CHUNKS = 16;

describe('archiver: scale-out', () => {
  it('a second instance joins mid-run: the two share the partitions, nothing is lost or duplicated', { timeout: 240_000 }, async () => {
    const { prefix, kafka, aws, bucket } = await archiverStage(cleanups, 'scale');
    const trails: TrailInput[] = [{ name: 'audit', accountId: '999988887777', homeRegion: 'us-east-1', bucket, roll: { intervalSeconds: 2 } }];
    const env = archiverEnv(prefix, trails, { OPENTRAIL_ARCHIVER_SESSION_TIMEOUT_MS: '10000', OPENTRAIL_ARCHIVER_HEARTBEAT_INTERVAL_MS: '1000' });

    const records = Array.from({ length: EVENTS }, (_, i) => archiverEvent(i, prefix));
    const expected = new Set(records.filter(isManagement).map((r) => r.eventID!));
    const producer = await EnrichedProducer.create(kafka, prefix);
    cleanups.push(() => producer.close());

    const first = await startService('archiver', env);
    cleanups.push(() => first.kill());
    let sent = 0;
    const producing = (async () => {
      const size = EVENTS / CHUNKS;
      for (let c = 0; c < CHUNKS; c++) {
        await producer.send(records.slice(c * size, (c + 1) * size));
        sent += size;
        await new Promise((r) => setTimeout(r, 500));
      }
    })();

    // The second instance joins while the first has open files and events keep coming.
    await waitFor(async () => (await first.metric('opentrail_archiver_files_delivered_total')) >= 30 && sent < EVENTS, 'the first instance under way', 60_000, 100);
    const second = await startService('archiver', env);
    cleanups.push(() => second.kill());
    await waitFor(
      async () => (await first.metric('opentrail_archiver_assigned_partitions')) > 0 && (await second.metric('opentrail_archiver_assigned_partitions')) > 0,
      'both instances to own partitions',
      60_000,
    );
    await producing;

    const deliveries = await readDeliveries(kafka, prefix);
    cleanups.push(() => deliveries.stop());
    const delivered = (all: Delivery[]) => all.reduce((n, d) => n + d.recordCount, 0);
    await waitFor(async () => delivered(await deliveries.all()) >= expected.size, `${expected.size} records delivered`, 120_000, 1000);

    // Both did part of the work after the second one joined.
    const secondFiles = await second.metric('opentrail_archiver_files_delivered_total');
    expect(secondFiles).toBeGreaterThan(0);
    expect((await first.metric('opentrail_archiver_assigned_partitions')) + (await second.metric('opentrail_archiver_assigned_partitions'))).toBe(3);
    expect((await second.stop()).code).toBe(0);
    expect((await first.stop()).code).toBe(0);

    const files = await readLogFiles(aws.s3, bucket);
    const seen = new Map<string, number>();
    for (const f of files) for (const r of f.records) seen.set(r.eventID!, (seen.get(r.eventID!) ?? 0) + 1);
    expect([...seen.values()].filter((n) => n > 1)).toEqual([]);
    expect(new Set(seen.keys())).toEqual(expected);
    const all = await deliveries.all();
    expect(all).toHaveLength(files.length);
    expect(new Set(all.map((d) => d.key))).toEqual(new Set(files.map((f) => f.key)));
  });
});
