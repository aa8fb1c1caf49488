import { acceptedRegions, validateApiCallEvent } from '@opentrail/cloudtrail';
import { createPool, EventWriter, isDatabaseUnavailable, loadMigrations, migrate, PartitionManager } from '@opentrail/history';
import { InfrastructureError, main, startupStep } from '@opentrail/runtime';
import { bindings, configSchema } from './config.js';
import { DatabaseHealth } from './databaseHealth.js';
import { HistoryIngest } from './historyIngest.js';
import { historyMetrics } from './metrics.js';
import { startRetention } from './retentionJob.js';

main({
  name: 'history',
  configSchema,
  bindings,
  topics: {
    // Read only, but its subject is registered here too, as the enricher does: whichever starts first.
    enriched: { reads: 'enriched', value: 'EnrichedEvent', register: true },
    dlq: { writes: 'dlq' },
  },
  async start(ctx) {
    const { config, logger, topics, serdes } = ctx;
    const c = config.history;
    const m = historyMetrics(ctx.metrics);
    const pool = createPool({
      url: c.databaseUrl,
      // One per writer of each write on its way (writesInFlight per concurrently read partition), plus
      // one for retention and the health probe. Fewer only queue the writes for a connection.
      maxConnections: Math.max(c.maxConnections, c.batch.partitionsConsumedConcurrently * c.batch.writesInFlight * c.batch.writers + 1),
      applicationName: 'opentrail-history',
      onIdleError: (err) => logger.warn({ err }, 'an idle PostgreSQL connection failed'),
    });
    ctx.onStop('database pool', () => pool.end());
    // Instances starting together: the advisory lock lets one migrate while the others wait.
    // PostgreSQL not up yet is waited for like Kafka: a start step, retried up to the start deadline.
    const migrations = await loadMigrations();
    const applied = await startupStep('PostgreSQL migrations', async () => {
      try {
        return await migrate(pool, migrations);
      } catch (err) {
        if (isDatabaseUnavailable(err) || isDatabaseUnavailable((err as { cause?: unknown }).cause)) {
          // SQLSTATE 08006 (connection_failure) is what the start's transient check knows as DATABASE_UNAVAILABLE.
          throw Object.assign(new InfrastructureError(`PostgreSQL not reachable: ${(err as Error).message}`, { cause: err }), { code: '08006' });
        }
        throw err;
      }
    });
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    const health = ctx.own('database', new DatabaseHealth(pool, migrations));
    await health.probe();

    const partitions = new PartitionManager(pool, (day) => {
      m.partitionsCreated.inc();
      logger.info({ day }, 'day partition created');
    });
    ctx.own('retention', startRetention({ partitions, retentionDays: c.retentionDays, intervalMs: c.retentionIntervalSeconds * 1000, metrics: m, logger }));

    // A write that fails for anything but a stop (unreachable is retried, refusals dead-lettered)
    // leaves its offsets uncommitted; the service then reports itself not live, stops and is
    // restarted, and the partition is re-read from its last committed offset.
    let writeFailure: string | undefined;
    ctx.live('writes', () => writeFailure ?? true);

    const regions = acceptedRegions({ additionalRegions: config.records.additionalRegions });
    await ctx.processor({
      groupId: c.groupId,
      topic: topics.enriched,
      serde: serdes.enriched,
      // Checked as the archiver checks them, so that a record written straight to the enriched
      // topic cannot put text in the store that the log files would refuse.
      validate: (value, bytes) => validateApiCallEvent(value.event, bytes, regions),
      deadLetterTopic: topics.dlq,
      handler: new HistoryIngest({
        writer: new EventWriter(pool, partitions),
        deadLetterTopic: topics.dlq,
        retentionDays: c.retentionDays,
        futureToleranceSeconds: c.futureToleranceSeconds,
        maxRows: c.batch.maxRows,
        writers: c.batch.writers,
        writesInFlight: c.batch.writesInFlight,
        onWriteFailed: (err) => {
          writeFailure ??= `a batch could not be written to PostgreSQL: ${(err as Error).message}`;
        },
        metrics: m,
        logger,
      }),
      partitionsConsumedConcurrently: c.batch.partitionsConsumedConcurrently,
      // Hands over what the writes on their way made durable when no new batch comes to do it.
      flushIntervalMs: 500,
      consumer: { sessionTimeout: c.sessionTimeoutMs, heartbeatInterval: c.heartbeatIntervalMs },
    });
  },
});
