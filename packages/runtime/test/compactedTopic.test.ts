import fc from 'fast-check';
import type { KafkaClient } from '../src/kafkaClient.js';
import { describe, expect, it } from 'vitest';
import { ServiceMetrics } from '@opentrail/observability';
import { CompactedTopicReader, decodeBatch, ReadPositions, type CompactedTopicDecoder } from '../src/compactedTopic.js';
import { fakeKafka, message } from './fakeTableKafka.js';
import { capture } from './logCapture.js';


/** Values are numbers written as text; anything else is refused (not retriable). */
const numbers: CompactedTopicDecoder<number> = {
  decode(value) {
    const text = value.toString('utf8');
    if (!/^\d+$/.test(text)) throw new Error(`not a number: ${text}`);
    return Number(text);
  },
};

describe('decodeBatch', () => {
  it('decodes values, turns empty and missing values into tombstones, and skips records without a key or with a refused value', () => {
    const { records, skipped } = decodeBatch(
      2,
      [message(10, 'a', '1'), message(11, 'b', null), message(12, 'c', ''), message(13, null, '4'), message(14, '', '5'), message(15, 'd', 'x'), message(16, 'a', '7')],
      numbers,
    );
    expect(records).toEqual([
      { key: 'a', value: 1, partition: 2, offset: '10' },
      { key: 'b', value: null, partition: 2, offset: '11' },
      { key: 'c', value: null, partition: 2, offset: '12' },
      { key: 'a', value: 7, partition: 2, offset: '16' },
    ]);
    expect(skipped).toEqual([
      { partition: 2, offset: '13', key: undefined, reason: 'the record has no key' },
      { partition: 2, offset: '14', key: undefined, reason: 'the record has no key' },
      { partition: 2, offset: '15', key: 'd', reason: 'not a number: x' },
    ]);
  });

  it('leaves out records before `from` (already applied before a restart)', () => {
    const { records, skipped } = decodeBatch(0, [message(0, 'a', '1'), message(1, null, '2'), message(2, 'b', '3')], numbers, 2n);
    expect(records.map((r) => r.offset)).toEqual(['2']);
    expect(skipped).toEqual([]);
  });

  it('throws a retriable decoder error instead of skipping, so nothing of the batch is applied', () => {
    const flaky: CompactedTopicDecoder<number> = {
      decode: () => {
        throw Object.assign(new Error('registry unavailable'), { canRetry: true });
      },
    };
    expect(() => decodeBatch(0, [message(0, 'a', '1')], flaky)).toThrow('registry unavailable');
    const notRetriable: CompactedTopicDecoder<number> = {
      decode: () => {
        throw Object.assign(new Error('corrupt'), { canRetry: false });
      },
    };
    expect(decodeBatch(0, [message(0, 'a', '1')], notRetriable).skipped).toHaveLength(1);
  });

  it('shortens the logged key of a skipped record', () => {
    const { skipped } = decodeBatch(0, [message(0, 'k'.repeat(10_000), 'x')], numbers);
    expect(skipped[0]?.key).toHaveLength(200);
  });

  it('accounts for every record at or after `from` exactly once, in offset order', () => {
    const entry = fc.record({ key: fc.option(fc.string({ maxLength: 4 })), value: fc.option(fc.oneof(fc.nat({ max: 99 }).map(String), fc.string({ maxLength: 3 }))) });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 40 }), fc.nat({ max: 45 }), (entries, from) => {
        const messages = entries.map((e, i) => message(i, e.key, e.value));
        const { records, skipped } = decodeBatch(1, messages, numbers, BigInt(from));
        const offsets = [...records.map((r) => Number(r.offset)), ...skipped.map((s) => Number(s.offset))].sort((a, b) => a - b);
        expect(offsets).toEqual(messages.map((_, i) => i).filter((i) => i >= from));
        const applied = records.map((r) => Number(r.offset));
        expect(applied).toEqual([...applied].sort((a, b) => a - b));
        for (const r of records) {
          const e = entries[Number(r.offset)]!;
          expect(r.key).toBe(e.key);
          expect(r.value).toBe(e.value === null || e.value === '' ? null : Number(e.value));
        }
      }),
    );
  });
});

