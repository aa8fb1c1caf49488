import { topicName } from '@opentrail/config';
import { createPool, EventWriter, isDatabaseUnavailable, loadMigrations, migrate, PartitionManager } from '@opentrail/history';
import { ensureTopics, main, retry, StreamProcessor } from '@opentrail/runtime';
import { serdeFor, valueSubject, type EnrichedEvent } from '@opentrail/serde';
import { bindings, configSchema } from './config.js';
import { DatabaseHealth } from './databaseHealth.js';
import { HistoryIngest } from './historyIngest.js';
import { historyMetrics } from './metrics.js';
import { startRetention } from './retentionJob.js';

main({
  name: 'history',
  configSchema,
  bindings,
  async start({ config, logger, metrics, kafka, registry }) {
    const c = config.history;
    const topics = { enriched: topicName(config, 'enriched'), dlq: topicName(config, 'dlq') };
    await ensureTopics(kafka, [{ topic: topics.enriched }, { topic: topics.dlq }], config.topics);
    const serde = serdeFor(registry, 'EnrichedEvent');
    await serde.register(valueSubject(topics.enriched));

    const m = historyMetrics(metrics);
    const pool = createPool({
      url: c.databaseUrl,
      // One per concurrently written partition, plus one for retention and the health probe.
      maxConnections: Math.max(c.maxConnections, c.batch.partitionsConsumedConcurrently + 1),
      applicationName: 'opentrail-history',
      onIdleError: (err) => logger.warn({ err }, 'an idle PostgreSQL connection failed'),
    });
    // Instances starting together: the advisory lock lets one migrate while the others wait.
    // PostgreSQL not up yet is waited for, like Kafka.
    const migrations = await loadMigrations();
    const applied = await retry(() => migrate(pool, migrations), {
      retries: Infinity,
      maxDelayMs: 5000,
      shouldRetry: (err) => isDatabaseUnavailable(err) || isDatabaseUnavailable((err as { cause?: unknown }).cause),
      onRetry: (err, attempt) => logger.warn({ err, attempt }, 'PostgreSQL not reachable for migrations; retrying'),
    });
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    const health = new DatabaseHealth(pool, migrations);
    await health.probe();

    const partitions = new PartitionManager(pool, (day) => {
      m.partitionsCreated.inc();
      logger.info({ day }, 'day partition created');
    });
    const retention = startRetention({ partitions, retentionDays: c.retentionDays, intervalMs: c.retentionIntervalSeconds * 1000, metrics: m, logger });

    const processor = new StreamProcessor<EnrichedEvent>({
      service: 'history',
      kafka,
      groupId: c.groupId,
      topic: topics.enriched,
      serde,
      deadLetterTopic: topics.dlq,
      handler: new HistoryIngest({
        writer: new EventWriter(pool, partitions),
        deadLetterTopic: topics.dlq,
        retentionDays: c.retentionDays,
        futureToleranceSeconds: c.futureToleranceSeconds,
        maxRows: c.batch.maxRows,
        metrics: m,
        logger,
      }),
      logger,
      metrics,
      partitionsConsumedConcurrently: c.batch.partitionsConsumedConcurrently,
      consumer: { sessionTimeout: c.sessionTimeoutMs, heartbeatInterval: c.heartbeatIntervalMs },
    });
    await processor.start();

    return {
      async stop() {
        retention.stop();
        await processor.stop();
        health.stop();
        await pool.end();
      },
      readiness: { database: () => health.ready, consumer: () => processor.ready },
      liveness: { consumer: () => processor.healthy },
    };
  },
});
