import { commonShape, consumerGroupBindings, consumerGroupShape, z, type EnvBinding } from '@opentrail/config';

const postgresUrl = z
  .string()
  .min(1)
  .refine((v) => /^postgres(ql)?:\/\//.test(v), { message: 'must be a postgres:// or postgresql:// URL' });

export const historySchema = z.strictObject({
  /** The PostgreSQL database (postgres://user:password@host:port/database). Required. */
  databaseUrl: postgresUrl,
  /** Connections to PostgreSQL at most. @default 4 */
  maxConnections: z.number().int().min(1).max(100).default(4),
  /** Consumer group of the enriched-events consumer. @default opentrail-history */
  groupId: z.string().min(1).default('opentrail-history'),
  /** Days of history kept; older days are dropped whole (partitions), never row by row. @default 90 */
  retentionDays: z.number().int().min(1).max(3650).default(90),
  /** How often retention runs (and tomorrow's partition is created ahead). @default 3600 */
  retentionIntervalSeconds: z.number().int().min(1).default(3600),
  /**
   * Events dated further in the future than this are dead-lettered: every day named by an event
   * becomes a partition, so a hostile timestamp must not create thousands. @default 86400
   */
  futureToleranceSeconds: z.number().int().min(0).default(86_400),
  ...consumerGroupShape,
  batch: z
    .strictObject({
      /** Rows per write (one COPY, one transaction each). @default 1000 */
      maxRows: z.number().int().min(1).max(50_000).default(1000),
      /**
       * Writes of one batch's chunks in flight at once, each on its own connection: PostgreSQL
       * takes one chunk while the next is encoded (bench/history-ingest.bench.ts). @default 2
       */
      writers: z.number().int().min(1).max(16).default(2),
      /** Batches of one partition on their way into PostgreSQL at once (the next is read meanwhile). */
      writesInFlight: z.number().int().min(1).max(8).default(2),
      /** Input partitions processed at once (each holds one connection while it writes). @default 4 */
      partitionsConsumedConcurrently: z.number().int().min(1).max(64).default(4),
    })
    .prefault({}),
});

export const configSchema = z.strictObject({ ...commonShape, history: historySchema });

export type HistoryConfig = z.infer<typeof configSchema>;

export const bindings: EnvBinding[] = [
  { env: 'OPENTRAIL_DATABASE_URL', path: 'history.databaseUrl' },
  { env: 'OPENTRAIL_HISTORY_MAX_CONNECTIONS', path: 'history.maxConnections', as: 'number' },
  { env: 'OPENTRAIL_HISTORY_GROUP_ID', path: 'history.groupId' },
  { env: 'OPENTRAIL_HISTORY_RETENTION_DAYS', path: 'history.retentionDays', as: 'number' },
  { env: 'OPENTRAIL_HISTORY_RETENTION_INTERVAL_SECONDS', path: 'history.retentionIntervalSeconds', as: 'number' },
  { env: 'OPENTRAIL_HISTORY_FUTURE_TOLERANCE_SECONDS', path: 'history.futureToleranceSeconds', as: 'number' },
  ...consumerGroupBindings('history'),
  { env: 'OPENTRAIL_HISTORY_BATCH_MAX_ROWS', path: 'history.batch.maxRows', as: 'number' },
  { env: 'OPENTRAIL_HISTORY_BATCH_WRITERS', path: 'history.batch.writers', as: 'number' },
  { env: 'OPENTRAIL_HISTORY_BATCH_WRITES_IN_FLIGHT', path: 'history.batch.writesInFlight', as: 'number' },
  { env: 'OPENTRAIL_HISTORY_PARTITIONS_CONSUMED_CONCURRENTLY', path: 'history.batch.partitionsConsumedConcurrently', as: 'number' },
];
