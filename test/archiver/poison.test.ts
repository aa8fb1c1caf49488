import { describe, expect, it } from 'vitest';
import { routingKey, toApiCallEvent, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { readDeadLetter } from '@opentrail/runtime';
import type { TrailInput } from '@opentrail/trails';
import { readTopic, waitForCommitted } from '../helpers/kafka.js';
import { startService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { archiverEnv, archiverEvent, archiverStage, EnrichedProducer, readLogFiles } from './helpers.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach({ ignoreFailures: true });

describe('archiver: poison events (issue 19, class 2)', () => {
  it('dead-letters the event it cannot write to a log file with its reason, archives the good ones around it, and commits to the end', { timeout: 150_000 }, async () => {
    const { prefix, kafka, aws, bucket } = await archiverStage(cleanups, 'arch-poison');
    // includeEnrichment: the archiver writes the enricher's findings into each record, its own stage.
    const trail: TrailInput = { name: 'audit', accountId: '999988887777', homeRegion: 'us-east-1', bucket, includeEnrichment: true, roll: { intervalSeconds: 1 } };
    const archiver = await startService('archiver', archiverEnv(prefix, [trail]));
    cleanups.push(() => archiver.kill());
    const producer = await EnrichedProducer.create(kafka, prefix);
    cleanups.push(() => producer.close());

    // One account and region: one partition holds good and bad in turn.
    const at = (i: number, overrides: Partial<CloudTrailRecord> = {}): CloudTrailRecord => ({ ...archiverEvent(i * 20 + 1, prefix), recipientAccountId: '210000000000', awsRegion: 'us-east-1', ...overrides });
    const key = routingKey('210000000000', 'us-east-1');
    const good = [at(0), at(1), at(2, { eventName: 'constructor' }), at(3, { eventName: '__proto__', userAgent: 'toString' }), at(4), at(5)];
    const poison = at(6);
    const farTimestamp = at(7);
    await producer.send(good.slice(0, 2));
    // Enriched at an instant no Date can hold: the enrichment cannot be written as JSON.
    await producer.sendRaw([{ key, value: producer.encodeEnriched({ event: toApiCallEvent(poison), enrichment: { enrichedAt: 9e15, identity: null, geo: null, service: null } }) }]);
    await producer.send(good.slice(2, 4));
    // A producer's Kafka timestamp beyond any date: the file's key takes the event time instead.
    await producer.sendRaw([{ ...producer.message(farTimestamp), timestamp: String(9e15) }]);
    await producer.send(good.slice(4));

    const [dead] = await readTopic(kafka, `${prefix}events.dlq`, 1, 60_000);
    expect(readDeadLetter(dead!.headers)).toMatchObject({ reason: 'ARCHIVING_FAILED', service: 'archiver', sourceTopic: `${prefix}events.enriched`, detail: expect.stringMatching(/^RangeError: /) });
    const expected = [...good, farTimestamp].map((r) => r.eventID!).sort();
    const files = await waitFor(async () => {
      const found = await readLogFiles(aws.s3, bucket);
      const ids = found.flatMap((f) => f.records.map((r) => r.eventID!)).sort();
      return ids.length >= expected.length ? found : undefined;
    }, 'the good events in log files', 90_000);
    const records = files.flatMap((f) => f.records);
    expect(records.map((r) => r.eventID).sort()).toEqual(expected);
    expect(records.find((r) => r.eventName === 'constructor')).toBeDefined();
    expect(records.find((r) => r.eventName === '__proto__')).toMatchObject({ userAgent: 'toString' });
    for (const f of files) expect(f.key).toMatch(/\/\d{4}\/\d{2}\/\d{2}\/210000000000_CloudTrail_us-east-1_\d{8}T\d{4}Z_\w{16}\.json\.gz$/);
    await waitForCommitted(kafka, `${prefix}archiver`, `${prefix}events.enriched`, 60_000);
    expect(await archiver.metric('opentrail_archiver_events_dead_lettered_total', { reason: 'ARCHIVING_FAILED' })).toBe(1);
    expect(archiver.child.exitCode).toBeNull();
  });
});
