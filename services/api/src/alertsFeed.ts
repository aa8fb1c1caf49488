import type { KafkaClient, KafkaConsumer } from '@opentrail/runtime';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '@opentrail/observability';
import { logConsumerCrash } from '@opentrail/runtime';
import { SerdeError, type Alert, type AvroSerde } from '@opentrail/serde';

/**
 * The newest records of one topic, kept in memory: read from the beginning by a consumer group of
 * the instance's own that never commits (as ApiState reads the deliveries), so every API instance
 * answers the same and needs no storage. What the console's Alerts page and the Overview's
 * delivery lag show.
 */
export interface TopicTailOptions<T> {
  kafka: KafkaClient;
  topic: string;
  serde: AvroSerde<T>;
  groupPrefix: string;
  logger: Logger;
  /** Called for each record read, in offset order per partition. */
  apply: (record: T) => void;
}

export class TopicTail<T> {
  private consumer: KafkaConsumer | undefined;
  private crashed: string | undefined;

  constructor(private readonly o: TopicTailOptions<T>) {}

  get healthy(): boolean | string {
    return this.crashed === undefined || `${this.o.topic} reader stopped: ${this.crashed}`;
  }

  async start(): Promise<void> {
    const { kafka, topic, serde, logger } = this.o;
    const consumer = kafka.consumer({ groupId: `${this.o.groupPrefix}-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 250, allowAutoTopicCreation: false });
    this.consumer = consumer;
    consumer.onCrash((crash) => {
      logConsumerCrash(logger, crash, `${topic} reader`);
      if (!crash.restart) this.crashed = crash.error.message;
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        await serde.prepare(batch.messages.map((m) => m.value));
        for (const message of batch.messages) {
          if (!message.value || message.value.length === 0) continue;
          try {
            this.o.apply(serde.decode(message.value));
          } catch (err) {
            if (!(err instanceof SerdeError) || err.canRetry) throw err;
            logger.warn({ topic, partition: batch.partition, offset: message.offset, reason: err.code }, 'record skipped: it cannot be read');
          }
        }
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }
}

/** The most recent alerts, by alert id (a repeat of an alert replaces it: the alerter's id is stable per rule, group and window). */
export class RecentAlerts {
  private readonly byId = new Map<string, Alert>();

  constructor(private readonly capacity = 1000) {}

  add(alert: Alert): void {
    this.byId.delete(alert.alertId);
    this.byId.set(alert.alertId, alert);
    // A Map iterates in insertion order: the first key is the one least recently fired.
    while (this.byId.size > this.capacity) this.byId.delete(this.byId.keys().next().value!);
  }

  get size(): number {
    return this.byId.size;
  }

  /** Newest first (firedAt, then alert id), at most `max`, optionally only alerts fired at or after `sinceMs`. */
  recent(max: number, sinceMs = 0): Alert[] {
    return [...this.byId.values()]
      .filter((a) => a.firedAt >= sinceMs)
      .sort((a, b) => b.firedAt - a.firedAt || (a.alertId < b.alertId ? 1 : a.alertId > b.alertId ? -1 : 0))
      .slice(0, max);
  }
}

/** An alert as `ListRecentAlerts` answers it: the Alert schema's fields, times in epoch seconds. */
export function alertOutput(a: Alert) {
  return {
    AlertId: a.alertId,
    RuleId: a.ruleId,
    RuleKind: a.ruleKind,
    Title: a.title,
    ...(a.description !== null ? { Description: a.description } : {}),
    Severity: a.severity,
    Tags: a.tags,
    ...(a.groupKey !== null ? { GroupKey: a.groupKey } : {}),
    Count: a.count,
    WindowStart: a.windowStart / 1000,
    WindowEnd: a.windowEnd / 1000,
    FirstSeen: a.firstSeen / 1000,
    LastSeen: a.lastSeen / 1000,
    EventIds: a.eventIds,
    ...(a.accountId !== null ? { AccountId: a.accountId } : {}),
    ...(a.region !== null ? { Region: a.region } : {}),
    ...(a.sampleEvent !== null ? { SampleEvent: a.sampleEvent } : {}),
    FiredAt: a.firedAt / 1000,
  };
}
