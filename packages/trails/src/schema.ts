import { ACCOUNT_ID_PATTERN, REGION_PATTERN } from '@opentrail/cloudtrail';
import { z, type EnvBinding } from '@opentrail/config';
import { checkAdvancedSelectors, checkBasicSelectors } from './selectorRules.js';

/**
 * The `trails:` section of the shared configuration file: which events go to which bucket, how
 * they are selected (cloudtrail-spec.md §6), encrypted, rolled, announced and kept. Every service
 * that deals with trails (archiver, digester, notifier, the CloudTrail-compatible API) reads it
 * through this schema, so they agree on defaults.
 */

/** Trail names: 3–128 characters, ASCII letters, digits, `.` `_` `-`, starting and ending alphanumeric, no adjacent separators (spec §5.2). */
const TRAIL_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9]|[._-](?=[A-Za-z0-9]))*$/;
/** S3 bucket names (general purpose buckets): 3–63 lower-case letters, digits, dots and hyphens, alphanumeric at both ends. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
/** A KMS key id, key ARN, alias name or alias ARN. */
const KMS_KEY_ID = /^(?:arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:(?:key|alias)\/[\w/+=,.@-]+|alias\/[\w/+=,.@-]+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|mrk-[0-9a-f]{32})$/;
const SNS_TOPIC_ARN = /^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?$/;

const accountId = z.string().regex(ACCOUNT_ID_PATTERN, 'must be a 12-digit account id');
const region = z.string().regex(REGION_PATTERN, 'must be a region name such as us-east-1');

/** The largest log file CloudTrail writes, compressed (cloudtrail-spec.md §2.1). */
export const MAX_LOG_FILE_BYTES = 50 * 1024 * 1024;
/** The smallest size limit accepted: one 256 KB event compresses well below it in practice, and tests roll tiny files. */
export const MIN_LOG_FILE_BYTES = 16 * 1024;

export const READ_WRITE_TYPES = ['ReadOnly', 'WriteOnly', 'All'] as const;
/** The only sources a trail can leave out of its management events (spec §6.1). */
export const EXCLUDABLE_MANAGEMENT_SOURCES = ['kms.amazonaws.com', 'rdsdata.amazonaws.com'] as const;

export const BASIC_DATA_RESOURCE_TYPES = ['AWS::S3::Object', 'AWS::Lambda::Function', 'AWS::DynamoDB::Table'] as const;

export const dataResourceSchema = z.strictObject({
  /** The types basic selectors can log (spec §6.1); advanced selectors cover the others. */
  type: z.enum(BASIC_DATA_RESOURCE_TYPES, { message: `must be one of ${BASIC_DATA_RESOURCE_TYPES.join(', ')} (use advanced selectors for other types)` }),
  /**
   * ARNs: `arn:aws:s3` (every object), `arn:aws:s3:::bucket/` or `arn:aws:s3:::bucket/prefix` (a
   * prefix of object ARNs), `arn:aws:lambda` (every function) or one resource's full ARN.
   */
  values: z.array(z.string().regex(/^arn:/, 'must be an ARN (or ARN prefix) starting with arn:')).min(1, 'must list at least one ARN or ARN prefix'),
});

/** A basic event selector (cloudtrail-spec.md §6.1). */
export const eventSelectorSchema = z.strictObject({
  /** @default All */
  readWriteType: z.enum(READ_WRITE_TYPES).default('All'),
  /** @default true */
  includeManagementEvents: z.boolean().default(true),
  /** Data events to log. @default [] */
  dataResources: z.array(dataResourceSchema).default([]),
  /** Only kms.amazonaws.com and rdsdata.amazonaws.com may be left out. @default [] */
  excludeManagementEventSources: z.array(z.enum(EXCLUDABLE_MANAGEMENT_SOURCES)).default([]),
});

const operatorValues = z.array(z.string().min(1, 'must not be empty').max(2048)).min(1, 'must list at least one value');

