import { commonShape, z, type EnvBinding } from '@opentrail/config';
import { trailsBindings, trailsSchema } from '@opentrail/trails';

const TOPIC = z.string().regex(/^[A-Za-z0-9._-]+$/, 'may hold only letters, digits, ".", "_" and "-"');

/** An access key: `{accessKeyId, secretAccessKey}`, or `ACCESS_KEY_ID:SECRET` (environment variables). */
const accessKeySchema = z.union([
  z.strictObject({ accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1) }),
  z
    .string()
    .regex(/^[^:\s]+:\S+$/, 'must be ACCESS_KEY_ID:SECRET_ACCESS_KEY')
    .transform((s) => ({ accessKeyId: s.slice(0, s.indexOf(':')), secretAccessKey: s.slice(s.indexOf(':') + 1) })),
]);

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
  /** A request's X-Amz-Date may differ from the server clock by this much. @default 300 (AWS's 5 minutes) */
  maxClockSkewSeconds: z.number().int().min(1).max(3600).default(300),
  /** The digester's compacted keys topic. @default <topics.prefix>digester.keys */
  keysTopic: TOPIC.optional(),
  /** Largest request body accepted. @default 1048576 */
  maxBodyBytes: z.number().int().min(1024).default(1024 * 1024),
});

export type ApiConfig = z.output<typeof apiSchema>;

export const configSchema = z.strictObject({
  ...commonShape,
  trails: trailsSchema,
  api: apiSchema.prefault({}),
});

export type Config = z.output<typeof configSchema>;

export const bindings: EnvBinding[] = [
  ...trailsBindings,
  { env: 'OPENTRAIL_API_PORT', path: 'api.port', as: 'number' },
  { env: 'OPENTRAIL_API_HOST', path: 'api.host' },
  { env: 'OPENTRAIL_API_ACCESS_KEYS', path: 'api.accessKeys', as: 'list' },
  { env: 'OPENTRAIL_API_MAX_CLOCK_SKEW_SECONDS', path: 'api.maxClockSkewSeconds', as: 'number' },
  { env: 'OPENTRAIL_API_KEYS_TOPIC', path: 'api.keysTopic' },
  { env: 'OPENTRAIL_API_MAX_BODY_BYTES', path: 'api.maxBodyBytes', as: 'number' },
];
