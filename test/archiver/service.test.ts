import { GetBucketLifecycleConfigurationCommand, PutBucketLifecycleConfigurationCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { toApiCallEvent } from '@opentrail/cloudtrail';
import type { TrailInput } from '@opentrail/trails';
import { uniquePrefix } from '../helpers/env.js';
import { readTopic } from '../helpers/kafka.js';
import { startService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { archiverEnv, archiverEvent, archiverStage, EnrichedProducer, readDeliveries } from './helpers.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach({ ignoreFailures: true });

const trail = (bucket: string, overrides: Partial<TrailInput> = {}): TrailInput => ({ name: 'audit', accountId: '999988887777', homeRegion: 'us-east-1', bucket, roll: { intervalSeconds: 1 }, ...overrides });

describe('archiver: the service', () => {
  it('refuses a bad trail configuration at start, naming the trail and the key', async () => {
    const prefix = uniquePrefix('archcfg');
    const bad = trail('some-bucket', { advancedEventSelectors: [{ fieldSelectors: [{ field: 'eventCategory', equals: ['Data'] }, { field: 'resources.type', equals: ['AWS::S3::Object'] }, { field: 'userIdentity.arn', equals: ['x'] }] }] });
    const archiver = await startService('archiver', archiverEnv(prefix, [bad]), { ready: false }).catch((err: Error) => err);
    const output = archiver instanceof Error ? archiver.message : (await archiver.exited, archiver.output());
    if (!(archiver instanceof Error)) expect((await archiver.exited).code).toBe(78);
    expect(output).toContain('trails.0.advancedEventSelectors.0.fieldSelectors.2.field (env OPENTRAIL_TRAILS): trail \\"audit\\": userIdentity.arn can only be selected by CloudTrail Lake event data stores');
  });

  it('dead-letters what it cannot read, applies the lifecycle rules, and keeps archiving', { timeout: 120_000 }, async () => {
    const { prefix, kafka, aws, bucket } = await archiverStage(cleanups, 'archsvc');
    // A rule of someone else's on the same bucket: kept.
    await aws.s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: [{ ID: 'tmp-cleanup', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 1 } }] } }));

    const archiver = await startService(
      'archiver',
      archiverEnv(prefix, [trail(bucket, { prefix: 'logs', lifecycle: { expireAfterDays: 400, archiveAfterDays: 90, archiveStorageClass: 'DEEP_ARCHIVE' } })], { OPENTRAIL_ARCHIVER_APPLY_LIFECYCLE: 'true' }),
    );
    cleanups.push(() => archiver.kill());

    const rules = await waitFor(async () => {
      const found = (await aws.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
      return found.some((r) => r.ID === 'opentrail-audit') ? found : undefined;
    }, 'the lifecycle rule');
    expect(rules.find((r) => r.ID === 'tmp-cleanup')).toBeDefined();
    expect(rules.find((r) => r.ID === 'opentrail-audit')).toMatchObject({
      Status: 'Enabled',
      Filter: { Prefix: 'logs/AWSLogs/' },
      Expiration: { Days: 400 },
      Transitions: [{ Days: 90, StorageClass: 'DEEP_ARCHIVE' }],
    });

    const producer = await EnrichedProducer.create(kafka, prefix);
    cleanups.push(() => producer.close());
    const good = archiverEvent(1, prefix);
    // An event that passed no validation (written straight to the topic), and bytes that are not Avro at all.
    const invalidEvent = { ...toApiCallEvent(archiverEvent(2, prefix)), eventTime: 'yesterday' };
    await producer.sendRaw([{ key: 'k', value: producer.encode(invalidEvent) }, { key: 'junk', value: Buffer.from('not avro') }]);
    await producer.send([good]);

    const dead = await readTopic(kafka, `${prefix}events.dlq`, 2, 60_000);
    expect(dead.map((m) => m.headers!['opentrail-dlq-reason']!.toString()).sort()).toEqual(['MAGIC_BYTE', 'VALIDATION']);
    const deliveries = await readDeliveries(kafka, prefix);
    cleanups.push(() => deliveries.stop());
    await waitFor(async () => (await deliveries.all()).some((d) => d.recordCount === 1), 'the good event delivered');
    expect(archiver.child.exitCode).toBeNull();
    expect((await archiver.stop()).code).toBe(0);
  });
});
