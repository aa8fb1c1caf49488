/**
 * StreamProcessor's offset-commit rules (the heart of exactly-once), on an in-memory Kafka
 * (fakeKafka.ts) that the tests drive batch by batch: no broker, every interleaving reproducible.
 * The same rules run against a real broker in test/runtime/ (round-trip, poison, crash-redelivery).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLogger, ServiceMetrics } from '@opentrail/observability';
import { AvroSerde, loadSchemas, type DigestPublicKey, type SchemaRegistry } from '@opentrail/serde';
import { DLQ_HEADERS, PROCESSING_FAILED, readDeadLetter } from '../src/dead-letter.js';
import { InfrastructureError } from '../src/infrastructure.js';
import { StreamProcessor, type InputRecord, type PartitionHandler, type Work } from '../src/processor.js';
import { FakeKafka, type Acknowledged, type Commit } from './fakeKafka.js';

const INPUT = 'events.raw';
const OUTPUT = 'events.out';
const DLQ = 'events.dlq';
const SCHEMA_ID = 7;
const schema = loadSchemas().DigestPublicKey;

/** A registry that knows one schema id; fetching any other one is a 404 (the record is dead-lettered). */
const registry = {
  getSchema: async (id: number) => {
    if (id === SCHEMA_ID) return schema.type;
    throw Object.assign(new Error(`schema ${id} not found`), { status: 404 });
  },
} as unknown as SchemaRegistry;

/** An input value, Confluent-framed; its fingerprint says what the test handler does with it. */
function encoded(fingerprint: string): Buffer {
  const body = schema.type.toBuffer({ fingerprint, publicKeyDer: Buffer.alloc(0), validityStart: 0, validityEnd: null, source: 'test', publishedAt: 0 } satisfies DigestPublicKey);
  const framed = Buffer.alloc(5 + body.length);
  framed[0] = 0;
  framed.writeInt32BE(SCHEMA_ID, 1);
  body.copy(framed, 5);
  return framed;
}

/** Not Confluent-framed: the serde refuses it (MAGIC_BYTE), the runtime dead-letters it. */
const UNDECODABLE = Buffer.from('{"not":"avro"}');

/** "<partition>:<offset>": the input record an output or a dead letter comes from. */
function sourceOf(a: Acknowledged): string {
  if (a.topic === DLQ) {
    const dl = readDeadLetter(a.message.headers);
    return `${dl.sourcePartition}:${dl.sourceOffset}`;
  }
  return String(a.message.value);
}

interface Harness {
  kafka: FakeKafka;
  processor: StreamProcessor<DigestPublicKey>;
  /** Offsets the handler was handed, per partition, in order ("p:o"). */
  seen: string[];
  /** Handler calls that fail with an infrastructure error before doing anything, from now on. */
  outage: { calls: number };
}

/**
 * A processor over FakeKafka with a pass-through handler: each record becomes an output whose value
 * is "<partition>:<offset>". A record whose fingerprint is "poison" makes the handler fail (a data
 * error); while outage.calls > 0 every call fails with an InfrastructureError.
 */
function harness(options: { transactional?: boolean; handler?: Partial<PartitionHandler<DigestPublicKey>>; heartbeatInterval?: number } = {}): Harness {
  const kafka = new FakeKafka(INPUT);
  const seen: string[] = [];
  const outage = { calls: 0 };
  const handler: PartitionHandler<DigestPublicKey> = {
    async processBatch(records: InputRecord<DigestPublicKey>[]): Promise<Work> {
      if (outage.calls > 0) {
        outage.calls--;
        throw new InfrastructureError('the database is down');
      }
      if (records.some((r) => r.value.fingerprint === 'poison')) throw new TypeError('cannot enrich this record');
      for (const r of records) seen.push(`${r.partition}:${r.offset}`);
      return { outputs: records.map((r) => ({ topic: OUTPUT, key: r.key, value: Buffer.from(`${r.partition}:${r.offset}`) })) };
    },
    ...options.handler,
  };
  const processor = new StreamProcessor<DigestPublicKey>({
    service: 'test',
    kafka,
    groupId: 'test-group',
    topic: INPUT,
    serde: new AvroSerde<DigestPublicKey>(registry, schema),
    deadLetterTopic: DLQ,
    handler,
    logger: createLogger('test', 'silent'),
    metrics: new ServiceMetrics('test'),
    transactional: options.transactional ? { idPrefix: 'test' } : undefined,
    consumer: options.heartbeatInterval === undefined ? undefined : { heartbeatInterval: options.heartbeatInterval },
  });
  return { kafka, processor, seen, outage };
}

