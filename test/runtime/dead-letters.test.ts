import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { routingKey, toApiCallEvent } from '@opentrail/cloudtrail';
import { Recorder } from '@opentrail/producer';
import { readDeadLetter } from '@opentrail/runtime';
import { serdeFor, valueSubject } from '@opentrail/serde';
import { simpleEvent } from '../helpers/events.js';
import { testKafka, testRegistry, uniquePrefix } from '../helpers/env.js';
import { createTopics, readTopic } from '../helpers/kafka.js';
import { startCollectingProcessor } from '../helpers/processor.js';
import { waitFor } from '../helpers/wait.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach();

describe('dead letters', () => {
  it('sets aside 100 malformed messages with their reason while 10,000 good ones flow, each once', async () => {
    const prefix = uniquePrefix('dlq');
    const raw = `${prefix}events.raw`;
    const dlq = `${prefix}events.dlq`;
    const kafka = testKafka();
    await createTopics(kafka, [raw, dlq]);
    const registry = testRegistry();

    const recorder = await Recorder.create({ kafka, registry, topic: raw });
    cleanups.push(() => recorder.close());
    const serde = serdeFor(registry, 'ApiCallEvent');
    await serde.register(valueSubject(raw));
    const alertSerde = serdeFor(registry, 'Alert');
    await alertSerde.register(valueSubject(`${prefix}alerts`));

    // The malformed messages, by the reason each must be dead-lettered with.
    const valid = serde.encode(toApiCallEvent(simpleEvent(0)));
    const malformed: { reason: string; value: Buffer }[] = [];
    for (let i = 0; i < 20; i++) malformed.push({ reason: 'MAGIC_BYTE', value: randomBytes(1 + (i % 40)).fill(7, 0, 1) });
    for (let i = 0; i < 20; i++) malformed.push({ reason: 'MAGIC_BYTE', value: Buffer.concat([Buffer.from([1]), valid.subarray(1)]) });
    for (let i = 0; i < 20; i++) {
      const value = Buffer.from(valid);
      value.writeInt32BE(900_000 + i, 1);
      malformed.push({ reason: 'UNKNOWN_SCHEMA_ID', value });
    }
    for (let i = 0; i < 20; i++) {
      const alert = alertSerde.encode({ alertId: `a${i}`, ruleId: 'r', ruleKind: 'SIGMA', title: 't', description: null, severity: 'LOW', tags: [], groupKey: null, count: 1, windowStart: 0, windowEnd: 0, firstSeen: 0, lastSeen: 0, eventIds: [], accountId: null, region: null, sampleEvent: null, firedAt: 0 });
      malformed.push({ reason: 'INCOMPATIBLE_SCHEMA', value: alert });
    }
    for (let i = 0; i < 10; i++) malformed.push({ reason: 'VALIDATION', value: serde.encode({ ...toApiCallEvent(simpleEvent(i)), eventTime: '' }) });
    for (let i = 0; i < 10; i++) malformed.push({ reason: 'VALIDATION', value: serde.encode(toApiCallEvent(simpleEvent(i, { requestParameters: { blob: 'x'.repeat(300_000) } }))) });
    expect(malformed).toHaveLength(100);

    // Interleave: the good events through the producer client, the bad ones raw, in between.
    const producer = kafka.producer({});
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const eventIds: string[] = [];
    for (let chunk = 0; chunk < 10; chunk++) {
      const receipts = await Promise.all(Array.from({ length: 1000 }, (_, j) => recorder.record(simpleEvent(chunk * 1000 + j))));
      eventIds.push(...receipts.map((r) => r.eventID));
      // One request each: ten oversize events together would exceed the broker's request limit.
      for (let j = chunk * 10; j < chunk * 10 + 10; j++) {
        await producer.send({ topic: raw, messages: [{ key: routingKey('100000000000', 'us-east-1'), value: malformed[j]!.value, headers: { 'test-index': String(j) } }] });
      }
    }

    const { processor, received, metrics } = await startCollectingProcessor(prefix);
    cleanups.push(() => processor.stop());
    await waitFor(() => received.length >= 10_000, `10,000 good events (have ${received.length})`, 120_000);

    const letters = await readTopic(kafka, dlq, 100);
    expect(letters).toHaveLength(100);
    for (const letter of letters) {
      const index = Number(letter.headers!['test-index']!.toString());
      const info = readDeadLetter(letter.headers);
      expect(info.reason).toBe(malformed[index]!.reason);
      expect(letter.value).toEqual(malformed[index]!.value);
      expect(info.sourceTopic).toBe(raw);
      expect(Number(info.sourcePartition)).toBeGreaterThanOrEqual(0);
      expect(info.sourceOffset).toMatch(/^\d+$/);
      expect(info.service).toBe('testproc');
      expect(info.detail!.length).toBeGreaterThan(5);
    }
    expect(letters.filter((l) => readDeadLetter(l.headers).detail!.includes('eventTime'))).toHaveLength(10);
    expect(letters.filter((l) => readDeadLetter(l.headers).detail!.includes('256 KB'))).toHaveLength(10);

    // Each good event arrived exactly once.
    const seen = received.map((r) => r.value.eventID);
    expect(new Set(seen).size).toBe(seen.length);
    expect(new Set(seen)).toEqual(new Set(eventIds));
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/opentrail_testproc_events_dead_lettered_total\{reason="MAGIC_BYTE"\} 40/);
    expect(text).toMatch(/opentrail_testproc_events_dead_lettered_total\{reason="VALIDATION"\} 20/);
  });
});
