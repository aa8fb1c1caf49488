import type { KafkaClient } from '../src/kafkaClient.js';

/** A fetched record as the port hands it over. */
export const message = (offset: number, key: string | null, value: string | null) => ({
  offset: String(offset),
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
});

/** Just enough of the port for the compacted-topic readers: an admin that lists offsets, a consumer the test drives. */
export function fakeKafka(offsets: { partition: number; high: string; low: string }[]) {
  const listeners = new Map<string, ((event: { payload: unknown }) => void)[]>();
  let eachBatch: ((payload: { batch: { partition: number; messages: ReturnType<typeof message>[] } }) => Promise<void>) | undefined;
  let disconnected = false;
  const on = (event: string, listener: (event: { payload: unknown }) => void) => listeners.set(event, [...(listeners.get(event) ?? []), listener]);
  const consumer = {
    onBatchEnd: (listener: (batch: unknown) => void) => on('end_batch_process', ({ payload }) => listener(payload)),
    onCrash: (listener: (crash: unknown) => void) => on('crash', ({ payload }) => listener(payload)),
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async (options: { eachBatch: typeof eachBatch }) => void (eachBatch = options.eachBatch),
    disconnect: async () => void (disconnected = true),
  };
  const admin = { connect: async () => undefined, disconnect: async () => undefined, fetchTopicOffsets: async () => offsets };
  const emit = (event: string, payload: unknown) => (listeners.get(event) ?? []).forEach((l) => l({ payload }));
  return {
    kafka: { admin: () => admin, consumer: () => consumer } as unknown as KafkaClient,
    /** A fetched batch: eachBatch (if it holds records kafkajs hands over), then END_BATCH_PROCESS. */
    async deliver(partition: number, messages: ReturnType<typeof message>[], lastOffset = Number(messages[messages.length - 1]?.offset)) {
      if (messages.length) await eachBatch!({ batch: { partition, messages } });
      emit('end_batch_process', { partition, lastOffset: String(lastOffset) });
    },
    crash: (error: Error, restart: boolean) => emit('crash', { error, restart }),
    get disconnected() {
      return disconnected;
    },
  };
}
