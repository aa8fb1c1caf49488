import { Kafka, Partitioners, logLevel, type KafkaConfig, type Message, type Producer } from 'kafkajs';
import {
  InvalidRecordError,
  recordAccountId,
  routingKey,
  toApiCallEvent,
  validateRecord,
  withDefaults,
  type CloudTrailRecord,
} from '@opentrail/cloudtrail';
import { createSchemaRegistry, serdeFor, valueSubject, type AvroSerde, type ApiCallEvent, type RegistryOptions, type SchemaRegistry } from '@opentrail/serde';

export interface RecorderOptions {
  /** A kafkajs client, or the configuration to make one. */
  kafka: Kafka | KafkaConfig;
  /** A schema-registry client, or how to reach the registry. */
  registry: SchemaRegistry | RegistryOptions;
  /** @default opentrail.events.raw */
  topic?: string;
  /** How long a record may wait for others to share its request. @default 10 */
  lingerMs?: number;
  /** Records per produce request at most. @default 1000 */
  maxBatchRecords?: number;
  /**
   * Bytes per produce request at most: brokers refuse record batches over message.max.bytes
   * (1 MiB by default) and kafkajs does not split them. @default 786432
   */
  maxBatchBytes?: number;
  /** Records accepted but not yet acknowledged; record() waits for room beyond this. @default 20000 */
  maxPendingRecords?: number;
}

/** What record() resolves to once Kafka has acknowledged the event. */
export interface RecordReceipt {
  eventID: string;
  /** The Kafka key: `<accountId>/<region>`. */
  key: string;
}

interface Pending {
  message: Message;
  receipt: RecordReceipt;
  resolve: (receipt: RecordReceipt) => void;
  reject: (error: Error) => void;
}

/**
 * The producer client: the public API for teams that publish API-call events.
 *
 * `record(event)` validates the event (cloudtrail-spec.md §1: required members, eventTime format,
 * 12-digit account, region shape, 256 KB), fills eventID, eventVersion and eventTime when absent,
 * encodes it with the registered Avro schema (registered once; the id is cached), keys it by
 * account and region, and batches it with others. The promise resolves when Kafka has the event
 * (idempotent producer, acks=all) and rejects with the reason otherwise: an InvalidRecordError
 * naming each bad member, or the Kafka error. Nothing fails silently.
 */
export class Recorder {
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  private waiters: (() => void)[] = [];
  private closed = false;

  private constructor(
    private readonly producer: Producer,
    private readonly serde: AvroSerde<ApiCallEvent>,
    readonly topic: string,
    private readonly options: Required<Pick<RecorderOptions, 'lingerMs' | 'maxBatchRecords' | 'maxBatchBytes' | 'maxPendingRecords'>>,
    private readonly ownsProducer: boolean,
  ) {}

  static async create(options: RecorderOptions): Promise<Recorder> {
    const topic = options.topic ?? 'opentrail.events.raw';
    const registry = 'url' in options.registry ? createSchemaRegistry(options.registry) : options.registry;
    const serde = serdeFor(registry, 'ApiCallEvent');
    await serde.register(valueSubject(topic));
    const kafka = options.kafka instanceof Kafka ? options.kafka : new Kafka({ logLevel: logLevel.WARN, ...options.kafka });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    return new Recorder(producer, serde, topic, {
      lingerMs: options.lingerMs ?? 10,
      maxBatchRecords: options.maxBatchRecords ?? 1000,
      maxBatchBytes: options.maxBatchBytes ?? 768 * 1024,
      maxPendingRecords: options.maxPendingRecords ?? 20_000,
    }, true);
  }

  /**
   * Validates, encodes and queues one event. Rejects with InvalidRecordError (synchronously checked,
   * nothing is sent) or with the error Kafka returned for its batch.
   */
  async record(event: CloudTrailRecord): Promise<RecordReceipt> {
    if (this.closed) throw new Error('recorder is closed');
    const filled = withDefaults(event);
    const problems = validateRecord(filled);
    if (problems.length > 0) throw new InvalidRecordError(problems);
    const value = this.serde.encode(toApiCallEvent(filled));
    const key = routingKey(recordAccountId(filled)!, filled.awsRegion!);
    while (this.queue.length + this.inFlight >= this.options.maxPendingRecords) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return new Promise<RecordReceipt>((resolve, reject) => {
      this.queue.push({ message: { key, value }, receipt: { eventID: filled.eventID!, key }, resolve, reject });
      this.queuedBytes += value.length + key.length;
      if (this.queue.length >= this.options.maxBatchRecords || this.queuedBytes >= this.options.maxBatchBytes) this.drain();
      else this.timer ??= setTimeout(() => this.drain(), this.options.lingerMs);
    });
  }

  /** Sends what is queued and waits for every record so far to be acknowledged. */
  async flush(): Promise<void> {
    this.drain();
    await this.sending;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    if (this.ownsProducer) await this.producer.disconnect();
  }

  private drain() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0) {
      // Cut the queue into requests bounded by records and by bytes.
      let count = 0;
      let bytes = 0;
      while (count < this.queue.length && count < this.options.maxBatchRecords) {
        const size = (this.queue[count]!.message.value as Buffer).length + 64;
        if (count > 0 && bytes + size > this.options.maxBatchBytes) break;
        bytes += size;
        count++;
      }
      const batch = this.queue.splice(0, count);
      this.queuedBytes = Math.max(0, this.queuedBytes - bytes);
      this.inFlight += batch.length;
      // Requests go one after another (idempotent producer, one in flight), in record() order.
      this.sending = this.sending.then(() => this.send(batch));
    }
  }

  private async send(batch: Pending[]) {
    try {
      await this.producer.send({ topic: this.topic, acks: -1, messages: batch.map((p) => p.message) });
      for (const p of batch) p.resolve(p.receipt);
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
    } finally {
      this.inFlight -= batch.length;
      for (const wake of this.waiters.splice(0)) wake();
    }
  }
}
