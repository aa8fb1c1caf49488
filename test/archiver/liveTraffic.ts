import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import type { CloudTrailRecord } from '@opentrail/cloudtrail';
import type { TrailInput } from '@opentrail/trails';
import { serviceEnv } from '../helpers/env.js';
import { archiverEvent, listKeys, type EnrichedProducer } from './helpers.js';

/**
 * Traffic that flows while trails change (the live-trails tests of the archiver and of the API):
 * management reads and writes of one account and region, sent in small batches, each remembered
 * with the wall-clock interval its send call took (the Kafka timestamp lies within it).
 */
export interface Sent {
  eventID: string;
  readOnly: boolean;
  before: number;
  after: number;
}

export class LiveTraffic {
  readonly sent: Sent[] = [];
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly producer: EnrichedProducer,
    private readonly o: { seed: string; account: string; region: string },
  ) {}

  /** Reads and writes alternate (one group per trail). */
  event(i: number): CloudTrailRecord {
    const kind = i % 2 === 0 ? 1 : 2;
    const base = archiverEvent(Math.floor(i / 2) * 5 + kind, this.o.seed);
    return { ...base, recipientAccountId: this.o.account, awsRegion: this.o.region, userIdentity: { ...base.userIdentity, accountId: this.o.account } };
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      let i = 0;
      while (this.running) {
        const records = Array.from({ length: 6 }, () => this.event(i++));
        const before = Date.now();
        await this.producer.send(records);
        const after = Date.now();
        for (const r of records) this.sent.push({ eventID: r.eventID!, readOnly: r.readOnly === true, before, after });
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

async function gunzippedObjects(s3: S3Client, bucket: string, kind: 'CloudTrail' | 'CloudTrail-Digest'): Promise<{ key: string; body: unknown }[]> {
  const keys = (await listKeys(s3, bucket)).filter((k) => k.includes(`/${kind}/`));
  const out = [];
  for (const key of keys) {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    out.push({ key, body: JSON.parse(gunzipSync(Buffer.from(await object.Body!.transformToByteArray())).toString()) as unknown });
  }
  return out;
}

/** Every eventID in the bucket's log files, duplicates kept. */
export async function eventIDsIn(s3: S3Client, bucket: string): Promise<string[]> {
  return (await gunzippedObjects(s3, bucket, 'CloudTrail')).flatMap((f) => (f.body as { Records: CloudTrailRecord[] }).Records.map((r) => r.eventID!));
}

/** The bucket's digest files: key and the log files each lists. */
export async function digestsIn(s3: S3Client, bucket: string): Promise<{ key: string; logFiles: string[] }[]> {
  return (await gunzippedObjects(s3, bucket, 'CloudTrail-Digest')).map((d) => ({ key: d.key, logFiles: (d.body as { logFiles: { s3Object: string }[] }).logFiles.map((f) => f.s3Object) }));
}

/**
 * What a trail started at `start`, switched to writes only at `change` and stopped at `stop` must
 * hold: nothing sent before its start or after its stop, no read once the new selectors apply
 * (within 5 s), every write sent between start and stop, each once.
 */
export function expectStartChangeStop(ids: string[], sent: Sent[], times: { start: number; change: number; stop: number }, slack = { start: 0, stop: 0 }): void {
  expect(new Set(ids).size).toBe(ids.length);
  const got = new Set(ids);
  const byId = new Map(sent.map((s) => [s.eventID, s]));
  for (const id of ids) {
    const s = byId.get(id)!;
    expect(s.after, 'nothing sent before the start').toBeGreaterThanOrEqual(times.start);
    expect(s.before, 'nothing sent after the stop').toBeLessThanOrEqual(times.stop + slack.stop);
    if (s.readOnly) expect(s.before, 'no reads once the new selectors apply').toBeLessThan(times.change + 5000);
  }
  const writes = sent.filter((s) => !s.readOnly && s.before >= times.start + slack.start && s.after <= times.stop);
  expect(writes.length).toBeGreaterThan(20);
  expect(writes.filter((s) => !got.has(s.eventID))).toEqual([]);
  expect(ids.some((id) => byId.get(id)!.readOnly)).toBe(true);
}

/** A digester for the live-trail tests: short test periods, a quick flush and a short drain after a stop. */
export function liveDigesterEnv(prefix: string, trails: TrailInput[], o: { periodSeconds: number; stopDrainMs: number }): Record<string, string> {
  return serviceEnv(prefix, {
    OPENTRAIL_TRAILS: JSON.stringify(trails),
    OPENTRAIL_DIGESTER_GROUP_ID: `${prefix}digester`,
    OPENTRAIL_DIGESTER_KEY_DIR: mkdtempSync(join(tmpdir(), 'live-keys-')),
    OPENTRAIL_DIGESTER_TEST_PERIOD_SECONDS: String(o.periodSeconds),
    OPENTRAIL_DIGESTER_GRACE_MS: '1500',
    OPENTRAIL_DIGESTER_FLUSH_INTERVAL_MS: '250',
    OPENTRAIL_DIGESTER_STOP_DRAIN_MS: String(o.stopDrainMs),
  });
}
