import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { INSIGHT_FILE_KEY_PATTERN, LOG_FILE_KEY_PATTERN, type CloudTrailRecord } from '@opentrail/cloudtrail';
import type { TrailInput } from '@opentrail/trails';
import { uniquePrefix } from '../helpers/env.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { archiverEnv, archiverEvent, archiverTopics, awsClients, bucketName, categoryOf, createBucket, EnrichedProducer, isManagement, readDeliveries, readLogFiles, testKafka } from './helpers.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach({ ignoreFailures: true });

const EVENTS = 50_000;
const OWNER = '999988887777';
const ORG = 'o-a1b2c3d4e5';

const writesOnly = (r: CloudTrailRecord) =>
  r.readOnly === false && (isManagement(r) || (categoryOf(r) === 'Data' && (r.resources as { type?: string }[] | undefined)?.some((x) => x.type === 'AWS::S3::Object') === true));
const isInsight = (r: CloudTrailRecord) => r.eventType === 'AwsCloudTrailInsight';

describe('archiver: log files per trail, account and region', () => {
  it('delivers 50,000 events of 20 accounts and 4 regions to two trails, each event once per trail that selects it', async () => {
    const prefix = uniquePrefix('arch');
    const kafka = testKafka();
    await archiverTopics(kafka, prefix);
    const aws = awsClients();
    cleanups.push(async () => aws.destroy());
    const [managementBucket, writesBucket] = [bucketName('mgmt'), bucketName('writes')];
    await createBucket(aws.s3, managementBucket);
    await createBucket(aws.s3, writesBucket);

    const trails: TrailInput[] = [
      // Every management event (no selectors: CloudTrail's default), plus Insights.
      { name: 'management', accountId: OWNER, homeRegion: 'us-east-1', bucket: managementBucket, prefix: 'audit/mgmt', roll: { intervalSeconds: 2 }, insightSelectors: [{ insightType: 'ApiCallRateInsight' }] },
      // Writes only, management and S3 objects: advanced selectors drop every read-only event.
      {
        name: 'writes',
        accountId: OWNER,
        homeRegion: 'eu-west-1',
        bucket: writesBucket,
        organizationId: ORG,
        roll: { intervalSeconds: 3, maxCompressedBytes: 32 * 1024 },
        advancedEventSelectors: [
          { name: 'management writes', fieldSelectors: [{ field: 'eventCategory', equals: ['Management'] }, { field: 'readOnly', equals: ['false'] }] },
          { name: 'object writes', fieldSelectors: [{ field: 'eventCategory', equals: ['Data'] }, { field: 'resources.type', equals: ['AWS::S3::Object'] }, { field: 'readOnly', equals: ['false'] }] },
        ],
      },
    ];

    const records = Array.from({ length: EVENTS }, (_, i) => archiverEvent(i, prefix));
    const byId = new Map(records.map((r) => [r.eventID!, r]));
    const expected = {
      management: new Set(records.filter((r) => isManagement(r)).map((r) => r.eventID!)),
      insights: new Set(records.filter(isInsight).map((r) => r.eventID!)),
      writes: new Set(records.filter(writesOnly).map((r) => r.eventID!)),
    };
    expect(expected.insights.size).toBeGreaterThan(0);
    expect(expected.writes.size).toBeLessThan(expected.management.size);

    const producer = await EnrichedProducer.create(kafka, prefix);
    cleanups.push(() => producer.close());
    // Half before the archiver starts (a backlog), half while it runs.
    await producer.send(records.slice(0, EVENTS / 2));
    const archiver: ServiceProcess = await startService('archiver', archiverEnv(prefix, trails));
    cleanups.push(() => archiver.kill());
    await producer.send(records.slice(EVENTS / 2));

    const deliveries = await readDeliveries(kafka, prefix);
    cleanups.push(() => deliveries.stop());
    const total = expected.management.size + expected.insights.size + expected.writes.size;
    await waitFor(async () => (await deliveries.all()).reduce((n, d) => n + d.recordCount, 0) >= total, `${total} records delivered`, 150_000, 1000);
    expect((await archiver.stop()).code).toBe(0);

    const files = [...(await readLogFiles(aws.s3, managementBucket)), ...(await readLogFiles(aws.s3, writesBucket))];
    const seen = { management: new Map<string, number>(), insights: new Map<string, number>(), writes: new Map<string, number>() };
    for (const file of files) {
      // One gzip member holding {"Records":[...]}, under the exact CloudTrail key layout.
      expect(file.members).toBe(1);
      const insight = file.key.includes('/CloudTrail-Insight/');
      expect(insight ? INSIGHT_FILE_KEY_PATTERN.test(file.key) : LOG_FILE_KEY_PATTERN.test(file.key)).toBe(true);
      const writes = file.key.startsWith('AWSLogs/');
      const layout = writes
        ? new RegExp(`^AWSLogs/${ORG}/(\\d{12})/CloudTrail/([a-z0-9-]+)/\\d{4}/\\d{2}/\\d{2}/\\1_CloudTrail_\\2_\\d{8}T\\d{4}Z_[A-Za-z0-9]{16}\\.json\\.gz$`)
        : new RegExp(`^audit/mgmt/AWSLogs/(\\d{12})/(CloudTrail|CloudTrail-Insight)/([a-z0-9-]+)/\\d{4}/\\d{2}/\\d{2}/\\1_\\2_\\3_\\d{8}T\\d{4}Z_[A-Za-z0-9]{16}\\.json\\.gz$`);
      const match = layout.exec(file.key);
      expect(match, file.key).not.toBeNull();
      const [account, region] = writes ? [match![1], match![2]] : [match![1], match![3]];
      if (writes) expect(file.body.length).toBeLessThanOrEqual(32 * 1024);
      expect(file.records.length).toBeGreaterThan(0);
      const tally = writes ? seen.writes : insight ? seen.insights : seen.management;
      for (const record of file.records) {
        // Each record exactly as produced, in the file of its own account and region.
        expect(record).toStrictEqual(byId.get(record.eventID!));
        expect([record.recipientAccountId, record.awsRegion]).toEqual([account, region]);
        expect(isInsight(record)).toBe(insight);
        tally.set(record.eventID!, (tally.get(record.eventID!) ?? 0) + 1);
      }
    }
    for (const name of ['management', 'insights', 'writes'] as const) {
      expect([...seen[name].values()].every((n) => n === 1), `${name}: an event in two files`).toBe(true);
      const extra = [...seen[name].keys()].filter((id) => !expected[name].has(id));
      const missing = [...expected[name]].filter((id) => !seen[name].has(id));
      expect({ name, extra: extra.slice(0, 3).map((id) => byId.get(id)), missing: missing.slice(0, 3).map((id) => byId.get(id)), extraCount: extra.length, missingCount: missing.length }).toEqual({ name, extra: [], missing: [], extraCount: 0, missingCount: 0 });
    }

    // One delivery record per file, describing it.
    const all = await deliveries.all();
    expect(all).toHaveLength(files.length);
    const byKey = new Map(files.map((f) => [f.key, f]));
    for (const d of all) {
      const file = byKey.get(d.key)!;
      expect(file, d.key).toBeDefined();
      const content = gunzipSync(file.body);
      expect(d).toMatchObject({
        kind: d.key.includes('/CloudTrail-Insight/') ? 'INSIGHT' : 'LOG',
        trailArn: `arn:aws:cloudtrail:${d.trailName === 'writes' ? 'eu-west-1' : 'us-east-1'}:${OWNER}:trail/${d.trailName}`,
        bucket: d.trailName === 'writes' ? writesBucket : managementBucket,
        organizationId: d.trailName === 'writes' ? ORG : null,
        recordCount: file.records.length,
        uncompressedBytes: content.length,
        compressedBytes: file.body.length,
        sha256: createHash('sha256').update(content).digest('hex'),
        encryption: { mode: 'SSE_S3', kmsKeyId: null },
        source: expect.objectContaining({ topic: `${prefix}events.enriched` }),
      });
      const times = file.records.map((r) => Date.parse(r.eventTime!));
      expect([d.oldestEventTime, d.newestEventTime]).toEqual([Math.min(...times), Math.max(...times)]);
      expect(d.key).toContain(`/${d.accountId}/`);
      expect(d.key).toContain(`_${d.region}_`);
    }
  });
});
