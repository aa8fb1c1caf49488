import { awsBindings, awsSchema, commonShape, consumerGroupBindings, consumerGroupShape, z, type EnvBinding } from '@opentrail/config';
import { trailsBindings, trailsSchema } from '@opentrail/trails';

export const archiverSchema = z.strictObject({
  /** Consumer group of the enriched-events consumer. @default opentrail-archiver */
  groupId: z.string().min(1).default('opentrail-archiver'),
  /**
   * Prefix of the transactional ids (`<prefix>-<topic>-<partition>`): the same for every instance of
   * one deployment, so that a new owner of a partition fences the old one. @default the groupId
   */
  transactionalIdPrefix: z.string().min(1).optional(),
  /** The compacted topic of per-group high-water marks. @default <topics.prefix>archiver.state */
  stateTopic: z.string().regex(/^[A-Za-z0-9._-]+$/, 'may hold only letters, digits, ".", "_" and "-"').optional(),
  /** How often idle groups are checked for their roll interval. @default 1000 */
  flushIntervalMs: z.number().int().min(100).max(60_000).default(1000),
  /**
   * Bytes held in memory (open files, raw and compressed, and closed files not yet uploaded) across
   * all groups; above it the largest open files are compressed and then closed early. @default 268435456 (256 MiB)
   */
  memoryBudgetBytes: z.number().int().min(1024 * 1024).default(256 * 1024 * 1024),
  /** Uncompressed bytes a group collects before compressing them into its file. @default 262144 */
  compressChunkBytes: z.number().int().min(4096).max(8 * 1024 * 1024).default(256 * 1024),
  /** gzip level (1 fastest … 9 smallest). @default 6 */
  compressionLevel: z.number().int().min(1).max(9).default(6),
  /** Uploads in flight at once per partition. @default 8 */
  uploadConcurrency: z.number().int().min(1).max(64).default(8),
  /** One upload attempt is abandoned (and retried) after this long. @default 120000 */
  uploadTimeoutMs: z.number().int().min(1000).default(120_000),
  /**
   * How long a time-based flush keeps retrying an upload before leaving it for the next batch or
   * tick (a batch waits as long as it takes: that is the backpressure). @default 5000
   */
  tickUploadBudgetMs: z.number().int().min(100).default(5000),
  /** How long the final flush on SIGTERM keeps retrying; what is left is re-read by the next owner. @default 20000 */
  shutdownUploadBudgetMs: z.number().int().min(100).default(20_000),
  /**
   * S3 conditional writes (If-None-Match / If-Match) against a stale owner overwriting a file that
   * the partition's new owner already rewrote. Turn off only for stores without them. @default true
   */
  conditionalWrites: z.boolean().default(true),
  /** Apply each trail's lifecycle rules to its bucket at start. @default true */
  applyLifecycle: z.boolean().default(true),
  /** Create missing buckets at start (local stacks and demos). @default false */
  createBuckets: z.boolean().default(false),
  /** Batches of different partitions processed at once. @default 4 */
  partitionsConsumedConcurrently: z.number().int().min(1).max(64).default(4),
  ...consumerGroupShape,
  /** Fetch size per partition. @default 1048576 */
  fetchMaxBytesPerPartition: z.number().int().min(64 * 1024).default(1024 * 1024),
});

export type ArchiverConfig = z.output<typeof archiverSchema>;

export const configSchema = z.strictObject({
  ...commonShape,
  aws: awsSchema.prefault({}),
  /** Seeds the trail catalog; may be empty: trails then come from the trails topic (the API's CreateTrail). */
  trails: trailsSchema,
  archiver: archiverSchema.prefault({}),
});

export type Config = z.output<typeof configSchema>;

export const bindings: EnvBinding[] = [
  ...awsBindings,
  ...trailsBindings,
  { env: 'OPENTRAIL_ARCHIVER_GROUP_ID', path: 'archiver.groupId' },
  { env: 'OPENTRAIL_ARCHIVER_TRANSACTIONAL_ID_PREFIX', path: 'archiver.transactionalIdPrefix' },
  { env: 'OPENTRAIL_ARCHIVER_STATE_TOPIC', path: 'archiver.stateTopic' },
  { env: 'OPENTRAIL_ARCHIVER_FLUSH_INTERVAL_MS', path: 'archiver.flushIntervalMs', as: 'number' },
  { env: 'OPENTRAIL_ARCHIVER_MEMORY_BUDGET_BYTES', path: 'archiver.memoryBudgetBytes', as: 'number' },
  { env: 'OPENTRAIL_ARCHIVER_COMPRESS_CHUNK_BYTES', path: 'archiver.compressChunkBytes', as: 'number' },
  { env: 'OPENTRAIL_ARCHIVER_COMPRESSION_LEVEL', path: 'archiver.compressionLevel', as: 'number' },
  { env: 'OPENTRAIL_ARCHIVER_UPLOAD_CONCURRENCY', path: 'archiver.uploadConcurrency', as: 'number' },
  { env: 'OPENTRAIL_ARCHIVER_UPLOAD_TIMEOUT_MS', path: 'archiver.uploadTimeoutMs', as: 'number' },
  { env: 'OPENTRAIL_ARCHIVER_TICK_UPLOAD_BUDGET_MS', path: 'archiver.tickUploadBudgetMs', as: 'number' },
  { env: 'OPENTRAIL_ARCHIVER_SHUTDOWN_UPLOAD_BUDGET_MS', path: 'archiver.shutdownUploadBudgetMs', as: 'number' },
  { env: 'OPENTRAIL_ARCHIVER_CONDITIONAL_WRITES', path: 'archiver.conditionalWrites', as: 'boolean' },
  { env: 'OPENTRAIL_ARCHIVER_APPLY_LIFECYCLE', path: 'archiver.applyLifecycle', as: 'boolean' },
  { env: 'OPENTRAIL_ARCHIVER_CREATE_BUCKETS', path: 'archiver.createBuckets', as: 'boolean' },
  { env: 'OPENTRAIL_ARCHIVER_PARTITIONS_CONSUMED_CONCURRENTLY', path: 'archiver.partitionsConsumedConcurrently', as: 'number' },
  ...consumerGroupBindings('archiver'),
  { env: 'OPENTRAIL_ARCHIVER_FETCH_MAX_BYTES_PER_PARTITION', path: 'archiver.fetchMaxBytesPerPartition', as: 'number' },
];
