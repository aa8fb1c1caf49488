import { ACCOUNT_ID_PATTERN } from '@opentrail/cloudtrail';
import { awsBindings, awsSchema, commonShape, z, type EnvBinding } from '@opentrail/config';
import { trailsBindings, trailsSchema } from '@opentrail/trails';
import { ACTION_PATTERN, PRINCIPAL_ARN_FORMS, principalOf, SESSION_NAME } from './authorization.js';

const TOPIC = z.string().regex(/^[A-Za-z0-9._-]+$/, 'may hold only letters, digits, ".", "_" and "-"');

const accountId = z.string().regex(ACCOUNT_ID_PATTERN, 'must be a 12-digit account id');

/**
 * An access key: `{accessKeyId, secretAccessKey, accountId?}`, or `ACCESS_KEY_ID:SECRET` /
 * `ACCESS_KEY_ID:SECRET:ACCOUNT_ID` (environment variables). `accountId` is the account the key
 * acts for: trails it creates belong to it. @default api.defaultAccountId
 */
const accessKeySchema = z.union([
  z.strictObject({ accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1), accountId: accountId.optional() }),
  z
    .string()
    .regex(/^[^:\s]+:\S+$/, 'must be ACCESS_KEY_ID:SECRET_ACCESS_KEY[:ACCOUNT_ID]')
    .transform((s) => {
      const id = s.slice(0, s.indexOf(':'));
      const rest = s.slice(s.indexOf(':') + 1);
      const account = /:(\d{12})$/.exec(rest);
      return account ? { accessKeyId: id, secretAccessKey: rest.slice(0, -13), accountId: account[1]! } : { accessKeyId: id, secretAccessKey: rest };
    }),
]);

/**
 * A principal (authorization.ts): who its access keys sign as, and what it may do. Actions are
 * `cloudtrail:<Operation>` and `opentrail:<Operation>` (QueryEvents, GetResourceHistory), with
 * `*` and `?` wildcards; a deny wins over any allow; what no allow names is refused.
 */
const principalSchema = z
  .strictObject({
    /** An IAM user, the root, a role, or a role session ARN; its account is the caller's account. */
    arn: z.string().max(2048),
    /** For a role ARN: the session name its calls are recorded under. @default the role's name */
    sessionName: z.string().regex(SESSION_NAME, 'must be 2-64 characters of letters, digits and +=,.@_-').optional(),
    /** The unique id recorded as userIdentity.principalId (AIDA… / AROA…). @default derived from the ARN */
    principalId: z.string().regex(/^[A-Z0-9]{16,128}$/, 'must be an IAM unique id such as AIDAJQABLZS4A3QDU576Q').optional(),
    accessKeys: z.array(accessKeySchema).min(1, 'must list at least one access key'),
    /** Allowed actions, e.g. `cloudtrail:*`, `cloudtrail:Describe*`, `cloudtrail:LookupEvents`, `opentrail:*`, `*`. */
    allow: z.array(z.string().regex(ACTION_PATTERN, 'must be an action pattern such as cloudtrail:Describe* or opentrail:*')).min(1, 'must allow at least one action'),
    /** Denied actions; a deny wins over any allow. @default [] */
    deny: z.array(z.string().regex(ACTION_PATTERN, 'must be an action pattern such as cloudtrail:DeleteTrail')).default([]),
  })
  .refine((p) => principalOf(p.arn, { sessionName: p.sessionName }) !== undefined, { message: `arn must be ${PRINCIPAL_ARN_FORMS}`, path: ['arn'] });

