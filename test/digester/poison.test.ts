import { describe, expect, it } from 'vitest';
import { readDeadLetter } from '@opentrail/runtime';
import { testKafka } from '../helpers/env.js';
import { collect, waitForCommitted } from '../helpers/kafka.js';
import { waitFor } from '../helpers/wait.js';
import { chainProblems, DigestRun } from './helpers.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach();

describe('digester: poison deliveries (issue 19, class 2)', () => {
  it('dead-letters the deliveries no digest could list, with the reason, and digests the good ones around them; the partition is committed past them', async () => {
    const run = new DigestRun(6);
    cleanups.push(() => run.close());
    await run.setUp();
    const kafka = testKafka();
    const digester = await run.startDigester();
    // The digester creates its dead-letter topic at start.
    const dlq = await collect(kafka, `${run.prefix}events.dlq`);
    cleanups.push(() => dlq.stop());

    await run.deliverLogFile();
    // Event times no Date can hold: the digest could never be written, at any tick.
    const outOfRange = await run.deliverLogFile(undefined, (d) => ({ ...d, newestEventTime: 9e15 }));
    await run.deliverLogFile();
    // Delivered in a hundred years: its period would never end, and hold the partition's commits until then.
    const future = await run.deliverLogFile(undefined, (d) => ({ ...d, deliveredAt: d.deliveredAt + 100 * 365 * 86_400_000 }));
    await run.deliverLogFile();
    for (const key of [outOfRange, future]) run.logKeys.splice(run.logKeys.indexOf(key), 1);

    await run.waitForDigestsCovering();
    const { problems, listed } = await chainProblems(run);
    expect(problems).toEqual([]);
    expect(listed).toEqual(run.logKeys);
    const letters = await waitFor(() => (dlq.messages.length >= 2 ? dlq.messages : undefined), 'the two dead letters');
    const byReason = letters.map((m) => readDeadLetter(m.headers));
    expect(byReason).toMatchObject([
      { reason: 'DIGEST_FAILED', service: 'digester', sourceTopic: run.deliveriesTopic, detail: expect.stringMatching(/^RangeError: /) },
      { reason: 'DIGEST_FAILED', service: 'digester', detail: expect.stringMatching(/ahead of this clock/) },
    ]);
    // Held offsets end with the digests that list them: every partition is committed to its end.
    await waitForCommitted(kafka, `${run.prefix}digester`, run.deliveriesTopic, 60_000);
    expect(await digester.metric('opentrail_digester_events_dead_lettered_total', { reason: 'DIGEST_FAILED' })).toBe(2);
    expect(digester.child.exitCode).toBeNull();
  });
});
