import type { IHeaders, KafkaMessage } from 'kafkajs';

/** Header names a dead letter carries beside the original message's own headers (architecture.md, Contracts). */
export const DLQ_HEADERS = {
  reason: 'opentrail-dlq-reason',
  detail: 'opentrail-dlq-detail',
  sourceTopic: 'opentrail-dlq-source-topic',
  sourcePartition: 'opentrail-dlq-source-partition',
  sourceOffset: 'opentrail-dlq-source-offset',
  service: 'opentrail-dlq-service',
  time: 'opentrail-dlq-time',
} as const;

/**
 * Reason codes: the serde's (EMPTY, MAGIC_BYTE, UNKNOWN_SCHEMA_ID, INCOMPATIBLE_SCHEMA, AVRO_DECODE),
 * VALIDATION for a decoded value a service refuses, PROCESSING_FAILED for a record the handler fails
 * on (not the infrastructure: see isInfrastructureError), and codes services add (e.g.
 * ENRICHMENT_FAILED, DELIVERY_FAILED).
 */
export type DeadLetterReason = string;

/** The reason the runtime gives a record its handler fails on, found by isolating it (isolation.ts). */
export const PROCESSING_FAILED = 'PROCESSING_FAILED';

export interface DeadLetter {
  reason: DeadLetterReason;
  detail: string;
}

/** The parts of a consumed record a dead letter keeps (an InputRecord has them all). */
export interface DeadLetterSource {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  /** The value as read (its original bytes, for a replay after a fix). */
  raw?: Buffer;
  headers: IHeaders;
  timestamp: string;
}

/** A record a handler sets aside, returned in its Work: the runtime produces and counts it. */
export interface RecordDeadLetter extends DeadLetter {
  record: DeadLetterSource;
}

/** The dead-letter message for a consumed record (see deadLetterMessage). */
export function recordDeadLetterMessage(record: DeadLetterSource, service: string, letter: DeadLetter) {
  return deadLetterMessage({ key: record.key, value: record.raw ?? null, headers: record.headers, offset: record.offset, timestamp: record.timestamp }, { topic: record.topic, partition: record.partition, service }, letter);
}

/** An error as a dead letter's detail: its name and message (the stack stays in the logs). */
export function failureDetail(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/** The dead-letter message for `message`: its original key, bytes and headers, plus why and where from. */
export function deadLetterMessage(
  message: Pick<KafkaMessage, 'key' | 'value' | 'headers' | 'offset' | 'timestamp'>,
  source: { topic: string; partition: number; service: string },
  letter: DeadLetter,
) {
  const headers: IHeaders = {
    ...message.headers,
    [DLQ_HEADERS.reason]: letter.reason,
    // Header values are bytes; keep the detail readable and bounded.
    [DLQ_HEADERS.detail]: letter.detail.slice(0, 2000),
    [DLQ_HEADERS.sourceTopic]: source.topic,
    [DLQ_HEADERS.sourcePartition]: String(source.partition),
    [DLQ_HEADERS.sourceOffset]: message.offset,
    [DLQ_HEADERS.service]: source.service,
    [DLQ_HEADERS.time]: new Date().toISOString(),
  };
  return { key: message.key, value: message.value, headers, timestamp: message.timestamp };
}

/** Reads the dead-letter headers of a consumed DLQ message (for tools and tests). */
export function readDeadLetter(headers: IHeaders | undefined): Record<keyof typeof DLQ_HEADERS, string | undefined> {
  const read = (name: string) => {
    const value = headers?.[name];
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? undefined : first.toString();
  };
  return Object.fromEntries(Object.entries(DLQ_HEADERS).map(([k, name]) => [k, read(name)])) as Record<keyof typeof DLQ_HEADERS, string | undefined>;
}
