import { describe, expect, it } from 'vitest';
import type { Delivery } from '@opentrail/serde';
import type { TrailInput } from '@opentrail/trails';
import { stackEndpoints } from '../helpers/env.js';
import { startService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { archiverEnv, archiverEvent, archiverStage, EnrichedProducer, isManagement, readDeliveries, readLogFiles } from './helpers.js';
import { TcpProxy } from './proxy.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach({ ignoreFailures: true });

const EVENTS = 30_000;
const BUDGET = 2 * 1024 * 1024;
const OUTAGE_MS = 30_000;

describe('archiver: S3 outage', () => {
  it('S3 unreachable for 30 s mid-run: stops fetching, keeps retrying, recovers by itself, loses nothing', { timeout: 240_000 }, async () => {
    const { prefix, kafka, aws, bucket } = await archiverStage(cleanups, 'outage');
    // The archiver reaches moto through a proxy that the test cuts: moto keeps what was stored.
    const proxy = await TcpProxy.start(stackEndpoints().awsEndpoint);
    cleanups.push(() => proxy.down());

    const trails: TrailInput[] = [{ name: 'audit', accountId: '999988887777', homeRegion: 'us-east-1', bucket, roll: { intervalSeconds: 1 } }];
    const archiver = await startService(
      'archiver',
      archiverEnv(prefix, trails, { OPENTRAIL_AWS_ENDPOINT: proxy.url, OPENTRAIL_ARCHIVER_MEMORY_BUDGET_BYTES: String(BUDGET), OPENTRAIL_ARCHIVER_UPLOAD_TIMEOUT_MS: '5000' }),
    );
    cleanups.push(() => archiver.kill());
    const metric = (name: string) => archiver.metric(`opentrail_archiver_${name}`);

    const records = Array.from({ length: EVENTS }, (_, i) => archiverEvent(i, prefix));
    const expected = new Set(records.filter(isManagement).map((r) => r.eventID!));
    const producer = await EnrichedProducer.create(kafka, prefix);
    cleanups.push(() => producer.close());

    // A third before the outage, delivered normally.
    await producer.send(records.slice(0, EVENTS / 3));
    await waitFor(async () => (await metric('files_delivered_total')) >= 20, 'files before the outage', 60_000);
    const rebalancesBefore = await metric('rebalances_total');

    await proxy.down();
    const downAt = Date.now();
    // The rest arrives while S3 is down: far more than the memory budget holds.
    await producer.send(records.slice(EVENTS / 3));
    await waitFor(async () => (await metric('upload_retries_total')) > 0, 'upload retries', 20_000);
    const deliveredDuringOutage = await metric('files_delivered_total');
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - downAt))));

    // Still alive, not fetching beyond what memory allows, nothing stored.
    expect(archiver.child.exitCode).toBeNull();
    expect((await fetch(`${archiver.url}/healthz`)).ok).toBe(true);
    expect(await metric('events_in_total')).toBeLessThan(EVENTS);
    expect(await metric('buffered_bytes')).toBeLessThanOrEqual(BUDGET + 4 * 1024 * 1024);
    expect(await metric('files_delivered_total')).toBe(deliveredDuringOutage);
    const retries = await metric('upload_retries_total');
    expect(retries).toBeGreaterThan(0);
    expect(await metric('upload_errors_total')).toBeGreaterThan(0);

    await proxy.up();
    const deliveries = await readDeliveries(kafka, prefix);
    cleanups.push(() => deliveries.stop());
    const delivered = (all: Delivery[]) => all.reduce((n, d) => n + d.recordCount, 0);
    await waitFor(async () => delivered(await deliveries.all()) >= expected.size, `${expected.size} records delivered after the outage`, 120_000, 1000);
    // The group membership survived the wait (heartbeats while blocked): no rebalance.
    expect(await metric('rebalances_total')).toBe(rebalancesBefore);
    expect((await archiver.stop()).code).toBe(0);

    const files = await readLogFiles(aws.s3, bucket);
    const seen = new Map<string, number>();
    for (const f of files) for (const r of f.records) seen.set(r.eventID!, (seen.get(r.eventID!) ?? 0) + 1);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(seen.keys())).toEqual(expected);
    const all = await deliveries.all();
    expect(new Set(all.map((d) => d.key))).toEqual(new Set(files.map((f) => f.key)));
    expect(all).toHaveLength(files.length);
  });
});
