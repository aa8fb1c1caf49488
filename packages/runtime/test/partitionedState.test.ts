import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ServiceMetrics } from '@opentrail/observability';
import { PartitionedStateTable, type StateSerde } from '../src/partitionedState.js';
import { fakeKafka, message } from './fakeTableKafka.js';
import { capture } from './logCapture.js';

/** A state value: whose it is (group), which source partition, and a counter that only grows. */
interface Counter {
  group: string;
  partition: number;
  n: number;
}

const serde: StateSerde<Counter> = {
  decode(value) {
    const parsed = JSON.parse(value.toString('utf8')) as Partial<Counter>;
    if (typeof parsed.group !== 'string' || typeof parsed.partition !== 'number' || typeof parsed.n !== 'number') throw new Error('not a counter');
    return { group: parsed.group, partition: parsed.partition, n: parsed.n };
  },
  encode: (value) => Buffer.from(JSON.stringify(value)),
};

const counter = (offset: number, key: string, value: Counter | null | string) => message(offset, key, value === null ? null : typeof value === 'string' ? value : JSON.stringify(value));

/** Keys are `<partition>|<name>`; a tombstone says only through its key whose it was. */
function counters(kafka: ReturnType<typeof fakeKafka>['kafka'], metrics?: ServiceMetrics) {
  const { logger, lines } = capture();
  const table = new PartitionedStateTable<Counter>({
    kafka,
    topic: 'state',
    consumerGroup: 'mine',
    what: 'the counters',
    serde,
    logger,
    ...(metrics ? { metrics } : {}),
    locate: (key, value) => {
      const [partition, name] = key.split('|');
      if (value !== null && value.group !== 'mine') return undefined;
      return name === undefined ? undefined : { sourcePartition: Number(partition), key: name };
    },
    replaces: (next, current) => next.n >= current.n,
  });
  return { table, lines };
}

