/**
 * The generic compacted-topic reader on the real broker: committed records only, a topic that
 * ends in a transaction marker still counts as read, a retriable decoder error retries the batch
 * without applying anything twice, catchUp and waitFor; and its per-partition restore mode
 * (PartitionedStateTable), as a service takes an input partition over.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@opentrail/observability';
import { CompactedTopicReader, ensureTopics, locateOwnState, PartitionedStateTable, type CompactedTopicDecoder, type StateOwner, type StateSerde } from '@opentrail/runtime';
import { testKafka, uniquePrefix } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';

const kafka = testKafka('compacted-topic-test');
const logger = createLogger('compacted-topic-test', 'warn');
const text: CompactedTopicDecoder<string> = {
  decode(value) {
    const s = value.toString('utf8');
    if (s.startsWith('bad')) throw new Error('unreadable');
    return s;
  },
};

const readers: CompactedTopicReader<string>[] = [];
afterEach(async () => {
  await Promise.all(readers.splice(0).map((r) => r.stop()));
});

function reader(topic: string, decoder: CompactedTopicDecoder<string> = text) {
  const applied: [string, string | null][] = [];
  const table = new Map<string, string>();
  const r = new CompactedTopicReader<string>({
    kafka,
    topic,
    groupIdPrefix: 'compacted-topic-test',
    what: 'the test table',
    decoder,
    logger,
    apply: (key, value) => {
      applied.push([key, value]);
      if (value === null) table.delete(key);
      else table.set(key, value);
    },
  });
  readers.push(r);
  return { reader: r, applied, table };
}

describe('CompactedTopicReader', () => {
  it('reads committed records of every partition to the end, even when the topic ends in a transaction marker', async () => {
    const topic = `${uniquePrefix('compacted')}table`;
    await ensureTopics(kafka, [{ topic, partitions: 3, compacted: true }], { partitions: 3, replicationFactor: 1 });
    const producer = kafka.producer({ transactionalId: `${topic}-writer`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const committed = await producer.transaction();
      await committed.send({ topic, messages: ['a', 'b', 'c', 'd', 'e', 'f'].map((key, i) => ({ key, value: `v${i}`, partition: i % 3 })) });
      await committed.send({ topic, messages: [{ key: 'a', value: null, partition: 0 }, { key: 'x', value: 'bad record', partition: 1 }] });
      await committed.commit();
      const aborted = await producer.transaction();
      await aborted.send({ topic, messages: [{ key: 'b', value: 'never', partition: 1 }, { key: 'z', value: 'never', partition: 2 }] });
      await aborted.abort();
    } finally {
      await producer.disconnect();
    }

    const { reader: r, table, applied } = reader(topic);
    expect(r.ready).toMatch(/reading the test table/);
    await r.start();
    await r.caughtUp;
    expect(r.ready).toBe(true);
    expect(r.healthy).toBe(true);
    expect(Object.fromEntries(table)).toEqual({ b: 'v1', c: 'v2', d: 'v3', e: 'v4', f: 'v5' });
    // Per partition in offset order: a's value, then its tombstone.
    expect(applied.filter(([key]) => key === 'a')).toEqual([
      ['a', 'v0'],
      ['a', null],
    ]);
    expect(applied.some(([, value]) => value === 'never')).toBe(false);
  });

  it('retries a batch whose decoder says a retry can help, applying each record once; follows live writes; catchUp and waitFor', async () => {
    const topic = `${uniquePrefix('compacted')}table`;
    await ensureTopics(kafka, [{ topic, partitions: 1, compacted: true }], { partitions: 1, replicationFactor: 1 });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      await producer.send({ topic, messages: [{ key: 'k1', value: 'one' }, { key: 'k2', value: 'flaky' }, { key: 'k3', value: 'three' }] });
      let failures = 2;
      const flaky: CompactedTopicDecoder<string> = {
        decode(value, key) {
          if (value.toString() === 'flaky' && failures-- > 0) throw Object.assign(new Error('registry unavailable'), { canRetry: true });
          return text.decode(value, key);
        },
      };
      const { reader: r, applied, table } = reader(topic, flaky);
      await r.start();
      await r.caughtUp;
      expect(failures).toBeLessThan(0);
      expect(applied).toEqual([
        ['k1', 'one'],
        ['k2', 'flaky'],
        ['k3', 'three'],
      ]);

      // Read-your-writes: waitFor the offset the broker acknowledged.
      const [written] = await producer.send({ topic, acks: -1, messages: [{ key: 'k1', value: 'uno' }] });
      await r.waitFor({ partition: written!.partition, offset: written!.baseOffset! });
      expect(table.get('k1')).toBe('uno');

      // catchUp: everything written before the call, by anyone.
      await producer.send({ topic, messages: [{ key: 'k4', value: 'four' }] });
      await r.catchUp();
      expect(table.get('k4')).toBe('four');
      expect(r.position(0)).toBe(5n);

      // A wait for a record that never comes ends when the reader stops.
      const never = expect(r.waitFor({ partition: 0, offset: 1000n })).rejects.toThrow(/stopped/);
      await r.stop();
      await never;
    } finally {
      await producer.disconnect();
    }
  });

  it('counts as caught up at once on an empty topic, then follows it', async () => {
    const topic = `${uniquePrefix('compacted')}table`;
    await ensureTopics(kafka, [{ topic, partitions: 2, compacted: true }], { partitions: 2, replicationFactor: 1 });
    const { reader: r, table } = reader(topic);
    await r.start();
    await r.caughtUp;
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic, messages: [{ key: 'late', value: 'arrival' }] });
    } finally {
      await producer.disconnect();
    }
    await waitFor(() => table.get('late'), 'the live record', 30_000);
  });
});

describe('PartitionedStateTable', () => {
  interface Mark extends StateOwner {
    name: string;
    offset: number;
  }
  const marks: StateSerde<Mark> = {
    decode: (value) => JSON.parse(value.toString('utf8')) as Mark,
    encode: (value) => Buffer.from(JSON.stringify(value)),
  };

  it("restores a source partition with what its previous owner committed, up to the moment of the call, and none of what it aborted", async () => {
    const topic = `${uniquePrefix('state')}state`;
    await ensureTopics(kafka, [{ topic, partitions: 2, compacted: true }], { partitions: 2, replicationFactor: 1 });
    const table = new PartitionedStateTable<Mark>({
      kafka,
      topic,
      consumerGroup: 'state-test',
      what: 'the test state',
      serde: marks,
      logger,
      locate: locateOwnState('state-test', 'input', (m) => m.name),
      replaces: (next, current) => next.offset > current.offset,
    });
    const mark = (sourcePartition: number, name: string, offset: number, consumerGroup = 'state-test') => table.stateMessage(sourcePartition, `${consumerGroup}|${sourcePartition}|${name}`, { consumerGroup, sourceTopic: 'input', sourcePartition, name, offset });
    await table.start();
    try {
      await table.caughtUp;
      // The previous owner of input partition 3 (state partition 1): one commit, one abort, one more commit.
      const owner = kafka.producer({ transactionalId: `${topic}-p3`, idempotent: true, maxInFlightRequests: 1 });
      await owner.connect();
      try {
        const send = async (commit: boolean, ...messages: ReturnType<typeof mark>[]) => {
          const tx = await owner.transaction();
          await tx.send({ topic, messages: messages.map(({ topic: _t, ...m }) => m) });
          await (commit ? tx.commit() : tx.abort());
        };
        await send(true, mark(3, 'a', 10), mark(3, 'b', 4), mark(3, 'x', 1, 'another-deployment'));
        await send(false, mark(3, 'a', 99), mark(3, 'c', 99));
        await send(true, mark(3, 'b', 8), mark(3, 'a', 7));
      } finally {
        await owner.disconnect();
      }
      expect(table.statePartition(3)).toBe(1);
      const restored = await table.restore(3);
      expect(restored.map((m) => [m.name, m.offset]).sort()).toEqual([
        ['a', 10],
        ['b', 8],
      ]);
      expect(table.values(1)).toEqual([]);
      expect(table.healthy).toBe(true);
    } finally {
      await table.stop();
    }
  });
});
