/**
 * A live feed of raw events at a fixed rate, each carrying the instant it was produced in its own
 * eventID (the UUIDv7 layout: 48 bits of Unix milliseconds first). A log file downloaded from S3
 * then gives every event's production time without a table of sent IDs, however many were sent.
 */
import { randomBytes } from 'node:crypto';
import { eventAccountId, routingKey, toApiCallEvent } from '@opentrail/cloudtrail';
import { splitRequests, type KafkaClient } from '@opentrail/runtime';
import { serdeFor, valueSubject, type ApiCallEvent, type SchemaRegistry } from '@opentrail/serde';
import { benchRecord } from './archiver-workload.js';

/** An eventID whose first 12 hex digits are `producedAt` (ms), the rest a run id and a sequence number. */
export function timedEventId(producedAt: number, run: string, seq: number): string {
  const t = producedAt.toString(16).padStart(12, '0');
  const s = seq.toString(16).padStart(15, '0');
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${s.slice(0, 3)}-8${s.slice(3, 6)}-${run.slice(0, 3)}${s.slice(6, 15)}`;
}

/** The production instant written by timedEventId. */
export function producedAtOf(eventId: string): number {
  return parseInt(eventId.slice(0, 8) + eventId.slice(9, 13), 16);
}

export interface FeedResult {
  sent: number;
  seconds: number;
}

/**
 * Produces `rate` events per second to `topic` until `signal` aborts, in 100 ms ticks: each tick
 * sends its share, and a tick that falls behind is caught up by the next (the offered load is
 * fixed; when the broker or this process cannot keep it, `sent / seconds` says so). The events are
 * real CloudTrail records over 20 accounts × 4 regions (80 keys, so every partition gets some),
 * restricted to those `keep` accepts (the trail's selection: then every event produced is archived).
 */
export async function feedRawEvents(
  kafka: KafkaClient,
  registry: SchemaRegistry,
  topic: string,
  options: { rate: number; signal: AbortSignal; keep: (event: ApiCallEvent) => boolean },
): Promise<FeedResult> {
  const templates = Array.from({ length: 4000 }, (_, i) => toApiCallEvent(benchRecord(i, 'replicas'))).filter(options.keep);
  if (templates.length === 0) throw new Error('the trail selects none of the bench records');
  const serde = serdeFor(registry, 'ApiCallEvent');
  await serde.register(valueSubject(topic));
  // Not idempotent, several requests in flight: one request at a time could not offer thousands of
  // events/s on a loaded machine. A retried send may duplicate an event; only rates are counted.
  const producer = kafka.producer({ idempotent: false, maxInFlightRequests: 8 });
  const inFlight = new Set<Promise<void>>();
  await producer.connect();
  const run = randomBytes(2).toString('hex');
  const tickMs = 100;
  const perTick = Math.max(1, Math.round((options.rate * tickMs) / 1000));
  const started = Date.now();
  let sent = 0;
  try {
    for (let tick = 0; !options.signal.aborted; tick++) {
      const due = started + tick * tickMs;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      const now = Date.now();
      const eventTime = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const messages = [];
      for (let i = 0; i < perTick; i++, sent++) {
        const event: ApiCallEvent = { ...templates[sent % templates.length]!, eventID: timedEventId(now, run, sent), eventTime };
        messages.push({ key: routingKey(eventAccountId(event), event.awsRegion), value: serde.encode(event) });
      }
      for (const request of splitRequests([{ topic, messages }])) {
        const sending: Promise<void> = producer.sendBatch({ topicMessages: request, acks: -1 }).then(() => void inFlight.delete(sending));
        inFlight.add(sending);
        if (inFlight.size >= 8) await Promise.race(inFlight);
      }
    }
    await Promise.all(inFlight);
  } finally {
    await producer.disconnect();
  }
  return { sent, seconds: (Date.now() - started) / 1000 };
}
