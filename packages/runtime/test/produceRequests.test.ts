import { Partitioners, type Admin, type Message, type PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { messageBytes, OutputPartitioner, splitRequests } from '../src/produceRequests.js';

const KiB = 1024;
const message = (partition: number | undefined, i: number, bytes = 10 * KiB): Message => ({ key: `k${i}`, value: Buffer.alloc(bytes, i % 256), partition });

function perPartitionBytes(request: { topic: string; messages: Message[] }[]): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const { topic, messages } of request) {
    for (const m of messages) sizes.set(`${topic}/${m.partition ?? '*'}`, (sizes.get(`${topic}/${m.partition ?? '*'}`) ?? 0) + messageBytes(m));
  }
  return sizes;
}

describe('splitRequests', () => {
  it('sends a batch spread over partitions as one request, however large in all', () => {
    // 6 partitions x 50 messages x 10 KiB: 3 MiB, about 500 KiB per partition.
    const messages = Array.from({ length: 300 }, (_, i) => message(i % 6, i));
    const requests = splitRequests([{ topic: 't', messages }]);
    expect(requests).toHaveLength(1);
    expect(requests[0]![0]!.messages).toHaveLength(300);
  });

  it('keeps every partition under its budget per request, every message once, in order per partition', () => {
    // Partition 0 gets 2 MiB, the others little.
    const messages = Array.from({ length: 260 }, (_, i) => message(i < 200 ? 0 : 1 + (i % 3), i));
    const requests = splitRequests([{ topic: 't', messages }], 768 * KiB);
    expect(requests.length).toBeGreaterThanOrEqual(3);
    for (const request of requests) for (const bytes of perPartitionBytes(request).values()) expect(bytes).toBeLessThanOrEqual(768 * KiB);
    const sent = requests.flatMap((r) => r.flatMap((t) => t.messages));
    expect(sent.map((m) => m.key)).toEqual(messages.map((m) => m.key));
  });

  it('gives messages of unknown partition one shared budget (they may all land on one partition)', () => {
    const messages = Array.from({ length: 200 }, (_, i) => message(undefined, i));
    const requests = splitRequests([{ topic: 't', messages }], 768 * KiB);
    expect(requests.length).toBe(3);
    for (const request of requests) expect(perPartitionBytes(request).get('t/*')).toBeLessThanOrEqual(768 * KiB);
  });

  it('sends a message larger than the budget alone', () => {
    const requests = splitRequests([{ topic: 't', messages: [message(0, 1), message(0, 2, 900 * KiB), message(0, 3)] }], 768 * KiB);
    expect(requests.map((r) => r[0]!.messages.map((m) => m.key))).toEqual([['k1'], ['k2'], ['k3']]);
  });

  it('caps the request as a whole', () => {
    const messages = Array.from({ length: 100 }, (_, i) => message(i, i, 100 * KiB));
    const requests = splitRequests([{ topic: 't', messages }], 768 * KiB, 1024 * KiB);
    expect(requests.length).toBe(10);
  });
});

describe('OutputPartitioner', () => {
  const metadata = (n: number): PartitionMetadata[] => Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: 0, replicas: [0], isr: [0], offlineReplicas: [], partitionErrorCode: 0 }));
  const admin = (partitions: number | Error) => {
    let calls = 0;
    const client = {
      fetchTopicMetadata: async ({ topics }: { topics: string[] }) => {
        calls++;
        if (partitions instanceof Error) throw partitions;
        return { topics: topics.map((name) => ({ name, partitions: metadata(partitions) })) };
      },
    } as unknown as Admin;
    return { client, calls: () => calls };
  };

  it('puts keyed messages where kafkajs would, asking for the partition count once', async () => {
    const fake = admin(6);
    const partitioner = new OutputPartitioner(async () => fake.client);
    const messages = Array.from({ length: 50 }, (_, i) => ({ key: `123456789012/us-east-${i}`, value: 'v' }));
    const reference = Partitioners.DefaultPartitioner();
    const [assigned] = await partitioner.assign([{ topic: 'out', messages }]);
    await partitioner.assign([{ topic: 'out', messages }]);
    expect(assigned!.messages.map((m) => m.partition)).toEqual(messages.map((message) => reference({ topic: 'out', partitionMetadata: metadata(6), message })));
    expect(new Set(assigned!.messages.map((m) => m.partition)).size).toBeGreaterThan(1);
    expect(fake.calls()).toBe(1);
  });

  it('keeps a partition the handler chose', async () => {
    const partitioner = new OutputPartitioner(async () => admin(6).client);
    const [assigned] = await partitioner.assign([{ topic: 'out', messages: [{ key: 'a', value: 'v', partition: 5 }] }]);
    expect(assigned!.messages[0]!.partition).toBe(5);
  });

  it('leaves partitions to the producer when the metadata cannot be had', async () => {
    const partitioner = new OutputPartitioner(async () => admin(new Error('broker down')).client);
    const [assigned] = await partitioner.assign([{ topic: 'out', messages: [{ key: 'a', value: 'v' }] }]);
    expect(assigned!.messages[0]!.partition).toBeUndefined();
  });
});