export const historySchema = z.strictObject({
  /**
   * The history service's database (postgres://user:password@host:port/db). Without one, the
   * history operations answer UnsupportedOperationException and the other operations still work.
   */
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  /** Connections to it, in each of the API's two pools (combined queries; single-attribute lookups). @default 4 */
  poolSize: z.number().int().min(1).max(100).default(4),
  /** One query may run this long before PostgreSQL cancels it. @default 10000 */
  statementTimeoutMs: z.number().int().min(100).default(10_000),
  /** The oldest events served, in days (CloudTrail's event history: 90). Match the history service's retention. @default 90 */
  retentionDays: z.number().int().min(1).max(3650).default(90),
  /**
   * The key NextTokens are signed with (at least 32 characters), the same on every API instance so
   * that any of them continues a query. Without it a random key is made at start: tokens then die
   * with the process and work only on the instance that made them. @default random
   */
  nextTokenSecret: z.string().min(32).optional(),
  /** A NextToken older than this is refused with InvalidNextTokenException. @default 86400 */
  nextTokenTtlSeconds: z.number().int().min(1).default(86_400),
  /** LookupEvents calls per second per caller and region (CloudTrail's quota: 2, not adjustable). @default 2 */
  lookupEventsPerSecond: z.number().min(0.1).default(2),
  /** QueryEvents and GetResourceHistory calls per second per caller and region. @default 5 */
  queryEventsPerSecond: z.number().min(0.1).default(5),
});

/**
 * CloudTrail Lake's queries: Trino runs them over the lake service's tables; their state and rows
 * live in PostgreSQL (the history database unless another is named), so every API instance
 * answers for every query.
 */
export const lakeQuerySchema = z.strictObject({
  /** Trino's coordinator (http://host:8080). Without it the query operations are UnsupportedOperationException. */
  trinoUrl: z.string().url().optional(),
  /** The PostgreSQL of query state and results. @default api.history.databaseUrl */
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  /** Trino's hive catalog and the schema of the store tables. @default lake, eds */
  catalog: z.string().regex(/^[a-z0-9_]{1,64}$/).default('lake'),
  schema: z.string().regex(/^[a-z0-9_]{1,64}$/).default('eds'),
  /** Where the lake service writes (its lake.bucket and lake.prefix). @default opentrail-lake, lake */
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/).default('opentrail-lake'),
  prefix: z.string().regex(/^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/).default('lake'),
  /** Queries running at once per account (CloudTrail: 10). @default 10 */
  maxConcurrentQueries: z.number().int().min(1).max(1000).default(10),
  /** A query running longer is TIMED_OUT (CloudTrail: one hour). @default 3600 */
  queryTimeoutSeconds: z.number().int().min(1).default(3600),
  /** Days results are kept (CloudTrail: 7). @default 7 */
  resultsRetentionDays: z.number().int().min(1).max(365).default(7),
  /**
   * A query whose result values pass this many bytes is stopped and FAILED, the rows before kept
   * (results live in PostgreSQL, and DeliveryS3Uri's file is built in memory, gzip'd). @default 268435456 (256 MiB)
   */
  maxResultBytes: z.number().int().min(1024).default(268_435_456),
});

