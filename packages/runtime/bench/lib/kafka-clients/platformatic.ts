/**
 * @platformatic/kafka (pure TypeScript, Node 22.22+/24.6+): the consumer is a stream of single
 * messages; the pipeline takes what the stream has buffered as one batch, so each client
 * processes batches of what it has fetched. The broker here runs the classic group protocol
 * (KIP-848's `consumer` protocol is not on by default in Kafka 3.9); the client's
 * cooperative-sticky assignor makes it incremental.
 */
import { Consumer, MessagesStreamFallbackModes, MessagesStreamModes, Producer, type Message } from '@platformatic/kafka';
import type { ClientUnderTest, Pipeline, PipelineOptions } from './types.js';

/**
 * The client sends each partition's share of a send as one record batch, which the broker refuses
 * above message.max.bytes (1 MiB by default): sends of at most CHUNK messages (about 600 KB here).
 */
const CHUNK = 400;
function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

export const platformaticClient: ClientUnderTest = {
  name: '@platformatic/kafka',
  rebalanceProtocol: 'classic, cooperative-sticky (incremental)',
  async start(options: PipelineOptions): Promise<Pipeline> {
    const producer = new Producer({
      clientId: options.clientId,
      bootstrapBrokers: options.brokers,
      idempotent: true,
      acks: -1,
      ...(options.transactionalId ? { transactionalId: options.transactionalId } : {}),
    });
    const consumer = new Consumer({
      clientId: options.clientId,
      groupId: options.groupId,
      bootstrapBrokers: options.brokers,
      isolationLevel: 1,
      // Incremental rebalancing on the classic protocol (KIP-429), as the other clients are asked to.
      protocols: [{ name: process.env.BENCH_PLATFORMATIC_ASSIGNOR ?? 'cooperative-sticky', version: 3 }],
    });
    if (process.env.BENCH_DEBUG) {
      for (const event of ['consumer:group:join', 'consumer:group:leave', 'consumer:group:rejoin', 'consumer:group:rebalance', 'consumer:heartbeat:error']) {
        consumer.on(event as 'consumer:group:rejoin', (payload?: unknown) => console.error(options.clientId, event, JSON.stringify(payload, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))?.slice(0, 300)));
      }
    }
    const stream = await consumer.consume({
      topics: [options.input],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: MessagesStreamFallbackModes.EARLIEST,
      autocommit: false,
      highWaterMark: 1024,
    });
    let stopping = false;
    let failure: Error | undefined;
    // The stream ends itself on errors it cannot recover from (a commit needing a rejoin, …).
    stream.on('error', (error: Error) => {
      failure ??= error;
      options.onError(error);
    });
    const process1 = async (batch: Message[]) => {
      const receivedAt = process.hrtime.bigint();
      const messages = batch.map((m) => ({ topic: options.output, key: m.key, value: m.value, timestamp: m.timestamp }));
      // The last message of each partition: committing it commits everything before it.
      const last = new Map<string, Message>();
      for (const m of batch) last.set(`${m.topic}\u0000${m.partition}`, m);
      if (options.transactionalId) {
        const transaction = await producer.beginTransaction();
        try {
          await transaction.addConsumer(consumer);
          for (const chunk of chunks(messages)) await transaction.send({ messages: chunk });
          for (const m of last.values()) await transaction.addOffset(m);
          await transaction.commit();
        } catch (error) {
          await transaction.abort().catch(() => undefined);
          throw error;
        }
      } else {
        for (const chunk of chunks(messages)) await producer.send({ messages: chunk });
        // Not message.commit(): in 2.12.1 a manual commit made while the consumer rejoins is queued
        // for the next autocommit tick, which never comes with autocommit off, so it never settles
        // and the pipeline stalls after the first rebalance. The consumer's own commit instead,
        // retried over the rejoin; a partition that moved away keeps its last committed offset
        // (its batch is processed again by the new owner: at least once, as kafkajs).
        const offsets = [...last.values()].map((m) => ({ topic: m.topic, partition: m.partition, offset: m.offset + 1n, leaderEpoch: m.leaderEpoch }));
        for (let attempt = 0; ; attempt++) {
          try {
            await consumer.commit({ offsets });
            break;
          } catch (error) {
            if (process.env.BENCH_DEBUG) console.error(options.clientId, "commit failed", (error as Error).message);
            if (attempt >= 50 || stopping) throw error;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
      }
      if (process.env.BENCH_DEBUG) console.error(options.clientId, 'batch done');
      options.onBatchDone(batch.length, receivedAt);
    };
    const loop = (async () => {
      while (!stopping && !stream.destroyed) {
        const batch: Message[] = [];
        while (batch.length < 1000) {
          const message = stream.read() as Message | null;
          if (message === null) break;
          batch.push(message);
        }
        if (process.env.BENCH_DEBUG && batch.length > 0) console.error(options.clientId, 'batch', batch.length, 'readable', stream.readableLength);
        if (batch.length > 0) await process1(batch);
        else await new Promise<void>((resolve) => {
          const done = () => { stream.off('readable', done); stream.off('close', done); resolve(); };
          stream.once('readable', done);
          stream.once('close', done);
          setTimeout(done, 100);
        });
      }
    })().catch((error: unknown) => {
      failure = error instanceof Error ? error : new Error(JSON.stringify(error));
      options.onError(failure);
    });
    return {
      async stop() {
        stopping = true;
        await loop;
        await stream.close();
        await consumer.close(true);
        await producer.close();
        if (failure) throw failure;
      },
    };
  },
};
