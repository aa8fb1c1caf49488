import { awsBindings, awsSchema, commonShape, consumerGroupBindings, consumerGroupShape, z, type EnvBinding } from '@opentrail/config';
import { trailsBindings, trailsSchema } from '@opentrail/trails';

const TOPIC = z.string().regex(/^[A-Za-z0-9._-]+$/, 'may hold only letters, digits, ".", "_" and "-"');
const INSTANT = z.iso.datetime({ message: 'must be an ISO-8601 UTC time such as 2026-01-01T00:00:00Z' });

/** `type` may be left out for local keys (environment variables set only keyDir). */
const withLocalDefault = (v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) && !('type' in v) ? { type: 'local', ...v } : v);

export const signingSchema = z.preprocess(withLocalDefault, z.discriminatedUnion('type', [
  /**
   * RSA private keys in a directory, `digest-key-<YYYYMMDDTHHMMSSZ>.pem` (PKCS#8 or PKCS#1 PEM), the
   * stamp being the key's validity start. Rotation: add a file with a later stamp. Every instance of
   * one deployment must see the same directory.
   */
  z.strictObject({
    type: z.literal('local'),
    /** @default .opentrail/digest-keys */
    keyDir: z.string().min(1).default('.opentrail/digest-keys'),
    /** Generate an RSA-2048 key when the directory holds none. @default true */
    generate: z.boolean().default(true),
    /** How often the directory is read again for new keys. @default 60000 */
    rescanIntervalMs: z.number().int().min(1000).default(60_000),
  }),
  /** KMS asymmetric keys (RSA_2048+, SIGN_VERIFY); each signs from its validFrom until the next one's. */
  z.strictObject({
    type: z.literal('kms'),
    keys: z
      .array(
        z.strictObject({
          keyId: z.string().min(1),
          /** @default the key's CreationDate */
          validFrom: INSTANT.optional(),
        }),
      )
      .min(1, 'must name at least one KMS key'),
  }),
]));

export const digesterSchema = z.strictObject({
  /** Consumer group of the deliveries consumer. @default opentrail-digester */
  groupId: z.string().min(1).default('opentrail-digester'),
  /** Prefix of the transactional ids; the same for every instance of one deployment. @default the groupId */
  transactionalIdPrefix: z.string().min(1).optional(),
  /** Compacted topic of chain heads (last digest per group). @default <topics.prefix>digester.state */
  stateTopic: TOPIC.optional(),
  /** Compacted topic of public keys, read by the API for ListPublicKeys. @default <topics.prefix>digester.keys */
  keysTopic: TOPIC.optional(),
  signing: signingSchema.prefault({ type: 'local' }),
  /**
   * How long after a period ends its digest is written, for delivery records still on their way
   * (a later one goes into the next digest, as with CloudTrail). @default 10000
   */
  graceMs: z.number().int().min(0).max(600_000).default(10_000),
  /**
   * Overrides every trail's digests.periodMinutes with a period in seconds. For tests only: CloudTrail
   * writes hourly digests and users set periodMinutes (≥ 1). @default unset
   */
  testPeriodSeconds: z.number().int().min(5).max(3600).optional(),
  /**
   * A group silent (digester down) for more periods than this restarts its chain with a starting
   * digest instead of writing every missed empty digest. @default 168
   */
  maxCatchUpPeriods: z.number().int().min(1).max(100_000).default(168),
  /**
   * After StopLogging or DeleteTrail, how long the trail's last log files may take to be delivered:
   * the final digest is the one of the first period ending this long after the stop (at least a
   * roll interval plus the archiver's lag). @default 120000
   */
  stopDrainMs: z.number().int().min(0).max(3_600_000).default(120_000),
  /** How often groups are checked for a due digest. @default 1000 */
  flushIntervalMs: z.number().int().min(100).max(60_000).default(1000),
  /** One S3 or KMS attempt is abandoned (and retried) after this long. @default 30000 */
  requestTimeoutMs: z.number().int().min(1000).default(30_000),
  /** Create missing buckets at start (local stacks and demos). @default false */
  createBuckets: z.boolean().default(false),
  ...consumerGroupShape,
});

export type DigesterConfig = z.output<typeof digesterSchema>;

export const configSchema = z.strictObject({
  ...commonShape,
  aws: awsSchema.prefault({}),
  /** Seeds the trail catalog; may be empty: trails then come from the trails topic (the API's CreateTrail). */
  trails: trailsSchema,
  digester: digesterSchema.prefault({}),
});

export type Config = z.output<typeof configSchema>;

export const bindings: EnvBinding[] = [
  ...awsBindings,
  ...trailsBindings,
  { env: 'OPENTRAIL_DIGESTER_GROUP_ID', path: 'digester.groupId' },
  { env: 'OPENTRAIL_DIGESTER_TRANSACTIONAL_ID_PREFIX', path: 'digester.transactionalIdPrefix' },
  { env: 'OPENTRAIL_DIGESTER_STATE_TOPIC', path: 'digester.stateTopic' },
  { env: 'OPENTRAIL_DIGESTER_KEYS_TOPIC', path: 'digester.keysTopic' },
  { env: 'OPENTRAIL_DIGESTER_SIGNING_TYPE', path: 'digester.signing.type' },
  { env: 'OPENTRAIL_DIGESTER_KEY_DIR', path: 'digester.signing.keyDir' },
  { env: 'OPENTRAIL_DIGESTER_KEY_RESCAN_INTERVAL_MS', path: 'digester.signing.rescanIntervalMs', as: 'number' },
  { env: 'OPENTRAIL_DIGESTER_KMS_KEY_IDS', path: 'digester.signing.keys', as: 'json' },
  { env: 'OPENTRAIL_DIGESTER_STOP_DRAIN_MS', path: 'digester.stopDrainMs', as: 'number' },
  { env: 'OPENTRAIL_DIGESTER_GRACE_MS', path: 'digester.graceMs', as: 'number' },
  { env: 'OPENTRAIL_DIGESTER_TEST_PERIOD_SECONDS', path: 'digester.testPeriodSeconds', as: 'number' },
  { env: 'OPENTRAIL_DIGESTER_MAX_CATCH_UP_PERIODS', path: 'digester.maxCatchUpPeriods', as: 'number' },
  { env: 'OPENTRAIL_DIGESTER_FLUSH_INTERVAL_MS', path: 'digester.flushIntervalMs', as: 'number' },
  { env: 'OPENTRAIL_DIGESTER_REQUEST_TIMEOUT_MS', path: 'digester.requestTimeoutMs', as: 'number' },
  { env: 'OPENTRAIL_DIGESTER_CREATE_BUCKETS', path: 'digester.createBuckets', as: 'boolean' },
  ...consumerGroupBindings('digester'),
];