export const apiSchema = z.strictObject({
  /** Port of the CloudTrail API (POST /). 0 picks a free port. @default 8090 */
  port: z.number().int().min(0).max(65535).default(8090),
  /** @default 0.0.0.0 */
  host: z.string().default('0.0.0.0'),
  /**
   * The access keys whose Signature Version 4 signatures are accepted; a request signed with any
   * other key gets 403. With none (the default) the API starts but refuses every request, with a
   * warning at start: there is no anonymous access. @default []
   */
  accessKeys: z.array(accessKeySchema).default([]),
  /**
   * Callers with a principal and a policy (authorization.ts). The keys of `accessKeys` keep full
   * access, each as the IAM user named after its key id in its `accountId`, else `defaultAccountId`. @default []
   */
  principals: z.array(principalSchema).default([]),
  /** A request's X-Amz-Date may differ from the server clock by this much. @default 300 (AWS's 5 minutes) */
  maxClockSkewSeconds: z.number().int().min(1).max(3600).default(300),
  /** The digester's compacted keys topic. @default <topics.prefix>digester.keys */
  keysTopic: TOPIC.optional(),
  /** Largest request body accepted. @default 1048576 */
  maxBodyBytes: z.number().int().min(1024).default(1024 * 1024),
  /** Event history: LookupEvents, QueryEvents and GetResourceHistory, read from the history service's PostgreSQL. */
  history: historySchema.prefault({}),
  /** CloudTrail Lake's queries (StartQuery, GetQueryResults...). */
  lake: lakeQuerySchema.prefault({}),
  /** The account of callers whose access key names none (trails they create are this account's). @default 000000000000 */
  defaultAccountId: accountId.default('000000000000'),
  /** The organization of organization trails (IsOrganizationTrail); without it they are refused with OrganizationsNotInUseException. */
  organizationId: z.string().regex(/^o-[a-z0-9]{10,32}$/, 'must be an organization id such as o-exampleorgid').optional(),
  /** Trails per account and region (CloudTrail: 5, MaximumNumberOfTrailsExceededException beyond). @default 5 */
  maxTrailsPerRegion: z.number().int().min(1).max(1000).default(5),
  /** CloudTrail Lake event data stores per account and region (CloudTrail: 10, EventDataStoreMaxLimitExceededException beyond). @default 10 */
  maxEventDataStoresPerRegion: z.number().int().min(1).max(1000).default(10),
  /** Get*, Describe* and List* calls per second per account, region and operation (CloudTrail: 10). @default 10 */
  trailReadsPerSecond: z.number().min(0.1).default(10),
  /** Every other trail call per second per account, region and operation (CloudTrail: 1). @default 1 */
  trailWritesPerSecond: z.number().min(0.1).default(1),
  /**
   * Check, as CloudTrail does, that a trail's bucket exists with a policy letting
   * cloudtrail.amazonaws.com deliver, that its KMS key exists and its SNS topic lets CloudTrail
   * publish. Off for S3-compatible stores without bucket policies. @default true
   */
  checkTrailResources: z.boolean().default(true),
  /**
   * What CloudTrail's API cannot say about a trail it creates, and opentrail needs: how often its
   * log files roll and how long a digest period is. CloudTrail delivers about every 5 minutes and
   * digests hourly.
   */
  newTrails: z
    .strictObject({
      /** @default 60 */
      rollIntervalSeconds: z.number().int().min(1).max(3600).default(60),
      /** @default 60 */
      digestPeriodMinutes: z.number().int().min(1).max(1440).default(60),
    })
    .prefault({}),
});

export type ApiConfig = z.output<typeof apiSchema>;

/** Access key ids are unique across `accessKeys` and every principal's keys: one key, one caller. */
function duplicateAccessKeys(api: ApiConfig): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const k of [...api.accessKeys, ...api.principals.flatMap((p) => p.accessKeys)]) (seen.has(k.accessKeyId) ? twice : seen).add(k.accessKeyId);
  return [...twice];
}

export const configSchema = z.strictObject({
  ...commonShape,
  trails: trailsSchema,
  api: apiSchema.prefault({}),
  /** S3, KMS and SNS, for CreateTrail's and UpdateTrail's checks. */
  aws: awsSchema.prefault({}),
}).superRefine((c, ctx) => {
  for (const id of duplicateAccessKeys(c.api)) ctx.addIssue({ code: 'custom', path: ['api', 'accessKeys'], message: `access key ${id} is configured more than once` });
});

export type Config = z.output<typeof configSchema>;

