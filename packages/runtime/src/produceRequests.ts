import { Partitioners, type PartitionMetadata } from 'kafkajs';
import type { KafkaAdmin, ProducedMessage as Message, TopicMessages } from './kafkaClient.js';

/**
 * How a batch's outputs become produce requests.
 *
 * Brokers refuse a record batch larger than message.max.bytes (1 MiB by default), and kafkajs puts
 * all messages of one partition in one request into one record batch, without splitting it. The
 * runtime therefore decides each output's partition itself, with kafkajs's own default partitioner
 * (murmur2 of the key, as the Java client does, so keys land where any other producer puts them),
 * and splits the outputs so that no partition receives more than `maxPartitionBytes` in one
 * request. The request as a whole may be much larger: a batch fanned out over many partitions is
 * one round trip, not one per 768 KiB.
 */

/** Bytes for one partition in one request at most: under the broker's 1 MiB with room for batch overhead. */
export const MAX_PARTITION_BYTES = 768 * 1024;
/** Bytes in one request at most (brokers accept 100 MiB; kafkajs holds the whole request in memory). */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/** A partition as the cluster metadata describes it: its id, and its leader (-1: none now). */
type Partition = { partitionId: number; leader: number };

/** Partition metadata is refreshed this often (kafkajs's own metadataMaxAge). */
const METADATA_MAX_AGE_MS = 5 * 60_000;

export function messageBytes(message: Message): number {
  const size = (v: Message['value'] | Message['key']) => (v == null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);
  return size(message.value) + size(message.key) + 64;
}

/**
 * Picks each output's partition like the producer would. Partition counts come from the cluster
 * metadata (one request per topic, cached); when they cannot be had, messages keep no partition and
 * `splitRequests` falls back to requests small enough for any distribution.
 */
export class OutputPartitioner {
  private readonly pick = Partitioners.DefaultPartitioner();
  private readonly metadata = new Map<string, { partitions: Partition[]; fetchedAt: number }>();

  constructor(private readonly admin: () => Promise<KafkaAdmin>) {}

  /** The same messages, each with `partition` set where the topic's partition count is known. */
  async assign(topicMessages: TopicMessages[]): Promise<TopicMessages[]> {
    const out: TopicMessages[] = [];
    for (const { topic, messages } of topicMessages) {
      const partitionMetadata = await this.partitionsOf(topic);
      if (!partitionMetadata) {
        out.push({ topic, messages });
        continue;
      }
      out.push({
        topic,
        // The partitioner reads partitionId and leader only (the port's metadata has no more).
        messages: messages.map((message) => (message.partition != null ? message : { ...message, partition: this.pick({ topic, partitionMetadata: partitionMetadata as PartitionMetadata[], message }) })),
      });
    }
    return out;
  }

  private async partitionsOf(topic: string): Promise<Partition[] | undefined> {
    const cached = this.metadata.get(topic);
    if (cached && Date.now() - cached.fetchedAt < METADATA_MAX_AGE_MS) return cached.partitions;
    try {
      const admin = await this.admin();
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const partitions = topics[0]?.partitions;
      if (!partitions || partitions.length === 0) return cached?.partitions;
      this.metadata.set(topic, { partitions, fetchedAt: Date.now() });
      return partitions;
    } catch {
      return cached?.partitions;
    }
  }
}

/**
 * Splits outputs into produce requests: per request at most `maxPartitionBytes` for any one
 * partition (messages without a partition count against one shared budget, since they may all
 * land on one) and at most `maxRequestBytes` in all. A single larger message goes alone. Order
 * within each partition is kept: requests are sent one after another.
 */
export function splitRequests(topicMessages: TopicMessages[], maxPartitionBytes = MAX_PARTITION_BYTES, maxRequestBytes = MAX_REQUEST_BYTES): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let current = new Map<string, Message[]>();
  let perPartition = new Map<string, number>();
  let requestBytes = 0;
  const close = () => {
    if (current.size === 0) return;
    requests.push([...current].map(([topic, messages]) => ({ topic, messages })));
    current = new Map();
    perPartition = new Map();
    requestBytes = 0;
  };
  for (const { topic, messages } of topicMessages) {
    for (const message of messages) {
      const size = messageBytes(message);
      const slot = `${topic}\u0000${message.partition ?? '*'}`;
      const inSlot = perPartition.get(slot) ?? 0;
      if (requestBytes > 0 && (inSlot + size > maxPartitionBytes || requestBytes + size > maxRequestBytes)) close();
      let list = current.get(topic);
      if (!list) current.set(topic, (list = []));
      list.push(message);
      perPartition.set(slot, (perPartition.get(slot) ?? 0) + size);
      requestBytes += size;
    }
  }
  close();
  return requests;
}
