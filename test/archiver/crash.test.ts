import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Delivery } from '@opentrail/serde';
import type { TrailInput } from '@opentrail/trails';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { archiverEnv, archiverEvent, archiverStage, EnrichedProducer, isManagement, readDeliveries, readLogFiles } from './helpers.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach({ ignoreFailures: true });

const EVENTS = 100_000;
const CHUNKS = 20;
const KILLS = 5;

describe('archiver: crashes', () => {
  it('killed with SIGKILL at 5 random moments of a 100,000-event run: every event exactly once per trail, every object described', { timeout: 420_000 }, async () => {
    const { prefix, kafka, aws, bucket } = await archiverStage(cleanups, 'crash');
    const trails: TrailInput[] = [
      { name: 'all-management', accountId: '999988887777', homeRegion: 'us-east-1', bucket, prefix: 'm', roll: { intervalSeconds: 1 } },
      // Small files: several closes per batch, so kills also land between a file's upload and its commit.
      { name: 'everything', accountId: '999988887777', homeRegion: 'us-east-1', bucket, prefix: 'e', roll: { intervalSeconds: 2, maxCompressedBytes: 24 * 1024 }, eventSelectors: [{ dataResources: [{ type: 'AWS::S3::Object', values: ['arn:aws:s3'] }] }] },
    ];
    const env = archiverEnv(prefix, trails, { OPENTRAIL_ARCHIVER_FLUSH_INTERVAL_MS: '200', OPENTRAIL_ARCHIVER_SESSION_TIMEOUT_MS: '6000', OPENTRAIL_ARCHIVER_HEARTBEAT_INTERVAL_MS: '1000' });

    const records = Array.from({ length: EVENTS }, (_, i) => archiverEvent(i, prefix));
    const expected = {
      m: new Set(records.filter(isManagement).map((r) => r.eventID!)),
      e: new Set(records.filter((r) => isManagement(r) || (r.resources as { type?: string }[] | undefined)?.some((x) => x.type === 'AWS::S3::Object')).map((r) => r.eventID!)),
    };

    const producer = await EnrichedProducer.create(kafka, prefix);
    cleanups.push(() => producer.close());
    let archiver: ServiceProcess = await startService('archiver', env);
    cleanups.push(() => archiver.kill());
    // Events keep arriving through the whole run, a chunk every few hundred milliseconds.
    const producing = (async () => {
      const size = EVENTS / CHUNKS;
      for (let c = 0; c < CHUNKS; c++) {
        await producer.send(records.slice(c * size, (c + 1) * size));
        await new Promise((r) => setTimeout(r, 400));
      }
    })();

    const moments: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      // A random moment while files are being delivered: after 1–25 more files, plus up to a second.
      const files = 1 + Math.floor(Math.random() * 25);
      const start = await archiver.metric('opentrail_archiver_files_delivered_total').catch(() => 0);
      await waitFor(async () => (await archiver.metric('opentrail_archiver_files_delivered_total')) >= start + files, `${files} more files`, 120_000, 50);
      const extraMs = Math.floor(Math.random() * 1000);
      await new Promise((r) => setTimeout(r, extraMs));
      await archiver.kill();
      moments.push(`after ${files} files + ${extraMs} ms`);
      archiver = await startService('archiver', env);
    }
    await producing;

    const deliveries = await readDeliveries(kafka, prefix);
    cleanups.push(() => deliveries.stop());
    const total = expected.m.size + expected.e.size;
    // Count each key once: a file rewritten after a crash may have been described twice (same content).
    const delivered = (all: Delivery[]) => [...new Map(all.map((d) => [d.key, d.recordCount])).values()].reduce((a, b) => a + b, 0);
    await waitFor(async () => delivered(await deliveries.all()) >= total, `${total} records delivered (kills: ${moments.join('; ')})`, 180_000, 1000).catch((err: Error) => {
      throw new Error(`${err.message}\n${archiver.output().slice(-3000)}`);
    });
    expect((await archiver.stop()).code).toBe(0);

    // The bucket: every event exactly once per trail.
    const files = await readLogFiles(aws.s3, bucket);
    const seen = { m: new Map<string, number>(), e: new Map<string, number>() };
    for (const file of files) {
      expect(file.members).toBe(1);
      const tally = seen[file.key.startsWith('m/') ? 'm' : 'e'];
      for (const r of file.records) tally.set(r.eventID!, (tally.get(r.eventID!) ?? 0) + 1);
    }
    for (const trail of ['m', 'e'] as const) {
      const twice = [...seen[trail]].filter(([, n]) => n > 1);
      const missing = [...expected[trail]].filter((id) => !seen[trail].has(id));
      expect({ trail, twice: twice.length, missing: missing.length, unexpected: seen[trail].size - (expected[trail].size - missing.length) }, moments.join('; ')).toEqual({ trail, twice: 0, missing: 0, unexpected: 0 });
    }

    // The deliveries topic (read_committed) describes every final object; a key described twice
    // is described with the same content.
    const all = await deliveries.all();
    const byKey = new Map<string, Delivery[]>();
    for (const d of all) byKey.set(d.key, [...(byKey.get(d.key) ?? []), d]);
    expect(new Set(byKey.keys())).toEqual(new Set(files.map((f) => f.key)));
    for (const file of files) {
      const content = gunzipSync(file.body);
      const sha = createHash('sha256').update(content).digest('hex');
      for (const d of byKey.get(file.key)!) {
        expect({ key: d.key, sha256: d.sha256, recordCount: d.recordCount, compressedBytes: d.compressedBytes }).toEqual({ key: file.key, sha256: sha, recordCount: file.records.length, compressedBytes: file.body.length });
      }
      expect(new Set(byKey.get(file.key)!.map((d) => d.deliveryId)).size).toBe(1);
    }
    console.log(`crash test: ${files.length} files, ${all.length} delivery records, ${all.length - byKey.size} repeated; kills ${moments.join('; ')}`);
  });
});
