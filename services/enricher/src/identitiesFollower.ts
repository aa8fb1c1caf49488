import type { KafkaClient } from '@opentrail/runtime';
import type { Logger } from '@opentrail/observability';
import { CompactedTopicReader } from '@opentrail/runtime';
import type { AvroSerde, Identity } from '@opentrail/serde';
import type { IdentityTable } from './identityTable.js';
import type { EnricherMetrics } from './metrics.js';

export interface IdentitiesFollowerOptions {
  kafka: KafkaClient;
  topic: string;
  serde: AvroSerde<Identity>;
  table: IdentityTable;
  logger: Logger;
  metrics: EnricherMetrics;
  /** Prefix of this reader's own consumer group (a fresh one per process). */
  groupIdPrefix: string;
}

/**
 * Reads the whole compacted identities topic into the table, then keeps following it: the
 * runtime's CompactedTopicReader (every enricher instance needs every key, so it reads from the
 * beginning in a group of its own and never commits). A record that cannot be read is skipped
 * with a warning and counted as undecodable; a registry that cannot be reached retries the batch.
 *
 * "Caught up" means: every partition read up to the end offset it had when the reader started.
 * The enricher enriches nothing before that, so a restarted instance attributes as well as the one
 * before it.
 */
export class IdentitiesFollower {
  private readonly reader: CompactedTopicReader<Identity>;
  /** Resolves once the table holds everything the topic held at start. */
  readonly caughtUp: Promise<void>;

  constructor(options: IdentitiesFollowerOptions) {
    const { kafka, topic, serde, table, logger, metrics: m } = options;
    this.reader = new CompactedTopicReader<Identity>({
      kafka,
      topic,
      groupIdPrefix: `${options.groupIdPrefix}-identities`,
      what: 'the identities topic',
      // One registry round trip per unknown schema id; a registry outage throws and kafkajs retries the batch.
      decoder: { prepare: (values) => serde.prepare(values), decode: (value) => serde.decode(value) },
      apply: (key, identity) => {
        table.apply(key, identity);
        m.topicRecords.inc({ kind: identity === null ? 'tombstone' : 'value' });
      },
      onSkip: () => m.topicRecords.inc({ kind: 'undecodable' }),
      logger,
      readCommitted: true,
    });
    this.caughtUp = this.reader.caughtUp.then(() => logger.info({ entries: table.size }, 'identities table caught up'));
    // Nobody may be awaiting yet when a start-up failure rejects it.
    this.caughtUp.catch(() => undefined);
  }

  get ready(): boolean | string {
    return this.reader.ready;
  }

  get healthy(): boolean | string {
    return this.reader.healthy;
  }

  async start(): Promise<void> {
    await this.reader.start();
  }

  async stop(): Promise<void> {
    await this.reader.stop();
  }
}
