import { awsBindings, awsSchema, commonShape, consumerGroupBindings, consumerGroupShape, deliveryPolicyShape, z, type EnvBinding } from '@opentrail/config';
import { trailsBindings, trailsSchema } from '@opentrail/trails';
import { targetName } from '@opentrail/webhooks';

/** SNS refuses messages over 256 KiB (message and attributes together). */
export const SNS_MAX_MESSAGE_BYTES = 262_144;
/**
 * The default limit stays below SNS's: an SQS subscriber receives the message inside SNS's JSON
 * envelope (every quote of the message escaped, plus about 1.5 KB of fields), and SQS refuses
 * bodies over 256 KiB too. 224 KiB leaves room for both.
 */
export const DEFAULT_SNS_MESSAGE_BYTES = 229_376;

/** Delivery kinds webhooks and the notifications topic can announce; SNS announces log files only (README, "What is notified"). */
export const NOTIFIABLE_KINDS = ['LOG', 'INSIGHT', 'DIGEST'] as const;

export const notifierSchema = z.strictObject({
  /** Prefix of the consumer groups: each target reads the deliveries in a group of its own, `<groupId>.<target>`. @default opentrail-notifier */
  groupId: z.string().min(1).default('opentrail-notifier'),
  /** Where notifications a target gave up on go (and undecodable deliveries). @default <topics.prefix>notifications.dlq */
  deadLetterTopic: z.string().regex(/^[A-Za-z0-9._-]+$/, 'may hold only letters, digits, ".", "_" and "-"').optional(),
  /** Kinds of delivery announced to webhooks and the notifications topic. SNS always announces LOG only, as CloudTrail does. @default [LOG, INSIGHT] */
  kinds: z.array(z.enum(NOTIFIABLE_KINDS)).min(1, 'must list at least one kind').default(['LOG', 'INSIGHT']),
  /**
   * Where a target's consumer group starts the first time it runs (a target added later, or the
   * first deployment): latest announces only what is delivered from then on, as CloudTrail does
   * when a topic is added to a trail; earliest announces the whole deliveries topic. @default latest
   */
  newTargetsStartAt: z.enum(['latest', 'earliest']).default('latest'),
  sns: z
    .strictObject({
      /** Keys of one trail delivered within this window share one SNS message (CloudTrail lists several keys per message). @default 1000 */
      batchWindowMs: z.number().int().min(0).max(60_000).default(1000),
      /** Upper bound of one message, attributes included; SNS refuses more than 262144. @default 229376 (room for the SNS→SQS envelope) */
      maxMessageBytes: z.number().int().min(4096).max(SNS_MAX_MESSAGE_BYTES, `must be at most ${SNS_MAX_MESSAGE_BYTES} (SNS's limit)`).default(DEFAULT_SNS_MESSAGE_BYTES),
      /** Create the trails' SNS topics at start if missing (local stacks and demos). @default false */
      createTopics: z.boolean().default(false),
    })
    .prefault({}),
  delivery: z
    .strictObject({
      ...deliveryPolicyShape,
      /** Notifications (webhook requests, SNS messages) in flight at once per target. @default 4 */
      concurrency: z.number().int().min(1).max(64).default(4),
      /** Notifications not yet sent per target and partition; at this many the target stops reading that partition until some finish. @default 256 */
      maxInFlight: z.number().int().min(1).max(100_000).default(256),
    })
    .prefault({}),
  /** How often finished notifications are committed and dead letters produced. @default 500 */
  commitIntervalMs: z.number().int().min(50).max(60_000).default(500),
  /** On SIGTERM, how long notifications in flight may finish; what is left is re-sent by the next owner. @default 10000 */
  shutdownGraceMs: z.number().int().min(0).max(25_000).default(10_000),
  ...consumerGroupShape,
});

export type NotifierConfig = z.output<typeof notifierSchema>;

