import { connectKafka, type KafkaClient, type KafkaConnectionOptions, type KafkaProducer, type ProducedMessage } from '@opentrail/runtime';
import { acceptRecord, acceptedRegions, eventAccountId, routingKey, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { createSchemaRegistry, serdeFor, valueSubject, type AvroSerde, type ApiCallEvent, type RegistryOptions, type SchemaRegistry } from '@opentrail/serde';

export interface RecorderOptions {
  /** A Kafka connection, or the options to open one. */
  kafka: KafkaClient | KafkaConnectionOptions;
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
  /**
   * Region names to accept beyond the regions AWS had opened when this version was released
   * (KNOWN_AWS_REGIONS), e.g. a region opened since. The services take the same list
   * (`records.additionalRegions`). @default []
   */
  additionalRegions?: string[];
}

/** What record() resolves to once Kafka has acknowledged the event. */
export interface RecordReceipt {
  eventID: string;
  /** The Kafka key: `<accountId>/<region>`. */
  key: string;
}

interface Pending {
  message: ProducedMessage;
  receipt: RecordReceipt;
  resolve: (receipt: RecordReceipt) => void;
  reject: (error: Error) => void;
}

/**
 * The producer client: the public API for teams that publish API-call events.
 *
 * `record(event)` checks the event where it enters the pipeline, once (acceptRecord of
 * @opentrail/cloudtrail; the rules are in this package's README): plain JSON data that comes out
 * of the log file exactly as it went in, within RECORD_LIMITS, the members CloudTrail requires
 * with the types it documents, a real eventTime, a known region, and at most 256 KB as the log
 * line it will become. It fills eventID, eventVersion and eventTime when absent, encodes the
 * event with the registered Avro schema (registered once; the id is cached), keys it by account
 * and region, and batches it with others. The promise resolves when Kafka has the event
 * (idempotent producer, acks=all) and rejects otherwise: with an InvalidRecordError naming each
 * bad member and why (nothing was sent), or with Kafka's error. Nothing fails silently.
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
    private readonly producer: KafkaProducer,
    private readonly serde: AvroSerde<ApiCallEvent>,
    readonly topic: string,
    private readonly options: Required<Pick<RecorderOptions, 'lingerMs' | 'maxBatchRecords' | 'maxBatchBytes' | 'maxPendingRecords'>>,
    private readonly ownsProducer: boolean,
    private readonly regions: ReadonlySet<string>,
  ) {}

  static async create(options: RecorderOptions): Promise<Recorder> {
    const topic = options.topic ?? 'opentrail.events.raw';
    // A bad additionalRegions entry is the caller's mistake: said before anything connects.
    const regions = acceptedRegions({ additionalRegions: options.additionalRegions });
    const registry = 'url' in options.registry ? createSchemaRegistry(options.registry) : options.registry;
    const serde = serdeFor(registry, 'ApiCallEvent');
    await serde.register(valueSubject(topic));
    const kafka = 'brokers' in options.kafka ? connectKafka(options.kafka) : options.kafka;
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1});
    await producer.connect();
    return new Recorder(producer, serde, topic, {
      lingerMs: options.lingerMs ?? 10,
      maxBatchRecords: options.maxBatchRecords ?? 1000,
      maxBatchBytes: options.maxBatchBytes ?? 768 * 1024,
      maxPendingRecords: options.maxPendingRecords ?? 20_000,
    }, true, regions);
  }

  /**
   * Validates, encodes and queues one event. Rejects with InvalidRecordError (checked before
   * anything is queued; nothing is sent) or with the error Kafka returned for its batch. Any
   * value is accepted as the argument, so that `record(null)` is a refusal, not a TypeError.
   */
  async record(event: CloudTrailRecord): Promise<RecordReceipt> {
    if (this.closed) throw new Error('recorder is closed');
    const accepted = acceptRecord(event, this.regions);
    const value = this.serde.encode(accepted.event);
    const key = routingKey(eventAccountId(accepted.event), accepted.event.awsRegion);
    while (this.queue.length + this.inFlight >= this.options.maxPendingRecords) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return new Promise<RecordReceipt>((resolve, reject) => {
      this.queue.push({ message: { key, value }, receipt: { eventID: accepted.event.eventID, key }, resolve, reject });
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