describe('ReadPositions', () => {
  it('moves only forward and wakes exactly the waiters whose record has been read', async () => {
    const positions = new ReadPositions();
    const woken: string[] = [];
    const wait = (partition: number, offset: bigint) => positions.wait(partition, offset).then(() => void woken.push(`${partition}:${offset}`));
    const all = [wait(0, 0n), wait(0, 5n), wait(1, 0n)];
    positions.advance(0, 3n);
    await Promise.resolve();
    await Promise.resolve();
    expect(woken).toEqual(['0:0']);
    positions.advance(0, 2n);
    expect(positions.position(0)).toBe(3n);
    positions.advance(1, 1n);
    positions.advance(0, 6n);
    await Promise.all(all);
    expect(woken.sort()).toEqual(['0:0', '0:5', '1:0']);
    expect(positions.reached(0, 5n)).toBe(true);
    expect(positions.reached(0, 6n)).toBe(false);
  });

  it('counts what is left to read against targets', () => {
    const positions = new ReadPositions();
    const targets = new Map([
      [0, 10n],
      [1, 4n],
    ]);
    expect(positions.behind(targets)).toBe(14n);
    positions.advance(0, 7n);
    positions.advance(1, 9n);
    expect(positions.behind(targets)).toBe(3n);
  });

  it('rejects pending and later waits once failed, and a wait whose signal aborts', async () => {
    const positions = new ReadPositions();
    const pending = positions.wait(0, 1n);
    positions.fail(new Error('crashed'));
    await expect(pending).rejects.toThrow('crashed');
    await expect(positions.wait(0, 1n)).rejects.toThrow('crashed');
    positions.advance(0, 5n);
    await expect(positions.wait(0, 1n)).resolves.toBeUndefined();

    const other = new ReadPositions();
    const controller = new AbortController();
    const aborted = other.wait(0, 0n, controller.signal);
    controller.abort(new Error('timed out'));
    await expect(aborted).rejects.toThrow('timed out');
    // The aborted waiter is gone: a later advance wakes nothing and throws nothing.
    other.advance(0, 1n);
    expect(other.reached(0, 0n)).toBe(true);
  });

  it('resolves a wait iff some advance passed its offset (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat({ max: 2 }), fc.nat({ max: 20 })), { maxLength: 20 }), fc.nat({ max: 2 }), fc.nat({ max: 20 }), async (advances, partition, offset) => {
        const positions = new ReadPositions();
        let resolved = false;
        void positions.wait(partition, BigInt(offset)).then(
          () => (resolved = true),
          () => undefined,
        );
        for (const [p, next] of advances) positions.advance(p, BigInt(next));
        await new Promise((r) => setImmediate(r));
        const expected = advances.some(([p, next]) => p === partition && next > offset);
        expect(resolved).toBe(expected);
        expect(positions.position(partition)).toBe(BigInt(Math.max(0, ...advances.filter(([p]) => p === partition).map(([, n]) => n))));
        positions.fail(new Error('done'));
      }),
    );
  });
});

function tableReader(kafka: KafkaClient, options: { apply?: (key: string, value: number | null) => void; metrics?: ServiceMetrics; decoder?: CompactedTopicDecoder<number> } = {}) {
  const table = new Map<string, number>();
  const { logger, lines } = capture();
  const skips: string[] = [];
  const reader = new CompactedTopicReader<number>({
    kafka,
    topic: 'numbers',
    groupIdPrefix: 'test',
    what: 'the numbers topic',
    decoder: options.decoder ?? numbers,
    logger,
    metrics: options.metrics,
    onSkip: (s) => skips.push(s.offset),
    apply:
      options.apply ??
      ((key, value) => {
        if (value === null) table.delete(key);
        else table.set(key, value);
      }),
  });
  return { reader, table, lines, skips };
}