export const configSchema = z
  .strictObject({
    ...commonShape,
    aws: awsSchema.prefault({}),
    trails: trailsSchema,
    notifier: notifierSchema.prefault({}),
  })
  .superRefine((config, ctx) => {
    // Webhook targets are identified by name (metrics, breaker, consumer group): one name, one receiver.
    const seen = new Map<string, { url: string; secret: string | undefined }>();
    config.trails.forEach((trail, t) => {
      trail.notifications.webhooks.forEach((webhook, w) => {
        const path = ['trails', t, 'notifications', 'webhooks', w];
        if (!webhook.secret) {
          ctx.addIssue({ code: 'custom', path: [...path, 'secret'], message: `trail "${trail.name}": the notifier signs every webhook; set a secret of at least 16 characters` });
          return;
        }
        const name = targetName({ url: webhook.url, secret: webhook.secret, ...(webhook.name ? { name: webhook.name } : {}) });
        const earlier = seen.get(name);
        if (earlier && (earlier.url !== webhook.url || earlier.secret !== webhook.secret)) {
          ctx.addIssue({ code: 'custom', path: [...path, 'name'], message: `trail "${trail.name}": webhook "${name}" is already defined with another URL or secret; give it another name` });
        } else seen.set(name, { url: webhook.url, secret: webhook.secret });
      });
    });
  });

export type Config = z.output<typeof configSchema>;

export const bindings: EnvBinding[] = [
  ...awsBindings,
  ...trailsBindings,
  { env: 'OPENTRAIL_NOTIFIER_GROUP_ID', path: 'notifier.groupId' },
  { env: 'OPENTRAIL_NOTIFIER_DEAD_LETTER_TOPIC', path: 'notifier.deadLetterTopic' },
  { env: 'OPENTRAIL_NOTIFIER_KINDS', path: 'notifier.kinds', as: 'list' },
  { env: 'OPENTRAIL_NOTIFIER_NEW_TARGETS_START_AT', path: 'notifier.newTargetsStartAt' },
  { env: 'OPENTRAIL_NOTIFIER_SNS_BATCH_WINDOW_MS', path: 'notifier.sns.batchWindowMs', as: 'number' },
  { env: 'OPENTRAIL_NOTIFIER_SNS_MAX_MESSAGE_BYTES', path: 'notifier.sns.maxMessageBytes', as: 'number' },
  { env: 'OPENTRAIL_NOTIFIER_SNS_CREATE_TOPICS', path: 'notifier.sns.createTopics', as: 'boolean' },
  { env: 'OPENTRAIL_NOTIFIER_DELIVERY_RETRIES', path: 'notifier.delivery.retries', as: 'number' },
  { env: 'OPENTRAIL_NOTIFIER_DELIVERY_INITIAL_DELAY_MS', path: 'notifier.delivery.initialDelayMs', as: 'number' },
  { env: 'OPENTRAIL_NOTIFIER_DELIVERY_MAX_DELAY_MS', path: 'notifier.delivery.maxDelayMs', as: 'number' },
  { env: 'OPENTRAIL_NOTIFIER_DELIVERY_TIMEOUT_MS', path: 'notifier.delivery.timeoutMs', as: 'number' },
  { env: 'OPENTRAIL_NOTIFIER_DELIVERY_BREAKER_FAILURES', path: 'notifier.delivery.breakerFailures', as: 'number' },
  { env: 'OPENTRAIL_NOTIFIER_DELIVERY_BREAKER_RESET_MS', path: 'notifier.delivery.breakerResetMs', as: 'number' },
  { env: 'OPENTRAIL_NOTIFIER_DELIVERY_CONCURRENCY', path: 'notifier.delivery.concurrency', as: 'number' },
  { env: 'OPENTRAIL_NOTIFIER_DELIVERY_MAX_IN_FLIGHT', path: 'notifier.delivery.maxInFlight', as: 'number' },
  { env: 'OPENTRAIL_NOTIFIER_COMMIT_INTERVAL_MS', path: 'notifier.commitIntervalMs', as: 'number' },
  { env: 'OPENTRAIL_NOTIFIER_SHUTDOWN_GRACE_MS', path: 'notifier.shutdownGraceMs', as: 'number' },
  ...consumerGroupBindings('notifier'),
];
