import { describe, expect, it } from 'vitest';
import { InvalidRecordError, KNOWN_AWS_REGIONS, acceptedRegions, toCloudTrailRecord, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { Recorder } from '@opentrail/producer';
import { stackEndpoints, testKafka, uniquePrefix } from '../helpers/env.js';
import { realRecords } from '../helpers/fixtures.js';
import { createTopics } from '../helpers/kafka.js';
import { startCollectingProcessor } from '../helpers/processor.js';
import { waitFor } from '../helpers/wait.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach();

describe('round trip: producer client → Kafka → runtime', () => {
  it('brings every real CloudTrail record back deep-equal', async () => {
    const prefix = uniquePrefix('roundtrip');
    const kafka = testKafka();
    await createTopics(kafka, [`${prefix}events.raw`, `${prefix}events.dlq`]);
    const records = realRecords();
    // Most fixture records carry their source's anonymised region names (sagov-west-1, apiso-north-1,
    // …): no AWS region, so they are allowed explicitly, as an operator allows a new region.
    const additionalRegions = [...new Set(records.map((r) => r.awsRegion!).filter((region) => !KNOWN_AWS_REGIONS.has(region)))];
    expect(additionalRegions.length).toBeGreaterThan(0);
    const recorder = await Recorder.create({ kafka, registry: { url: stackEndpoints().schemaRegistryUrl }, topic: `${prefix}events.raw`, additionalRegions });
    cleanups.push(() => recorder.close());

    const outcomes = await Promise.allSettled(records.map((r) => recorder.record(r)));
    await recorder.flush();

    // Three fixture records carry account ids that are not 12 digits ("123456789", "00000",
    // "0000"); the client refuses them and names the member. Every other record is accepted.
    const refused = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ index: i, error: o.reason as Error }] : []));
    expect(refused.map((r) => records[r.index]!.recipientAccountId)).toEqual(['123456789', '00000', '0000']);
    for (const r of refused) {
      expect(r.error).toBeInstanceOf(InvalidRecordError);
      expect((r.error as InvalidRecordError).problems[0]).toMatchObject({ member: 'recipientAccountId', problem: expect.stringContaining('12-digit') });
    }

    const { processor, received } = await startCollectingProcessor(prefix, { regions: acceptedRegions({ additionalRegions }) });
    cleanups.push(() => processor.stop());
    const accepted = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [{ original: records[i]!, eventID: o.value.eventID }] : []));
    expect(accepted).toHaveLength(501);
    await waitFor(() => received.length >= accepted.length, `${accepted.length} records through the runtime`);

    const byId = new Map(received.map((r) => [r.value.eventID, toCloudTrailRecord(r.value)]));
    // The client fills eventID where a record has none (6 fixture records); nothing else differs.
    const withoutEventId = accepted.filter((a) => a.original.eventID === undefined);
    expect(withoutEventId).toHaveLength(6);
    for (const { original, eventID } of accepted) {
      const expected: CloudTrailRecord = original.eventID === undefined ? { ...original, eventID } : original;
      expect(byId.get(eventID)).toStrictEqual(expected);
    }
    expect(received).toHaveLength(accepted.length);
  });
});