export const bindings: EnvBinding[] = [
  ...trailsBindings,
  ...awsBindings,
  { env: 'OPENTRAIL_API_PORT', path: 'api.port', as: 'number' },
  { env: 'OPENTRAIL_API_HOST', path: 'api.host' },
  { env: 'OPENTRAIL_API_ACCESS_KEYS', path: 'api.accessKeys', as: 'list' },
  { env: 'OPENTRAIL_API_PRINCIPALS', path: 'api.principals', as: 'json' },
  { env: 'OPENTRAIL_API_MAX_CLOCK_SKEW_SECONDS', path: 'api.maxClockSkewSeconds', as: 'number' },
  { env: 'OPENTRAIL_API_KEYS_TOPIC', path: 'api.keysTopic' },
  { env: 'OPENTRAIL_API_MAX_BODY_BYTES', path: 'api.maxBodyBytes', as: 'number' },
  // The same variable as the history service's: one database, written there, read here.
  { env: 'OPENTRAIL_DATABASE_URL', path: 'api.history.databaseUrl' },
  { env: 'OPENTRAIL_API_HISTORY_POOL_SIZE', path: 'api.history.poolSize', as: 'number' },
  { env: 'OPENTRAIL_API_HISTORY_STATEMENT_TIMEOUT_MS', path: 'api.history.statementTimeoutMs', as: 'number' },
  { env: 'OPENTRAIL_API_HISTORY_RETENTION_DAYS', path: 'api.history.retentionDays', as: 'number' },
  { env: 'OPENTRAIL_API_HISTORY_NEXT_TOKEN_SECRET', path: 'api.history.nextTokenSecret' },
  { env: 'OPENTRAIL_API_HISTORY_NEXT_TOKEN_TTL_SECONDS', path: 'api.history.nextTokenTtlSeconds', as: 'number' },
  { env: 'OPENTRAIL_API_HISTORY_LOOKUP_EVENTS_PER_SECOND', path: 'api.history.lookupEventsPerSecond', as: 'number' },
  { env: 'OPENTRAIL_API_HISTORY_QUERY_EVENTS_PER_SECOND', path: 'api.history.queryEventsPerSecond', as: 'number' },
  { env: 'OPENTRAIL_API_DEFAULT_ACCOUNT_ID', path: 'api.defaultAccountId' },
  { env: 'OPENTRAIL_API_ORGANIZATION_ID', path: 'api.organizationId' },
  { env: 'OPENTRAIL_API_MAX_TRAILS_PER_REGION', path: 'api.maxTrailsPerRegion', as: 'number' },
  { env: 'OPENTRAIL_TRINO_URL', path: 'api.lake.trinoUrl' },
  { env: 'OPENTRAIL_API_LAKE_DATABASE_URL', path: 'api.lake.databaseUrl' },
  { env: 'OPENTRAIL_LAKE_BUCKET', path: 'api.lake.bucket' },
  { env: 'OPENTRAIL_LAKE_PREFIX', path: 'api.lake.prefix' },
  { env: 'OPENTRAIL_API_LAKE_MAX_CONCURRENT_QUERIES', path: 'api.lake.maxConcurrentQueries', as: 'number' },
  { env: 'OPENTRAIL_API_LAKE_QUERY_TIMEOUT_SECONDS', path: 'api.lake.queryTimeoutSeconds', as: 'number' },
  { env: 'OPENTRAIL_API_LAKE_MAX_RESULT_BYTES', path: 'api.lake.maxResultBytes', as: 'number' },
  { env: 'OPENTRAIL_API_MAX_EVENT_DATA_STORES_PER_REGION', path: 'api.maxEventDataStoresPerRegion', as: 'number' },
  { env: 'OPENTRAIL_API_TRAIL_READS_PER_SECOND', path: 'api.trailReadsPerSecond', as: 'number' },
  { env: 'OPENTRAIL_API_TRAIL_WRITES_PER_SECOND', path: 'api.trailWritesPerSecond', as: 'number' },
  { env: 'OPENTRAIL_API_CHECK_TRAIL_RESOURCES', path: 'api.checkTrailResources', as: 'boolean' },
  { env: 'OPENTRAIL_API_NEW_TRAIL_ROLL_INTERVAL_SECONDS', path: 'api.newTrails.rollIntervalSeconds', as: 'number' },
  { env: 'OPENTRAIL_API_NEW_TRAIL_DIGEST_PERIOD_MINUTES', path: 'api.newTrails.digestPeriodMinutes', as: 'number' },
];
