/**
 * The bare-client baseline of the runtime's pass-through bench (bench/runtime.bench.ts): what a team
 * would write with kafkajs alone, without the runtime. It lives in the runtime package because only
 * this package imports a Kafka client library.
 *
 * Each batch's messages are produced unchanged (idempotent producer, acks=all), then its offsets
 * committed: at least once like the runtime, but no decoding (unless `decode` is given), no
 * validation, no dead letters, no metrics. Timed from the first batch, like the runtime's bench.
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { randomUUID } from 'node:crypto';

export interface BareThroughput {
  events: number;
  seconds: number;
  eventsPerSecond: number;
  /** This process's CPU time (user + system) over the same span. */
  cpuSeconds: number;
}

export interface BarePassThroughOptions {
  brokers: string[];
  inputTopic: string;
  /** An existing topic the messages are copied to. */
  outputTopic: string;
  /** Messages to copy: the measurement ends when this many are produced. */
  count: number;
  /** Work per message before it is produced (the hand-written decoding baseline). */
  decode?: (value: Buffer) => Promise<void>;
  /** @default 600000 */
  timeoutMs?: number;
}

export async function bareKafkajsPassThrough(options: BarePassThroughOptions): Promise<BareThroughput> {
  const { inputTopic, outputTopic, count, decode } = options;
  const kafka = new Kafka({ clientId: 'bench-bare', brokers: options.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  // The runtime's consumer settings (packages/runtime/src/processor.ts).
  const consumer = kafka.consumer({ groupId: `bench-bare-${randomUUID().slice(0, 8)}`, sessionTimeout: 30_000, rebalanceTimeout: 60_000, heartbeatInterval: 3_000, maxWaitTimeInMs: 1_000, allowAutoTopicCreation: false });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: inputTopic, fromBeginning: true });
  let produced = 0;
  let started: { at: bigint; cpu: NodeJS.CpuUsage } | undefined;
  let finish!: (t: BareThroughput | Error) => void;
  const finished = new Promise<BareThroughput | Error>((resolve) => (finish = resolve));
  const timeout = setTimeout(() => finish(new Error(`bare kafkajs pass-through timed out: ${produced} of ${count}`)), options.timeoutMs ?? 600_000);
  // A consumer kafkajs gives up on would otherwise show only as the timeout.
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) finish(new Error(`bare kafkajs consumer crashed after ${produced} of ${count}: ${payload.error.message}`));
  });
  try {
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 4,
      eachBatch: async (payload) => {
        const { batch } = payload;
        started ??= { at: process.hrtime.bigint(), cpu: process.cpuUsage() };
        if (batch.messages.length === 0) return;
        if (decode) for (const m of batch.messages) await decode(m.value!);
        const messages = batch.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp }));
        await producer.send({ topic: outputTopic, acks: -1, messages });
        const last = batch.messages[batch.messages.length - 1]!.offset;
        await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
        payload.resolveOffset(last);
        await payload.heartbeat();
        produced += messages.length;
        if (produced >= count) {
          const seconds = Number(process.hrtime.bigint() - started.at) / 1e9;
          const used = process.cpuUsage(started.cpu);
          finish({ events: count, seconds, eventsPerSecond: count / seconds, cpuSeconds: (used.user + used.system) / 1e6 });
        }
      },
    });
    const result = await finished;
    if (result instanceof Error) throw result;
    return result;
  } finally {
    clearTimeout(timeout);
    await consumer.disconnect();
    await producer.disconnect();
  }
}
