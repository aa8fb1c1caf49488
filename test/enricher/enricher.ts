/** Helpers of the enricher's integration tests. */
import type { KafkaClient } from '@opentrail/runtime';
import { Recorder } from '@opentrail/producer';
import { serdeFor, type EnrichedEvent } from '@opentrail/serde';
import type { Cleanups } from '../helpers/cleanup.js';
import { serviceEnv, stackEndpoints, testKafka, testRegistry, uniquePrefix } from '../helpers/env.js';
import { collect } from '../helpers/kafka.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';

export const topics = (prefix: string) => ({
  raw: `${prefix}events.raw`,
  enriched: `${prefix}events.enriched`,
  dlq: `${prefix}events.dlq`,
  identities: `${prefix}identities`,
});

/** An enricher process on the test's own topics, in a consumer group of the test's own. */
export function startEnricher(prefix: string, extra: Record<string, string> = {}): Promise<ServiceProcess> {
  return startService('enricher', serviceEnv(prefix, { OPENTRAIL_ENRICHER_GROUP_ID: `${prefix}enricher`, ...extra }));
}

/**
 * What an enricher test starts from: an enricher process on topics of its own (`extra` adds to its
 * environment), a recorder that writes raw events and a follower of the enriched topic, each
 * stopped after the test.
 */
export async function enricherStage(cleanups: Cleanups, label: string, extra: Record<string, string> = {}) {
  const prefix = uniquePrefix(label);
  const kafka = testKafka();
  const enricher = await startEnricher(prefix, extra);
  cleanups.push(() => enricher.stop());
  const recorder = await recorderFor(kafka, prefix);
  cleanups.push(() => recorder.close());
  const enriched = await followEnriched(kafka, prefix);
  cleanups.push(() => enriched.stop());
  return { prefix, kafka, enricher, recorder, enriched };
}

export function recorderFor(kafka: KafkaClient, prefix: string): Promise<Recorder> {
  return Recorder.create({ kafka, registry: { url: stackEndpoints().schemaRegistryUrl }, topic: topics(prefix).raw, lingerMs: 1 });
}

export interface EnrichedMessage {
  key: string | undefined;
  partition: number;
  value: EnrichedEvent;
}

/** Follows the enriched topic (committed records only, as downstream services read it), decoded. */
export async function followEnriched(kafka: KafkaClient, prefix: string) {
  const collected = await collect(kafka, topics(prefix).enriched, { readCommitted: true });
  const serde = serdeFor(testRegistry(), 'EnrichedEvent');
  const decoded = async (): Promise<EnrichedMessage[]> => {
    const messages = [...collected.messages];
    await serde.prepare(messages.map((m) => m.value));
    return messages.map((m) => ({ key: m.key?.toString(), partition: m.partition, value: serde.decode(m.value) }));
  };
  return {
    stop: () => collected.stop(),
    count: () => collected.messages.length,
    decoded,
    /** Waits for the enriched events of these eventIDs and returns them by eventID. */
    async waitForEvents(eventIDs: string[], timeoutMs = 60_000): Promise<Map<string, EnrichedMessage>> {
      return waitFor(
        async () => {
          const byId = new Map((await decoded()).map((m) => [m.value.event.eventID, m]));
          return eventIDs.every((id) => byId.has(id)) ? byId : undefined;
        },
        `${eventIDs.length} enriched events`,
        timeoutMs,
      );
    },
  };
}

/**
 * Every committed message of a topic up to its end offsets as of the call: the whole content, so a
 * duplicate cannot hide behind a count that was reached early.
 */
export async function readToEnd(kafka: KafkaClient, topic: string, timeoutMs = 60_000) {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high)]));
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: `read-to-end-${Math.random().toString(36).slice(2)}`, maxWaitTimeInMs: 200 });
  const positions = new Map<number, number>();
  const messages: { partition: number; key: Buffer | null; value: Buffer | null }[] = [];
  consumer.onBatchEnd((batch) => positions.set(batch.partition, Number(batch.lastOffset) + 1));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ partition, message }) => void messages.push({ partition, key: message.key, value: message.value }) });
  try {
    await waitFor(() => [...ends].every(([p, end]) => (positions.get(p) ?? 0) >= end), `${topic} read to its end`, timeoutMs);
    return messages;
  } finally {
    await consumer.disconnect();
  }
}
