import { describe, expect, it } from 'vitest';
import { Recorder } from '@opentrail/producer';
import { InfrastructureError, readDeadLetter } from '@opentrail/runtime';
import { simpleEvent } from '../helpers/events.js';
import { testKafka, testRegistry, uniquePrefix } from '../helpers/env.js';
import { createTopics, readTopic, waitForCommitted } from '../helpers/kafka.js';
import { startCollectingProcessor } from '../helpers/processor.js';
import { waitFor } from '../helpers/wait.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach();

/** issue 19, class 2, in the runtime itself: whatever a handler does, one record cannot stall a partition. */
describe('runtime: a record the handler fails on', () => {
  it('is isolated and dead-lettered as PROCESSING_FAILED, the records around it are handed over once each, and the partition is committed to its end', async () => {
    const prefix = uniquePrefix('poison');
    const raw = `${prefix}events.raw`;
    const dlq = `${prefix}events.dlq`;
    const kafka = testKafka();
    // One partition: the poison records sit between good ones of the same batch.
    await createTopics(kafka, [raw, dlq], 1);
    const recorder = await Recorder.create({ kafka, registry: testRegistry(), topic: raw });
    cleanups.push(() => recorder.close());
    const poisonNames = new Set(['constructor', '__proto__', 'toString']);
    const sent = Array.from({ length: 300 }, (_, i) => simpleEvent(i, i % 100 === 50 ? { eventName: [...poisonNames][i / 100 - 0.5] } : {}));
    const receipts = await Promise.all(sent.map((e) => recorder.record(e)));
    await recorder.flush();

    // A handler with a data bug: it fails on the whole batch when any of its records has a poison name;
    // and the first call fails on the infrastructure, which must be retried, not dead-lettered.
    let outage = true;
    const handedOver = new Map<string, number>();
    const { processor, received, metrics } = await startCollectingProcessor(prefix, {
      onBatch(records) {
        if (outage) {
          outage = false;
          throw new InfrastructureError('S3 is unreachable');
        }
        const poison = records.find((r) => poisonNames.has(r.value.eventName!));
        // As a plain-object lookup keyed by eventName fails (issue 19, class 1).
        if (poison) throw new TypeError(`no classification for ${poison.value.eventName}`);
        for (const r of records) handedOver.set(r.value.eventID, (handedOver.get(r.value.eventID) ?? 0) + 1);
      },
    });
    cleanups.push(() => processor.stop());

    const good = receipts.filter((_, i) => i % 100 !== 50).map((r) => r.eventID);
    await waitFor(() => good.every((id) => handedOver.has(id)), `the ${good.length} good events (have ${handedOver.size})`, 60_000);
    expect(received.map((r) => r.value.eventID).sort()).toEqual([...good].sort());
    expect([...handedOver.values()].every((n) => n === 1)).toBe(true);

    const letters = await readTopic(kafka, dlq, 3);
    expect(letters).toHaveLength(3);
    for (const letter of letters) {
      const info = readDeadLetter(letter.headers);
      expect(info).toMatchObject({ reason: 'PROCESSING_FAILED', service: 'testproc', sourceTopic: raw });
      expect(info.detail).toMatch(/^TypeError: /);
      expect(Number(info.sourceOffset) % 100).toBe(50);
    }
    await waitForCommitted(kafka, `${prefix}group`, raw);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/_events_dead_lettered_total\{reason="PROCESSING_FAILED"\} 3\n/);
    expect(text).toMatch(/_processing_errors_total\{stage="process"\} 1\n/);
    expect(processor.healthy).toBe(true);
  });
});