describe('CompactedTopicReader (kafkajs faked)', () => {
  it('is caught up once every partition reached its end at start, counting a batch of markers only', async () => {
    const fake = fakeKafka([
      { partition: 0, high: '3', low: '0' },
      { partition: 1, high: '2', low: '0' },
      { partition: 2, high: '5', low: '5' },
    ]);
    const metrics = new ServiceMetrics('compactedtest');
    const { reader, table, skips } = tableReader(fake.kafka, { metrics });
    await reader.start();
    expect(reader.ready).toBe('reading the numbers topic: 5 records to go');
    await fake.deliver(0, [message(0, 'a', '1'), message(1, 'b', '2'), message(2, 'a', null)]);
    expect(reader.ready).toBe('reading the numbers topic: 2 records to go');
    await fake.deliver(1, [message(0, 'c', 'oops')]);
    let caughtUp = false;
    void reader.caughtUp.then(() => (caughtUp = true));
    await Promise.resolve();
    expect(caughtUp).toBe(false);
    // Offset 1 of partition 1 is a commit marker: no records, only END_BATCH_PROCESS.
    await fake.deliver(1, [], 1);
    await reader.caughtUp;
    expect(reader.ready).toBe(true);
    expect(Object.fromEntries(table)).toEqual({ b: 2 });
    expect(skips).toEqual(['0']);
    const counted = (await metrics.registry.getSingleMetric('opentrail_compactedtest_table_records_total')!.get()).values.map((v) => [v.labels.kind, v.value]);
    expect(counted).toEqual(
      expect.arrayContaining([
        ['value', 2],
        ['tombstone', 1],
        ['skipped', 1],
      ]),
    );
  });

  it('does not apply again what a restarted consumer reads a second time', async () => {
    const fake = fakeKafka([{ partition: 0, high: '2', low: '0' }]);
    const applied: [string, number | null][] = [];
    const { reader } = tableReader(fake.kafka, { apply: (key, value) => void applied.push([key, value]) });
    await reader.start();
    await fake.deliver(0, [message(0, 'a', '1'), message(1, 'b', '2')]);
    fake.crash(new Error('coordinator moved'), true);
    expect(reader.healthy).toBe(true);
    // kafkajs restarted the consumer; nothing was committed, so it reads from the beginning.
    await fake.deliver(0, [message(0, 'a', '1'), message(1, 'b', '2'), message(2, 'a', '3')]);
    expect(applied).toEqual([
      ['a', 1],
      ['b', 2],
      ['a', 3],
    ]);
  });

  it('logs an apply that throws and goes on with the next record', async () => {
    const fake = fakeKafka([{ partition: 0, high: '2', low: '0' }]);
    const applied: string[] = [];
    const { reader, lines } = tableReader(fake.kafka, {
      apply: (key) => {
        if (key === 'boom') throw new Error('listener bug');
        applied.push(key);
      },
    });
    await reader.start();
    await fake.deliver(0, [message(0, 'boom', '1'), message(1, 'fine', '2')]);
    await reader.caughtUp;
    expect(applied).toEqual(['fine']);
    expect(lines.some((l) => l.level === 'error' && /applying a record of the numbers topic failed/.test(String(l.msg)))).toBe(true);
  });

  it('applies nothing of a batch whose decoding must be retried', async () => {
    const fake = fakeKafka([{ partition: 0, high: '2', low: '0' }]);
    const flaky: CompactedTopicDecoder<number> = {
      decode: (value) => {
        if (value.toString() === '2') throw Object.assign(new Error('registry unavailable'), { canRetry: true });
        return Number(value.toString());
      },
    };
    const { reader, table } = tableReader(fake.kafka, { decoder: flaky });
    await reader.start();
    await expect(fake.deliver(0, [message(0, 'a', '1'), message(1, 'b', '2')])).rejects.toThrow('registry unavailable');
    expect(table.size).toBe(0);
    expect(reader.position(0)).toBe(0n);
  });

  it('a crash kafkajs does not restart from: unhealthy, not ready, every wait rejects', async () => {
    const fake = fakeKafka([{ partition: 0, high: '4', low: '0' }]);
    const { reader } = tableReader(fake.kafka);
    await reader.start();
    const caughtUp = expect(reader.caughtUp).rejects.toThrow(/broker gone/);
    const waiting = expect(reader.waitFor({ partition: 0, offset: '2' })).rejects.toThrow(/broker gone/);
    fake.crash(new Error('broker gone'), false);
    await caughtUp;
    await waiting;
    expect(reader.healthy).toBe('the numbers topic reader stopped: broker gone');
    expect(reader.ready).toBe('the numbers topic reader stopped: broker gone');
    await reader.stop();
    expect(fake.disconnected).toBe(true);
  });

  it('resolves waitFor once the offset is applied, and rejects it on stop', async () => {
    const fake = fakeKafka([]);
    const { reader, table } = tableReader(fake.kafka);
    await reader.start();
    await reader.caughtUp;
    const seen = reader.waitFor({ partition: 0, offset: '1' }).then(() => table.get('b'));
    await fake.deliver(0, [message(0, 'a', '1'), message(1, 'b', '2')]);
    expect(await seen).toBe(2);
    const never = expect(reader.waitFor({ partition: 0, offset: 9n })).rejects.toThrow(/stopped/);
    await reader.stop();
    await never;
  });
});

describe('CompactedTopicReader.catchUp (kafkajs faked)', () => {
  it('waits for what the topic holds now, of every partition or of the ones named', async () => {
    const fake = fakeKafka([
      { partition: 0, high: '2', low: '0' },
      { partition: 1, high: '1', low: '0' },
    ]);
    const { reader } = tableReader(fake.kafka);
    await reader.start();
    let all = false;
    let first = false;
    const everything = reader.catchUp().then(() => (all = true));
    const partitionZero = reader.catchUp(undefined, [0]).then(() => (first = true));
    await fake.deliver(0, [message(0, 'a', '1'), message(1, 'b', '2')]);
    await partitionZero;
    expect(first).toBe(true);
    expect(all).toBe(false);
    await fake.deliver(1, [message(0, 'c', '3')]);
    await everything;
    expect(all).toBe(true);
  });
});