/** One condition of an advanced event selector (cloudtrail-spec.md §6.2). */
export const fieldSelectorSchema = z.strictObject({
  field: z.string().min(1).max(1000),
  equals: operatorValues.optional(),
  startsWith: operatorValues.optional(),
  endsWith: operatorValues.optional(),
  notEquals: operatorValues.optional(),
  notStartsWith: operatorValues.optional(),
  notEndsWith: operatorValues.optional(),
});

/** An advanced event selector: every field selector must hold (AND); a trail logs what any of its selectors matches (OR). */
export const advancedEventSelectorSchema = z.strictObject({
  name: z.string().max(1000).optional(),
  fieldSelectors: z.array(fieldSelectorSchema).min(1, 'must hold at least one field selector'),
});

export const INSIGHT_TYPES = ['ApiCallRateInsight', 'ApiErrorRateInsight'] as const;
/** The event categories an Insights type analyses (PutInsightSelectors' EventCategories). */
export const INSIGHT_EVENT_CATEGORIES = ['Management', 'Data'] as const;
export const insightSelectorSchema = z.strictObject({
  insightType: z.enum(INSIGHT_TYPES),
  /** Kept as given, so that GetInsightSelectors returns what PutInsightSelectors set. @default unset (management events) */
  eventCategories: z.array(z.enum(INSIGHT_EVENT_CATEGORIES)).min(1).max(2).optional(),
});

export const encryptionSchema = z.discriminatedUnion('mode', [
  /** Server-side, S3-managed keys (AES256). The default. */
  z.strictObject({ mode: z.literal('SSE_S3') }),
  /** Server-side with a KMS key (aws:kms). */
  z.strictObject({ mode: z.literal('SSE_KMS'), kmsKeyId: z.string().regex(KMS_KEY_ID, 'must be a KMS key id, key ARN, alias/<name> or alias ARN') }),
  /** Client-side envelope encryption (S3 Encryption Client v2 layout): S3 never sees the plaintext. */
  z.strictObject({ mode: z.literal('CSE_KMS'), kmsKeyId: z.string().regex(KMS_KEY_ID, 'must be a KMS key id, key ARN, alias/<name> or alias ARN') }),
  /** No encryption header at all, for S3-compatible stores that refuse them. */
  z.strictObject({ mode: z.literal('NONE') }),
]);

export const rollSchema = z.strictObject({
  /** A file closes when its oldest record has waited this long. CloudTrail delivers about every 5 minutes. @default 60 */
  intervalSeconds: z.number().int().min(1).max(3600).default(60),
  /** A file closes before its compressed size would pass this. @default 52428800 (50 MB, CloudTrail's limit) */
  maxCompressedBytes: z.number().int().min(MIN_LOG_FILE_BYTES).max(MAX_LOG_FILE_BYTES, 'must be at most 52428800 (50 MB, CloudTrail\'s limit)').default(MAX_LOG_FILE_BYTES),
});

export const webhookSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }),
  /** HMAC-SHA256 signing secret. */
  secret: z.string().min(16, 'must be at least 16 characters').optional(),
  name: z.string().min(1).max(128).optional(),
});

export const notificationsSchema = z.strictObject({
  /** SNS topic for CloudTrail's `{"s3Bucket","s3ObjectKey":[...]}` notifications (spec §4). */
  snsTopicArn: z.string().regex(SNS_TOPIC_ARN, 'must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)').optional(),
  /**
   * The topic as CreateTrail/UpdateTrail's SnsTopicName named it (a name or an ARN): DescribeTrails
   * echoes it, as CloudTrail does. @default the last segment of snsTopicArn
   */
  snsTopicName: z.string().min(1).max(1024).optional(),
  webhooks: z.array(webhookSchema).default([]),
  /** Also publish to the notifications topic. @default false */
  kafka: z.boolean().default(false),
});