async function started(h: Harness, partitions: number[]) {
  await h.processor.start();
  await h.kafka.groupMember!.assign(partitions);
  return h.kafka.groupMember!;
}

function values(n: number, fingerprint = (i: number) => `event-${i}`) {
  return Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`k${i}`), value: encoded(fingerprint(i)) }));
}

for (const transactional of [false, true]) {
  const mode = transactional ? 'transactional' : 'idempotent';

  describe(`StreamProcessor commits (${mode})`, () => {
    it('commits a batch after its outputs are acknowledged, and only then lets the partition move on', async () => {
      const h = harness({ transactional });
      const consumer = await started(h, [0]);
      h.kafka.append(0, values(3));
      expect(await consumer.deliver(0)).toBe('done');
      expect(h.kafka.acknowledged.map(sourceOf)).toEqual(['0:0', '0:1', '0:2']);
      expect(h.kafka.commits).toEqual([{ partition: 0, offset: 3n, via: transactional ? 'transaction' : 'consumer' }]);
      const kinds = h.kafka.happenings.map((x) => x.kind);
      // Outputs, then the commit, then the batch is over (the consumer may fetch the partition again).
      expect(kinds.indexOf('acknowledged')).toBeLessThan(kinds.indexOf('committed'));
      expect(kinds.indexOf('committed')).toBeLessThan(kinds.indexOf('batch'));
      await h.processor.stop();
    });

    it('commits nothing when producing the outputs fails, and produces them before committing on the redelivery', async () => {
      const h = harness({ transactional });
      const consumer = await started(h, [0]);
      h.kafka.append(0, values(4));
      h.kafka.failNext('send');
      expect(await consumer.deliver(0)).toBe('failed');
      expect(h.kafka.commits).toEqual([]);
      expect(h.kafka.acknowledged).toEqual([]);
      expect(await consumer.deliver(0)).toBe('done');
      expect(h.kafka.committed(0)).toBe(4n);
      // The handler was not asked again: its work of the first attempt was kept and produced now.
      expect(h.seen).toEqual(['0:0', '0:1', '0:2', '0:3']);
      expect(h.kafka.acknowledged.map(sourceOf)).toEqual(['0:0', '0:1', '0:2', '0:3']);
      await h.processor.stop();
    });

    it('dead-letters an undecodable record with its reason, in the same commit that moves past it', async () => {
      const h = harness({ transactional });
      const consumer = await started(h, [0]);
      h.kafka.append(0, [{ value: encoded('a') }, { value: UNDECODABLE }, { value: encoded('b') }]);
      expect(await consumer.deliver(0)).toBe('done');
      const letters = h.kafka.acknowledged.filter((a) => a.topic === DLQ);
      expect(letters).toHaveLength(1);
      expect(readDeadLetter(letters[0]!.message.headers)).toMatchObject({ reason: 'MAGIC_BYTE', sourceTopic: INPUT, sourcePartition: '0', sourceOffset: '1', service: 'test' });
      expect(letters[0]!.message.value).toEqual(UNDECODABLE);
      expect(h.kafka.acknowledged.filter((a) => a.topic === OUTPUT).map(sourceOf)).toEqual(['0:0', '0:2']);
      expect(h.kafka.commits.map((c) => c.offset)).toEqual([3n]);
      if (transactional) expect(new Set(h.kafka.acknowledged.map((a) => a.transactionalId))).toEqual(new Set([`test-${INPUT}-0`]));
      await h.processor.stop();
    });

    it('retries an infrastructure failure without dead-lettering, then processes the batch', async () => {
      const h = harness({ transactional });
      const consumer = await started(h, [0]);
      h.kafka.append(0, values(5));
      h.outage.calls = 2;
      expect(await consumer.deliver(0)).toBe('failed');
      expect(await consumer.deliver(0)).toBe('failed');
      expect(h.kafka.acknowledged).toEqual([]);
      expect(h.kafka.commits).toEqual([]);
      expect(await consumer.deliver(0)).toBe('done');
      expect(h.kafka.acknowledged.filter((a) => a.topic === DLQ)).toEqual([]);
      expect(h.kafka.acknowledged.map(sourceOf)).toEqual(['0:0', '0:1', '0:2', '0:3', '0:4']);
      expect(h.kafka.committed(0)).toBe(5n);
      await h.processor.stop();
    });

    it('dead-letters a record the handler fails on (PROCESSING_FAILED) and processes the rest of the partition', async () => {
      const h = harness({ transactional });
      const consumer = await started(h, [0]);
      h.kafka.append(0, values(8, (i) => (i === 5 ? 'poison' : `event-${i}`)));
      expect(await consumer.deliver(0)).toBe('done');
      const letters = h.kafka.acknowledged.filter((a) => a.topic === DLQ);
      expect(letters.map(sourceOf)).toEqual(['0:5']);
      expect(letters[0]!.message.headers?.[DLQ_HEADERS.reason]).toBe(PROCESSING_FAILED);
      expect(h.kafka.acknowledged.filter((a) => a.topic === OUTPUT).map(sourceOf)).toEqual(['0:0', '0:1', '0:2', '0:3', '0:4', '0:6', '0:7']);
      expect(h.kafka.committed(0)).toBe(8n);
      h.kafka.append(0, values(2));
      expect(await consumer.deliver(0)).toBe('done');
      expect(h.kafka.committed(0)).toBe(10n);
      await h.processor.stop();
    });

    it('skips offsets it already handed over when a rejoin re-delivers from the committed offset', async () => {
      const h = harness({ transactional });
      const consumer = await started(h, [0]);
      h.kafka.append(0, values(3));
      // The handler runs, then committing fails: the work is kept, the partition not committed.
      h.kafka.failNext(transactional ? 'transactionCommit' : 'commitOffsets');
      expect(await consumer.deliver(0)).toBe('failed');
      expect(h.kafka.committed(0)).toBeUndefined();
      await consumer.rejoin();
      h.kafka.append(0, values(2));
      expect(await consumer.deliver(0)).toBe('done');
      expect(h.seen).toEqual(['0:0', '0:1', '0:2', '0:3', '0:4']);
      expect(h.kafka.committed(0)).toBe(5n);
      const outputs = h.kafka.acknowledged.map(sourceOf);
      if (transactional) expect(outputs).toEqual(['0:0', '0:1', '0:2', '0:3', '0:4']);
      // Idempotent mode is at least once: outputs of a batch whose commit failed may be produced again.
      else expect(new Set(outputs)).toEqual(new Set(['0:0', '0:1', '0:2', '0:3', '0:4']));
      await h.processor.stop();
    });

    it('neither produces nor commits the in-flight batch of a partition revoked during it, and releases it after', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const events: string[] = [];
      const h = harness({
        transactional,
        handler: {
          async processBatch(records) {
            events.push('batch started');
            await gate;
            events.push('batch finished');
            return { outputs: records.map((r) => ({ topic: OUTPUT, value: Buffer.from(`${r.partition}:${r.offset}`) })) };
          },
          onRevoked: (partitions) => void events.push(`revoked ${partitions.map((p) => p.partition).join(',')}`),
        },
      });
      const consumer = await started(h, [0, 1]);
      h.kafka.append(0, values(3));
      const delivery = consumer.deliver(0);
      await new Promise((resolve) => setImmediate(resolve));
      expect(events).toEqual(['batch started']);
      const revoked = consumer.assign([1]);
      release();
      await revoked;
      await delivery;
      expect(events).toEqual(['batch started', 'batch finished', 'revoked 0']);
      expect(h.kafka.acknowledged).toEqual([]);
      expect(h.kafka.commits).toEqual([]);
      expect(h.processor.assignedPartitions()).toEqual([1]);
      await h.processor.stop();
    });

    it('serialises the batches of a partition: the next is not handed over before the previous is committed', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let running = 0;
      let overlapped = false;
      const h = harness({
        transactional,
        handler: {
          async processBatch(records) {
            overlapped ||= running > 0;
            running++;
            await gate;
            running--;
            return { outputs: records.map((r) => ({ topic: OUTPUT, value: Buffer.from(`${r.partition}:${r.offset}`) })) };
          },
        },
      });
      const consumer = await started(h, [0]);
      h.kafka.append(0, values(2));
      const first = consumer.deliver(0, 1);
      // Backpressure: while the batch is open the consumer does not fetch the partition again.
      expect(await consumer.deliver(0)).toBe('nothing');
      await new Promise((resolve) => setImmediate(resolve));
      expect(h.kafka.commits).toEqual([]);
      release();
      expect(await first).toBe('done');
      expect(h.kafka.committed(0)).toBe(1n);
      expect(await consumer.deliver(0)).toBe('done');
      expect(h.kafka.committed(0)).toBe(2n);
      expect(overlapped).toBe(false);
      await h.processor.stop();
    });

    it('on stop, pauses the input, takes no new batch, flushes and commits what the handler held', async () => {
      const held: InputRecord<DigestPublicKey>[] = [];
      const h = harness({
        transactional,
        handler: {
          // Holds records until a flush, like the archiver's open files.
          async processBatch(records) {
            held.push(...records);
          },
          heldFrom: () => (held.length > 0 ? BigInt(held[0]!.offset) : undefined),
          async flush(_tp, reason) {
            const outputs = held.map((r) => ({ topic: OUTPUT, value: Buffer.from(`${r.partition}:${r.offset}:${reason}`) }));
            held.length = 0;
            return { outputs };
          },
        },
      });
      const consumer = await started(h, [0]);
      h.kafka.append(0, values(3));
      expect(await consumer.deliver(0)).toBe('done');
      // Held in memory only: nothing may be committed past it.
      expect(h.kafka.commits.filter((c) => c.offset > 0n)).toEqual([]);
      await h.processor.stop();
      expect(consumer.paused.has('all')).toBe(true);
      expect(h.kafka.acknowledged.map((a) => String(a.message.value))).toEqual(['0:0:shutdown', '0:1:shutdown', '0:2:shutdown']);
      expect(h.kafka.committed(0)).toBe(3n);
      expect(consumer.disconnected).toBe(true);
      h.kafka.append(0, values(1));
      expect(await consumer.deliver(0)).toBe('nothing');
    });
  });
}