describe('PartitionedStateTable (kafkajs faked)', () => {
  it('restores a source partition once its state partition is read to the end it had at the call', async () => {
    // Three state partitions, the last one empty: source partitions 0 and 3 share state partition 0.
    const offsets = [
      { partition: 0, high: '0', low: '0' },
      { partition: 1, high: '0', low: '0' },
      { partition: 2, high: '0', low: '0' },
    ];
    const fake = fakeKafka(offsets);
    const metrics = new ServiceMetrics('statetest');
    const { table, lines } = counters(fake.kafka, metrics);
    await table.start();
    expect(table.statePartition(3)).toBe(0);
    expect(table.statePartition(4)).toBe(1);

    // Written since: the reader must read up to offset 5 of state partition 0 before restore resolves.
    offsets[0]!.high = '6';
    let restored: Counter[] | undefined;
    const restoring = table.restore(3).then((values) => (restored = values));
    await fake.deliver(0, [
      counter(0, '3|a', { group: 'mine', partition: 3, n: 1 }),
      counter(1, '3|b', { group: 'mine', partition: 3, n: 1 }),
      counter(2, '0|a', { group: 'mine', partition: 0, n: 7 }),
      counter(3, '3|c', { group: 'theirs', partition: 3, n: 9 }),
    ]);
    await Promise.resolve();
    expect(restored).toBeUndefined();
    await fake.deliver(0, [counter(4, '3|b', null), counter(5, '3|a', 'not json either')]);
    await restoring;
    expect(restored).toEqual([{ group: 'mine', partition: 3, n: 1 }]);
    expect(table.value(0, 'a')).toEqual({ group: 'mine', partition: 0, n: 7 });
    expect(table.value(3, 'c')).toBeUndefined();
    expect(lines.some((l) => l.level === 'warn' && /the counters: record skipped/.test(String(l.msg)) && l.offset === '5')).toBe(true);
    const counted = (await metrics.registry.getSingleMetric('opentrail_statetest_table_records_total')!.get()).values.map((v) => [v.labels.kind, v.value]);
    expect(counted).toEqual(expect.arrayContaining([['skipped', 1], ['tombstone', 1]]));

    // Restoring a partition whose state partition is empty waits for nothing.
    await expect(table.restore(2)).resolves.toEqual([]);
  });

  it('keeps the newest state of a key against a replay of an older one', async () => {
    const fake = fakeKafka([{ partition: 0, high: '3', low: '0' }]);
    const { table } = counters(fake.kafka);
    await table.start();
    await fake.deliver(0, [counter(0, '0|a', { group: 'mine', partition: 0, n: 5 }), counter(1, '0|a', { group: 'mine', partition: 0, n: 2 }), counter(2, '0|b', { group: 'mine', partition: 0, n: 1 })]);
    expect(await table.restore(0)).toEqual([
      { group: 'mine', partition: 0, n: 5 },
      { group: 'mine', partition: 0, n: 1 },
    ]);
  });

  it('writes a state record to the state partition of its source partition, a tombstone as null', async () => {
    const fake = fakeKafka([
      { partition: 0, high: '0', low: '0' },
      { partition: 1, high: '0', low: '0' },
    ]);
    const { table } = counters(fake.kafka);
    expect(() => table.statePartition(1)).toThrow(/not known before start/);
    await table.start();
    const value = { group: 'mine', partition: 5, n: 3 };
    expect(table.stateMessage(5, '5|a', value)).toEqual({ topic: 'state', partition: 1, key: '5|a', value: serde.encode(value) });
    expect(table.stateMessage(4, '4|a', null)).toEqual({ topic: 'state', partition: 0, key: '4|a', value: null });
  });

  it('a reader that stopped for good: unhealthy, and a restore rejects', async () => {
    const offsets = [{ partition: 0, high: '0', low: '0' }];
    const fake = fakeKafka(offsets);
    const { table } = counters(fake.kafka);
    await table.start();
    offsets[0]!.high = '2';
    const restoring = expect(table.restore(0)).rejects.toThrow(/broker gone/);
    fake.crash(new Error('broker gone'), false);
    await restoring;
    expect(table.healthy).toBe('the counters reader stopped: broker gone');
    await table.stop();
    expect(fake.disconnected).toBe(true);
  });

  it('restores the same state however the records are fetched, and after a restarted consumer reads them again (property)', async () => {
    const record = fc.record({ partition: fc.nat({ max: 3 }), name: fc.constantFrom('a', 'b', 'c'), n: fc.option(fc.nat({ max: 9 }), { freq: 4 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 30 }), fc.array(fc.nat({ max: 30 }), { maxLength: 4 }), fc.nat({ max: 30 }), async (records, cuts, replayFrom) => {
        const messages = records.map((r, i) => counter(i, `${r.partition}|${r.name}`, r.n === null ? null : { group: 'mine', partition: r.partition, n: r.n }));
        const end = [{ partition: 0, high: String(messages.length), low: '0' }];

        // At once.
        const once = fakeKafka(end);
        const reference = counters(once.kafka).table;
        await reference.start();
        await once.deliver(0, messages);

        // In batches cut anywhere, then a restart that reads again from the start up to some point.
        const split = fakeKafka(end);
        const { table } = counters(split.kafka);
        await table.start();
        const bounds = [...new Set([0, ...cuts.filter((c) => c < messages.length), messages.length])].sort((a, b) => a - b);
        for (let i = 1; i < bounds.length; i++) await split.deliver(0, messages.slice(bounds[i - 1], bounds[i]));
        split.crash(new Error('coordinator moved'), true);
        await split.deliver(0, messages.slice(0, Math.max(1, Math.min(replayFrom, messages.length))));

        for (const partition of [0, 1, 2, 3]) expect(await table.restore(partition)).toEqual(await reference.restore(partition));
        await Promise.all([reference.stop(), table.stop()]);
      }),
    );
  });
});