/** A CloudWatch Logs log group ARN, as CloudTrail takes it (`arn:aws:logs:<region>:<account>:log-group:<name>:*`). */
const LOG_GROUP_ARN = /^arn:aws[\w-]*:logs:[a-z0-9-]+:\d{12}:log-group:[\w./#-]{1,512}(?::\*)?$/;
const ROLE_ARN = /^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/**
 * CloudTrail's CloudWatch Logs delivery (CreateTrail's CloudWatchLogsLogGroupArn and
 * CloudWatchLogsRoleArn). opentrail does not deliver to CloudWatch Logs: the pair is stored and
 * echoed so that tools that set it (Terraform) read back what they wrote.
 */
export const cloudWatchLogsSchema = z.strictObject({
  logGroupArn: z.string().regex(LOG_GROUP_ARN, 'must be a CloudWatch Logs log group ARN (arn:aws:logs:<region>:<account>:log-group:<name>:*)'),
  roleArn: z.string().regex(ROLE_ARN, 'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)'),
});

export const digestsSchema = z.strictObject({
  /** Log file integrity validation (digest files, spec §3). @default true */
  enabled: z.boolean().default(true),
  /** @default 60 */
  periodMinutes: z.number().int().min(1).max(1440).default(60),
});

export const ARCHIVE_STORAGE_CLASSES = ['GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING'] as const;
export const lifecycleSchema = z
  .strictObject({
    expireAfterDays: z.number().int().min(1).optional(),
    archiveAfterDays: z.number().int().min(0).optional(),
    /** @default GLACIER when archiveAfterDays is set */
    archiveStorageClass: z.enum(ARCHIVE_STORAGE_CLASSES).optional(),
  })
  .superRefine((lifecycle, ctx) => {
    if (lifecycle.archiveStorageClass && lifecycle.archiveAfterDays === undefined) {
      ctx.addIssue({ code: 'custom', path: ['archiveAfterDays'], message: 'is required with archiveStorageClass' });
    }
    const storageClass = lifecycle.archiveStorageClass ?? 'GLACIER';
    if (lifecycle.archiveAfterDays !== undefined && (storageClass === 'STANDARD_IA' || storageClass === 'ONEZONE_IA') && lifecycle.archiveAfterDays < 30) {
      ctx.addIssue({ code: 'custom', path: ['archiveAfterDays'], message: `must be at least 30 for ${storageClass} (an S3 rule)` });
    }
    if (lifecycle.expireAfterDays !== undefined && lifecycle.archiveAfterDays !== undefined && lifecycle.expireAfterDays <= lifecycle.archiveAfterDays) {
      ctx.addIssue({ code: 'custom', path: ['expireAfterDays'], message: 'must be greater than archiveAfterDays' });
    }
  });

/** One trail. */
export const trailSchema = z
  .strictObject({
    name: z.string().min(3, 'must be 3 to 128 characters').max(128, 'must be 3 to 128 characters').regex(TRAIL_NAME, 'may hold ASCII letters, digits, ".", "_" and "-", must start and end with a letter or digit, and may not have two separators in a row'),
    /** The account that owns the trail (its ARN). */
    accountId,
    /** The region the trail was created in (its ARN; digest file names). */
    homeRegion: region,
    bucket: z.string().regex(BUCKET_NAME, 'must be an S3 bucket name: 3-63 lower-case letters, digits, "." and "-"'),
    /** S3KeyPrefix: keys start `<prefix>/AWSLogs/…`. */
    prefix: z
      .string()
      .min(1)
      .max(200, 'must be at most 200 characters')
      .refine((p) => !p.startsWith('/') && !p.endsWith('/'), 'must not start or end with "/"')
      .optional(),
    /** Accounts whose events the trail logs. @default all */
    accounts: z.union([z.literal('all'), z.array(accountId).min(1, 'must list at least one account, or be "all"')]).default('all'),
    /** For an organization trail: keys get the `o-…` segment (spec §2.1). */
    organizationId: z.string().regex(ORGANIZATION_ID, 'must be an organization id such as o-exampleorgid').optional(),
    /** Regions the trail logs; "all" makes it a multi-region trail. @default all */
    regions: z.union([z.literal('all'), z.array(region).min(1, 'must list at least one region, or be "all"')]).default('all'),
    /** IAM, STS and CloudFront events (delivered in us-east-1). @default true */
    includeGlobalServiceEvents: z.boolean().default(true),
    /** Basic selectors (at most 5). Default, with neither kind: every management event. */
    eventSelectors: z.array(eventSelectorSchema).max(5, 'at most 5 event selectors per trail').optional(),
    advancedEventSelectors: z.array(advancedEventSelectorSchema).min(1, 'must hold at least one selector').optional(),
    /** Insights types delivered to CloudTrail-Insight/ files. @default [] (Insights off, as in CloudTrail) */
    insightSelectors: z.array(insightSelectorSchema).default([]),
    /** @default { mode: SSE_S3 } */
    encryption: encryptionSchema.default({ mode: 'SSE_S3' }),
    roll: rollSchema.default({ intervalSeconds: 60, maxCompressedBytes: MAX_LOG_FILE_BYTES }),
    notifications: notificationsSchema.default({ webhooks: [], kafka: false }),
    /** Stored and echoed only (see cloudWatchLogsSchema). */
    cloudWatchLogs: cloudWatchLogsSchema.optional(),
    digests: digestsSchema.default({ enabled: true, periodMinutes: 60 }),
    lifecycle: lifecycleSchema.optional(),
    /** Add the enricher's findings to each record as `opentrailEnrichment`. @default false: records exactly as produced */
    includeEnrichment: z.boolean().default(false),
  })
  .superRefine((trail, ctx) => {
    if (trail.eventSelectors && trail.advancedEventSelectors) {
      ctx.addIssue({ code: 'custom', path: ['advancedEventSelectors'], message: 'cannot be used together with eventSelectors (spec §5.5: one or the other)' });
    }
    if (trail.eventSelectors) checkBasicSelectors(trail.eventSelectors, (path, message) => ctx.addIssue({ code: 'custom', path: ['eventSelectors', ...path], message }));
    if (trail.advancedEventSelectors) checkAdvancedSelectors(trail.advancedEventSelectors, (path, message) => ctx.addIssue({ code: 'custom', path: ['advancedEventSelectors', ...path], message }));
  });

export type Trail = z.output<typeof trailSchema>;
export type TrailInput = z.input<typeof trailSchema>;
export type EventSelector = z.output<typeof eventSelectorSchema>;
export type AdvancedEventSelector = z.output<typeof advancedEventSelectorSchema>;
export type FieldSelector = z.output<typeof fieldSelectorSchema>;
export type TrailEncryption = z.output<typeof encryptionSchema>;

function trailLabel(raw: unknown, index: number): string {
  const name = (raw as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name !== '' ? `trail "${name}"` : `trail #${index + 1}`;
}

/**
 * The `trails:` section: a list of trails. Every problem is reported with its zod path
 * (`trails.1.advancedEventSelectors.0.fieldSelectors.2.field`) and a message that names the trail,
 * so that a mistake in a long file is found at once. Names must be unique: deliveries, digests and
 * the API identify a trail by name.
 */
export const trailsSchema = z
  .array(z.unknown())
  .default([])
  .superRefine((list, ctx) => {
    const seen = new Map<string, number>();
    list.forEach((raw, index) => {
      const label = trailLabel(raw, index);
      const parsed = trailSchema.safeParse(raw);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          const message = issue.code === 'invalid_type' && issue.message.includes('received undefined') ? 'is required' : issue.message;
          ctx.addIssue({ code: 'custom', path: [index, ...issue.path], message: `${label}: ${message}` });
        }
        return;
      }
      const earlier = seen.get(parsed.data.name);
      if (earlier !== undefined) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `${label}: the name is already used by trail #${earlier + 1}` });
      else seen.set(parsed.data.name, index);
    });
  })
  .transform((list) => list.map((raw) => trailSchema.parse(raw)));

export type Trails = Trail[];

/** The whole `trails:` section as JSON in one environment variable (containers without a config file). */
export const trailsBindings: EnvBinding[] = [{ env: 'OPENTRAIL_TRAILS', path: 'trails', as: 'json' }];

/** Parses one trail, e.g. in tests and tools (defaults applied). Throws a ZodError. */
export function parseTrail(input: TrailInput): Trail {
  return trailSchema.parse(input);
}