describe('StreamProcessor commits (transactional only)', () => {
  for (const failing of ['transactionCommit', 'sendOffsets'] as const) {
    it(`puts outputs and the offset in one transaction: a failure of ${failing} aborts both, and the retry writes them once`, async () => {
      const h = harness({ transactional: true });
      const consumer = await started(h, [0]);
      h.kafka.append(0, values(3));
      h.kafka.failNext(failing);
      expect(await consumer.deliver(0)).toBe('failed');
      expect(h.kafka.happenings.filter((x) => x.kind === 'aborted')).toHaveLength(1);
      expect(h.kafka.acknowledged).toEqual([]);
      expect(h.kafka.commits).toEqual([]);
      expect(await consumer.deliver(0)).toBe('done');
      expect(h.kafka.acknowledged.map(sourceOf)).toEqual(['0:0', '0:1', '0:2']);
      expect(h.kafka.commits).toEqual([{ partition: 0, offset: 3n, via: 'transaction' }]);
      await h.processor.stop();
    });
  }

  it('commits with one transactional producer per input partition', async () => {
    const h = harness({ transactional: true });
    const consumer = await started(h, [0, 1]);
    h.kafka.append(0, values(1));
    h.kafka.append(1, values(1));
    await consumer.drain();
    expect(h.kafka.acknowledged.map((a) => [sourceOf(a), a.transactionalId]).sort()).toEqual([
      ['0:0', `test-${INPUT}-0`],
      ['1:0', `test-${INPUT}-1`],
    ]);
    await h.processor.stop();
  });
});

