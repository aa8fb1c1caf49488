import { existsSync, statSync } from 'node:fs';
import { awsBindings, awsSchema, commonShape, consumerGroupBindings, consumerGroupShape, deliveryPolicyShape, z, type EnvBinding } from '@opentrail/config';

/** The rule packs that ship with the alerter (services/alerter/rules/<pack>). */
export const BUILTIN_PACKS = ['cis', 'sigma', 'thresholds', 'insights'] as const;
export type BuiltinPack = (typeof BUILTIN_PACKS)[number];

const SEVERITY = z.enum(['informational', 'low', 'medium', 'high', 'critical']);

const directory = z.string().refine((p) => existsSync(p) && statSync(p).isDirectory(), { message: 'is not a directory' });

export const webhookTargetSchema = z.strictObject({
  /** For logs and metrics. @default the URL */
  name: z.string().min(1).optional(),
  url: z.url({ message: 'must be an http(s) URL' }),
  /** HMAC-SHA256 key of the signatures (Standard Webhooks; a `whsec_<base64>` secret is decoded). */
  secret: z.string().min(16, 'must be at least 16 characters'),
  /** Alerts below this severity are not sent here. @default informational (everything) */
  minSeverity: SEVERITY.default('informational'),
  /** Extra request headers. */
  headers: z.record(z.string(), z.string()).optional(),
});

export const alerterSchema = z.strictObject({
  /** Consumer group of the rule evaluation (and prefix of the transactional ids and of the outputs group). @default opentrail-alerter */
  groupId: z.string().min(1).default('opentrail-alerter'),
  /** Directories of the operator's rule files (*.yml, *.yaml, searched recursively). @default none */
  ruleDirectories: z.array(directory).default([]),
  /** Built-in packs to load ("none" for none). @default all: cis, sigma, thresholds, insights */
  builtinPacks: z.array(z.enum([...BUILTIN_PACKS, 'none'])).default([...BUILTIN_PACKS]),
  /** Reload rule files when they change. @default true */
  hotReload: z.boolean().default(true),
  /** After an alert, repeats for the same rule and group within this long are not alerted. 0 alerts every match. @default 300 */
  suppressionSeconds: z.number().int().min(0).default(300),
  /** Group key of rules that name none. @default [recipientAccountId, userIdentity.arn] */
  defaultGroupBy: z.array(z.string().min(1)).default(['recipientAccountId', 'userIdentity.arn']),
  /**
   * How far behind the newest event time of a partition an event may arrive and still count toward
   * thresholds and Insights; minutes close this long after their end. @default 60
   */
  allowedLatenessSeconds: z.number().int().min(0).max(3600).default(60),
  /** The compacted topic of window state. @default <topics.prefix>alerter.state */
  stateTopic: z.string().regex(/^[A-Za-z0-9._-]+$/, 'may hold only letters, digits, ".", "_" and "-"').optional(),
  ...consumerGroupShape,
  insights: z
    .strictObject({
      /** Detect call-rate and error-rate anomalies and emit CloudTrail Insights records. @default true */
      enabled: z.boolean().default(true),
      /** Span of the exponentially weighted baseline, in minutes (CloudTrail: about seven days). @default 10080 */
      baselineMinutes: z.number().int().min(10).default(10_080),
      /** Minutes of history a series needs before it can raise an insight. @default 60 */
      minBaselineMinutes: z.number().int().min(1).default(60),
      /** Fewest calls (or errors) in a minute that can be unusual. @default 10 */
      minCount: z.number().int().min(1).default(10),
      /** Standard deviations above the baseline mean. @default 4 */
      zScore: z.number().positive().default(4),
      /** Times the baseline mean. @default 3 */
      ratio: z.number().min(1).default(3),
      /** Series (account, region, eventSource, eventName) held per partition; the least recently seen go first. @default 20000 */
      maxSeries: z.number().int().min(10).default(20_000),
    })
    .prefault({}),
  webhooks: z.array(webhookTargetSchema).default([]),
  sns: z
    .strictObject({
      topicArn: z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$/, 'must be an SNS topic ARN'),
      /** @default informational (everything) */
      minSeverity: SEVERITY.default('informational'),
    })
    .optional(),
  delivery: z.strictObject(deliveryPolicyShape).prefault({}),
});

export type AlerterConfig = z.output<typeof alerterSchema>;

export const configSchema = z.strictObject({
  ...commonShape,
  aws: awsSchema.prefault({}),
  alerter: alerterSchema.prefault({}),
});

export type Config = z.output<typeof configSchema>;

export const bindings: EnvBinding[] = [
  ...awsBindings,
  { env: 'OPENTRAIL_ALERTER_GROUP_ID', path: 'alerter.groupId' },
  { env: 'OPENTRAIL_ALERTER_RULE_DIRECTORIES', path: 'alerter.ruleDirectories', as: 'list' },
  { env: 'OPENTRAIL_ALERTER_BUILTIN_PACKS', path: 'alerter.builtinPacks', as: 'list' },
  { env: 'OPENTRAIL_ALERTER_HOT_RELOAD', path: 'alerter.hotReload', as: 'boolean' },
  { env: 'OPENTRAIL_ALERTER_SUPPRESSION_SECONDS', path: 'alerter.suppressionSeconds', as: 'number' },
  { env: 'OPENTRAIL_ALERTER_DEFAULT_GROUP_BY', path: 'alerter.defaultGroupBy', as: 'list' },
  { env: 'OPENTRAIL_ALERTER_ALLOWED_LATENESS_SECONDS', path: 'alerter.allowedLatenessSeconds', as: 'number' },
  { env: 'OPENTRAIL_ALERTER_STATE_TOPIC', path: 'alerter.stateTopic' },
  ...consumerGroupBindings('alerter'),
  { env: 'OPENTRAIL_ALERTER_INSIGHTS_ENABLED', path: 'alerter.insights.enabled', as: 'boolean' },
  { env: 'OPENTRAIL_ALERTER_INSIGHTS_BASELINE_MINUTES', path: 'alerter.insights.baselineMinutes', as: 'number' },
  { env: 'OPENTRAIL_ALERTER_INSIGHTS_MIN_BASELINE_MINUTES', path: 'alerter.insights.minBaselineMinutes', as: 'number' },
  { env: 'OPENTRAIL_ALERTER_INSIGHTS_MIN_COUNT', path: 'alerter.insights.minCount', as: 'number' },
  { env: 'OPENTRAIL_ALERTER_INSIGHTS_Z_SCORE', path: 'alerter.insights.zScore', as: 'number' },
  { env: 'OPENTRAIL_ALERTER_INSIGHTS_RATIO', path: 'alerter.insights.ratio', as: 'number' },
  { env: 'OPENTRAIL_ALERTER_INSIGHTS_MAX_SERIES', path: 'alerter.insights.maxSeries', as: 'number' },
  { env: 'OPENTRAIL_ALERTER_WEBHOOKS', path: 'alerter.webhooks', as: 'json' },
  { env: 'OPENTRAIL_ALERTER_SNS_TOPIC_ARN', path: 'alerter.sns.topicArn' },
  { env: 'OPENTRAIL_ALERTER_SNS_MIN_SEVERITY', path: 'alerter.sns.minSeverity' },
  { env: 'OPENTRAIL_ALERTER_DELIVERY_RETRIES', path: 'alerter.delivery.retries', as: 'number' },
  { env: 'OPENTRAIL_ALERTER_DELIVERY_TIMEOUT_MS', path: 'alerter.delivery.timeoutMs', as: 'number' },
];
