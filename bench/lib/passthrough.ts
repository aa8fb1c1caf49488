/**
 * Throughput of the stream runtime (StreamProcessor) with a given partition handler, and the
 * baseline every service's benchmark compares itself with: the pass-through, which reads N
 * pre-produced ApiCallEvent messages and writes each back out unchanged to another topic.
 *
 * Both are timed the same way: from the first batch handed to the handler to the moment the
 * runtime has produced the last of the N outputs (acknowledged, and committed with the offsets),
 * so consumer-group joining is not counted.
 */
import type { KafkaClient } from '@opentrail/runtime';
import { randomBytes } from 'node:crypto';
import { createLogger, ServiceMetrics } from '@opentrail/observability';
import { StreamProcessor, type PartitionHandler } from '@opentrail/runtime';
import { serdeFor, valueSubject, type ApiCallEvent, type AvroSerde, type SchemaRegistry } from '@opentrail/serde';
import { createTopic } from './events.js';

export interface Throughput {
  events: number;
  seconds: number;
  eventsPerSecond: number;
  /**
   * CPU time (user + system) this process spent over the same span: what the handler and the
   * runtime's client side cost, less sensitive than wall time to what else the machine runs.
   */
  cpuSeconds?: number;
}

export interface MeasureOptions {
  kafka: KafkaClient;
  registry: SchemaRegistry;
  /** A topic holding at least `count` ApiCallEvents (see preProduce). */
  inputTopic: string;
  count: number;
  /** The topic whose produced messages are counted: `count` of them end the measurement. */
  outputTopic: string;
  handler: PartitionHandler<ApiCallEvent>;
  /** The serde the runtime decodes with; pass it when the handler needs the same instance. @default a new one */
  serde?: AvroSerde<ApiCallEvent>;
  /** The consumer-side validation, as the service runs it. */
  validate?: (value: ApiCallEvent, bytes: number) => string | undefined;
  /** Outputs and offsets in one transaction per input partition, as transactional services run. @default false */
  transactional?: boolean;
  /** @default the runtime's default (4) */
  partitionsConsumedConcurrently?: number;
  /** @default 600000 */
  timeoutMs?: number;
  /** The StreamProcessor to run: another version of the runtime (a before/after bench). @default this tree's */
  processor?: typeof StreamProcessor;
  /** Called once as the first batch arrives and once as the last output is counted: the measured span, for other processes' CPU. */
  onFirstBatch?: () => void;
  onMeasured?: () => void;
}

/** Runs a StreamProcessor with `handler` over the input (a fresh consumer group: from the beginning) and times it. */
export async function measureHandler(options: MeasureOptions): Promise<Throughput> {
  const run = randomBytes(4).toString('hex');
  const metrics = new ServiceMetrics('bench');
  let firstBatchAt: bigint | undefined;
  let cpuAtFirstBatch: NodeJS.CpuUsage | undefined;
  const handler: PartitionHandler<ApiCallEvent> = {
    ...options.handler,
    processBatch: (records, context) => {
      if (firstBatchAt === undefined) options.onFirstBatch?.();
      cpuAtFirstBatch ??= process.cpuUsage();
      firstBatchAt ??= process.hrtime.bigint();
      return options.handler.processBatch(records, context);
    },
  };
  const Processor = options.processor ?? StreamProcessor;
  const processor = new Processor<ApiCallEvent>({
    service: 'bench',
    kafka: options.kafka,
    groupId: `bench-${run}`,
    topic: options.inputTopic,
    serde: options.serde ?? serdeFor(options.registry, 'ApiCallEvent'),
    validate: options.validate,
    deadLetterTopic: `${options.inputTopic}.dlq-${run}`,
    handler,
    logger: createLogger('bench', 'warn'),
    metrics,
    transactional: options.transactional ? { idPrefix: `bench-${run}` } : undefined,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
  });
  const produced = async () => {
    const metric = await metrics.registry.getSingleMetric('opentrail_bench_events_out_total')?.get();
    return metric?.values.find((v) => v.labels.topic === options.outputTopic)?.value ?? 0;
  };
  await processor.start();
  try {
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    for (;;) {
      if ((await produced()) >= options.count) break;
      if (Date.now() > deadline) throw new Error(`timed out: ${await produced()} of ${options.count} produced`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const seconds = Number(process.hrtime.bigint() - firstBatchAt!) / 1e9;
    const cpu = process.cpuUsage(cpuAtFirstBatch);
    options.onMeasured?.();
    return { events: options.count, seconds, eventsPerSecond: options.count / seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  } finally {
    await processor.stop();
  }
}

export interface PassThroughOptions extends Omit<MeasureOptions, 'handler' | 'outputTopic'> {
  /** Where the pass-through writes; a fresh topic by default. */
  outputTopic?: string;
  /** Partitions of the fresh output topic. @default 6 */
  partitions?: number;
}

/**
 * The runtime's pass-through throughput: every input event consumed, decoded and validated as a
 * service would, and written unchanged (its original bytes) to another topic: the cost of the
 * runtime alone, which a service's handler adds to.
 */
export async function measurePassThrough(options: PassThroughOptions): Promise<Throughput> {
  const outputTopic = options.outputTopic ?? `${options.inputTopic}.passthrough-${randomBytes(4).toString('hex')}`;
  if (!options.outputTopic) await createTopic(options.kafka, outputTopic, options.partitions ?? 6);
  const serde = options.serde ?? serdeFor(options.registry, 'ApiCallEvent');
  await serde.register(valueSubject(outputTopic));
  return measureHandler({
    serde,
    ...options,
    outputTopic,
    handler: {
      async processBatch(records) {
        return { outputs: records.map((r) => ({ topic: outputTopic, key: r.key, value: r.raw ?? serde.encode(r.value), headers: r.headers, timestamp: r.timestamp })) };
      },
    },
  });
}