/**
 * Random runs: records (some poison, some undecodable) arrive on three partitions, batches are
 * delivered in any order, concurrently across partitions, while sends, commits and the handler
 * fail at random and the group rejoins. Whatever happens:
 * - no commit passes an input record whose output (or dead letter) is not acknowledged;
 * - in the end every record is committed, poison and undecodable ones dead-lettered, and (in
 *   transactional mode) every output acknowledged exactly once.
 */
describe('StreamProcessor group membership', () => {
  it('is not ready after a consumer crash, and ready again at the next batch when the client recovered in place without a rebalance', async () => {
    const h = harness();
    const consumer = await started(h, [0]);
    expect(h.processor.ready).toBe(true);
    consumer.crash(new Error('Failed to commit offsets to transaction: Specified group generation id is not valid'), true);
    expect(h.processor.ready).toMatch(/not a member/);
    h.kafka.append(0, values(2));
    expect(await consumer.deliver(0)).toBe('done');
    expect(h.processor.ready).toBe(true);
    await h.processor.stop();
  });

  it('heartbeats while a batch takes longer than the heartbeat interval, and stops when the batch is done', async () => {
    // kafkajs heartbeats only between batches: a batch longer than the session would get the member evicted.
    const h = harness({ heartbeatInterval: 40, handler: { processBatch: async () => void (await new Promise((r) => setTimeout(r, 300))) } });
    const consumer = await started(h, [0]);
    h.kafka.append(0, values(2));
    expect(await consumer.deliver(0)).toBe('done');
    const during = consumer.heartbeats;
    expect(during).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 200));
    expect(consumer.heartbeats).toBe(during);
    await h.processor.stop();
  });
});

