import { awsBindings, awsSchema, commonShape, consumerGroupBindings, consumerGroupShape, z, type EnvBinding } from '@opentrail/config';

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export const lakeSchema = z.strictObject({
  /** The bucket holding every store's table (created at start when missing). @default opentrail-lake */
  bucket: z.string().regex(BUCKET_NAME, 'must be an S3 bucket name').default('opentrail-lake'),
  /** Key prefix of the tables: `<prefix>/<storeId>/eventdate=<day>/…`. @default lake */
  prefix: z.string().regex(/^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/, 'slash-separated segments of letters, digits, "_", "." and "-"').default('lake'),
  /** Consumer group of the enriched-events consumer. @default opentrail-lake */
  groupId: z.string().min(1).default('opentrail-lake'),
  roll: z
    .strictObject({
      /** A partition's open segment is written out once its first event is this old. @default 60 */
      intervalSeconds: z.number().int().min(1).max(3600).default(60),
      /** ...or once it holds this many selected events (memory: about 3 KB each). @default 100000 */
      maxRows: z.number().int().min(1).max(1_000_000).default(100_000),
    })
    .prefault({}),
  /** Files of one segment uploaded at once. @default 4 */
  uploadConcurrency: z.number().int().min(1).max(32).default(4),
  /** How often retention deletes whole days older than each store's retention period. @default 3600 */
  retentionIntervalSeconds: z.number().int().min(1).default(3600),
  /** Input partitions processed at once. @default 4 */
  partitionsConsumedConcurrently: z.number().int().min(1).max(64).default(4),
  ...consumerGroupShape,
});

export const configSchema = z.strictObject({ ...commonShape, aws: awsSchema.prefault({}), lake: lakeSchema.prefault({}) });

export type LakeServiceConfig = z.infer<typeof configSchema>;

export const bindings: EnvBinding[] = [
  { env: 'OPENTRAIL_LAKE_BUCKET', path: 'lake.bucket' },
  { env: 'OPENTRAIL_LAKE_PREFIX', path: 'lake.prefix' },
  { env: 'OPENTRAIL_LAKE_GROUP_ID', path: 'lake.groupId' },
  { env: 'OPENTRAIL_LAKE_ROLL_INTERVAL_SECONDS', path: 'lake.roll.intervalSeconds', as: 'number' },
  { env: 'OPENTRAIL_LAKE_ROLL_MAX_ROWS', path: 'lake.roll.maxRows', as: 'number' },
  { env: 'OPENTRAIL_LAKE_UPLOAD_CONCURRENCY', path: 'lake.uploadConcurrency', as: 'number' },
  { env: 'OPENTRAIL_LAKE_RETENTION_INTERVAL_SECONDS', path: 'lake.retentionIntervalSeconds', as: 'number' },
  { env: 'OPENTRAIL_LAKE_PARTITIONS_CONSUMED_CONCURRENTLY', path: 'lake.partitionsConsumedConcurrently', as: 'number' },
  ...consumerGroupBindings('lake'),
  ...awsBindings,
];