describe('StreamProcessor commits under random interleavings', () => {
  type Step =
    | { op: 'append'; partition: number; kinds: ('ok' | 'poison' | 'undecodable')[] }
    | { op: 'deliver'; partition: number; max: number }
    | { op: 'fail'; what: 'send' | 'commit' | 'handler' }
    | { op: 'rejoin' }
    | { op: 'settle' };
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ op: fc.constant('append' as const), partition: fc.integer({ min: 0, max: 2 }), kinds: fc.array(fc.constantFrom('ok' as const, 'ok' as const, 'ok' as const, 'poison' as const, 'undecodable' as const), { minLength: 1, maxLength: 6 }) }) },
    { weight: 5, arbitrary: fc.record({ op: fc.constant('deliver' as const), partition: fc.integer({ min: 0, max: 2 }), max: fc.integer({ min: 1, max: 8 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('fail' as const), what: fc.constantFrom('send' as const, 'commit' as const, 'handler' as const) }) },
    { weight: 1, arbitrary: fc.constant({ op: 'rejoin' as const }) },
    { weight: 2, arbitrary: fc.constant({ op: 'settle' as const }) },
  );

  for (const transactional of [false, true]) {
    it(`keeps the commit rules (${transactional ? 'transactional' : 'idempotent'})`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
          const h = harness({ transactional });
          const kinds = new Map<string, 'ok' | 'poison' | 'undecodable'>();
          const violations: string[] = [];
          h.kafka.onCommit = (commit: Commit) => {
            // At the moment of a commit (for a transaction: when its outputs became visible, just
            // before), every record below the committed offset has its output or dead letter out.
            const out = new Set(h.kafka.acknowledged.map(sourceOf));
            for (let o = 0n; o < commit.offset; o++) if (!out.has(`${commit.partition}:${o}`)) violations.push(`commit ${commit.partition}@${commit.offset} passes ${o}, not acknowledged`);
          };
          const consumer = await started(h, [0, 1, 2]);
          const inFlight: Promise<unknown>[] = [];
          for (const s of steps) {
            if (s.op === 'append') {
              const offsets = h.kafka.append(s.partition, s.kinds.map((k, i) => ({ value: k === 'undecodable' ? UNDECODABLE : encoded(k === 'poison' ? 'poison' : `e${i}`) })));
              offsets.forEach((o, i) => kinds.set(`${s.partition}:${o}`, s.kinds[i]!));
            } else if (s.op === 'deliver') inFlight.push(consumer.deliver(s.partition, s.max));
            else if (s.op === 'fail') {
              if (s.what === 'handler') h.outage.calls++;
              else h.kafka.failNext(s.what === 'send' ? 'send' : transactional ? 'transactionCommit' : 'commitOffsets');
            } else {
              // kafkajs rejoins only between fetches: in-flight batches settle first.
              await Promise.all(inFlight.splice(0));
              if (s.op === 'rejoin') await consumer.rejoin();
            }
          }
          await Promise.all(inFlight.splice(0));
          await consumer.drain(200);
          expect(violations).toEqual([]);
          for (const p of [0, 1, 2]) expect(h.kafka.committed(p) ?? 0n).toBe(BigInt(h.kafka.log.get(p)?.length ?? 0));
          const letters = new Map(h.kafka.acknowledged.filter((a) => a.topic === DLQ).map((a) => [sourceOf(a), readDeadLetter(a.message.headers).reason]));
          const outputs = h.kafka.acknowledged.filter((a) => a.topic === OUTPUT).map(sourceOf);
          for (const [source, kind] of kinds) {
            if (kind === 'ok') expect(outputs).toContain(source);
            else expect(letters.get(source)).toBe(kind === 'poison' ? PROCESSING_FAILED : 'MAGIC_BYTE');
          }
          if (transactional) expect(outputs.length).toBe(new Set(outputs).size);
          expect(outputs.every((o) => kinds.get(o) === 'ok')).toBe(true);
          await h.processor.stop();
        }),
        { numRuns: 60 },
      );
    });
  }
});
