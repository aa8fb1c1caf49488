import { parseArgs } from 'node:util';
import { apiTarget, outputFormat, UsageError } from '../history/arguments.js';

/**
 * `opentrail trails <subcommand>`: each subcommand is one CloudTrail operation, its options the
 * AWS CLI's (`aws cloudtrail create-trail --s3-bucket-name …`), so that what one knows of the one
 * works in the other. This module only reads arguments into the operation's request; it calls
 * nothing, so that a unit test can check every option.
 */
export const SUBCOMMANDS = ['create', 'update', 'delete', 'start', 'stop', 'status', 'list'] as const;
export type TrailsSubcommand = (typeof SUBCOMMANDS)[number];

const OPERATIONS: Record<TrailsSubcommand, string> = {
  create: 'CreateTrail',
  update: 'UpdateTrail',
  delete: 'DeleteTrail',
  start: 'StartLogging',
  stop: 'StopLogging',
  status: 'GetTrailStatus',
  list: 'DescribeTrails',
};

const COMMON_HELP = `  --output table|json  default table
  --region REGION      the region of the trail (default AWS_REGION, else us-east-1)
  --endpoint-url URL   the API (default OPENTRAIL_API_URL, else http://127.0.0.1:8090)

Requests are signed with Signature V4 like the AWS CLI's, with credentials from AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY (or a profile). A refusal prints the API's error code and message and exits 1.
`;

const SETTINGS_HELP = `  --s3-bucket-name BUCKET              where log files go
  --s3-key-prefix PREFIX
  --sns-topic-name TOPIC               name or ARN of the topic notified of each delivery
  --[no-]include-global-service-events
  --[no-]is-multi-region-trail
  --[no-]enable-log-file-validation    digest files
  --[no-]is-organization-trail
  --kms-key-id KEY                     SSE-KMS key (id, ARN or alias)
  --cloud-watch-logs-log-group-arn ARN
  --cloud-watch-logs-role-arn ARN
`;

export const HELP: Record<TrailsSubcommand | 'trails', string> = {
  trails: `usage: opentrail trails <subcommand> [options]

Creates, changes and stops trails through the CloudTrail API (the same calls as aws cloudtrail ...).

  create NAME --s3-bucket-name BUCKET [settings] [--tag KEY=VALUE]...   CreateTrail
  update NAME [settings]                                                UpdateTrail
  delete NAME                                                           DeleteTrail
  start NAME                                                            StartLogging
  stop NAME                                                             StopLogging
  status NAME                                                           GetTrailStatus
  list [NAME|ARN]... [--no-shadow-trails]                               DescribeTrails

NAME is a trail name or ARN (or --name NAME). opentrail trails <subcommand> --help for its options.
`,
  create: `usage: opentrail trails create NAME --s3-bucket-name BUCKET [options]

Creates a trail (CreateTrail). It starts logging once started: opentrail trails start NAME.

${SETTINGS_HELP}  --tag KEY=VALUE                      a tag (repeat for more)
${COMMON_HELP}`,
  update: `usage: opentrail trails update NAME [options]

Changes a trail's settings (UpdateTrail); what is not given stays as it is.

${SETTINGS_HELP}${COMMON_HELP}`,
  delete: `usage: opentrail trails delete NAME [options]

Deletes a trail (DeleteTrail): it stops delivering; delivered files stay.

${COMMON_HELP}`,
  start: `usage: opentrail trails start NAME [options]

Starts logging (StartLogging).

${COMMON_HELP}`,
  stop: `usage: opentrail trails stop NAME [options]

Stops logging (StopLogging): no log files are delivered until it starts again.

${COMMON_HELP}`,
  status: `usage: opentrail trails status NAME [options]

Whether the trail logs, and when it last delivered, digested and notified (GetTrailStatus).

${COMMON_HELP}`,
  list: `usage: opentrail trails list [NAME|ARN]... [options]

The trails of the region, or the ones named (DescribeTrails).

  --no-shadow-trails   leave out multi-region and organization trails of other home regions
${COMMON_HELP}`,
};

export type TrailsInvocation =
  | { kind: 'help'; text: string }
  | { kind: 'call'; subcommand: TrailsSubcommand; operation: string; input: Record<string, unknown>; format: 'table' | 'json'; target: { endpoint: string; region: string } };

const TARGET_OPTIONS = {
  output: { type: 'string' },
  region: { type: 'string' },
  'endpoint-url': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  name: { type: 'string' },
} as const;

/** Settings CreateTrail and UpdateTrail share: option → request member. */
const STRING_SETTINGS = {
  's3-bucket-name': 'S3BucketName',
  's3-key-prefix': 'S3KeyPrefix',
  'sns-topic-name': 'SnsTopicName',
  'kms-key-id': 'KmsKeyId',
  'cloud-watch-logs-log-group-arn': 'CloudWatchLogsLogGroupArn',
  'cloud-watch-logs-role-arn': 'CloudWatchLogsRoleArn',
} as const;
const BOOLEAN_SETTINGS = {
  'include-global-service-events': 'IncludeGlobalServiceEvents',
  'is-multi-region-trail': 'IsMultiRegionTrail',
  'enable-log-file-validation': 'EnableLogFileValidation',
  'is-organization-trail': 'IsOrganizationTrail',
} as const;

const SETTINGS_OPTIONS = {
  ...Object.fromEntries(Object.keys(STRING_SETTINGS).map((k) => [k, { type: 'string' as const }])),
  ...Object.fromEntries(Object.keys(BOOLEAN_SETTINGS).map((k) => [k, { type: 'boolean' as const }])),
};

/** `KEY=VALUE` → `{Key, Value}` (a tag's value may be empty, as CloudTrail allows; its key may not). */
export function tagArgument(text: string): { Key: string; Value: string } {
  const at = text.indexOf('=');
  if (at <= 0) throw new UsageError(`--tag ${JSON.stringify(text)}: expected KEY=VALUE`);
  return { Key: text.slice(0, at), Value: text.slice(at + 1) };
}

/** Reads `opentrail trails …` arguments (after `trails`). Throws UsageError (or parseArgs' ERR_PARSE_ARGS_* errors). */
export function parseTrailsArguments(argv: string[]): TrailsInvocation {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') return { kind: 'help', text: HELP.trails };
  if (!(SUBCOMMANDS as readonly string[]).includes(first)) throw new UsageError(`unknown subcommand ${JSON.stringify(first)}: one of ${SUBCOMMANDS.join(', ')}`);
  const subcommand = first as TrailsSubcommand;
  const settings = subcommand === 'create' || subcommand === 'update';
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    allowNegative: true,
    strict: true,
    options: {
      ...TARGET_OPTIONS,
      ...(settings ? SETTINGS_OPTIONS : {}),
      ...(subcommand === 'create' ? { tag: { type: 'string' as const, multiple: true } } : {}),
      ...(subcommand === 'list' ? { 'shadow-trails': { type: 'boolean' as const } } : {}),
    },
  });
  if (values.help) return { kind: 'help', text: HELP[subcommand] };
  const format = outputFormat(values.output);
  const target = apiTarget(values);
  const v = values as Record<string, unknown>;

  if (subcommand === 'list') {
    const names = [...positionals, ...(values.name !== undefined ? [values.name] : [])];
    const input: Record<string, unknown> = {};
    if (names.length) input.trailNameList = names;
    if (v['shadow-trails'] === false) input.includeShadowTrails = false;
    return { kind: 'call', subcommand, operation: OPERATIONS[subcommand], input, format, target };
  }

  if (positionals.length > 1) throw new UsageError(`one trail at a time; got ${positionals.length} names`);
  if (positionals.length === 1 && values.name !== undefined) throw new UsageError('name the trail once: NAME or --name NAME');
  const name = positionals[0] ?? values.name;
  if (name === undefined || name === '') throw new UsageError('name the trail: NAME or --name NAME');
  const input: Record<string, unknown> = { Name: name };
  if (settings) {
    for (const [option, member] of Object.entries(STRING_SETTINGS)) if (typeof v[option] === 'string') input[member] = v[option];
    for (const [option, member] of Object.entries(BOOLEAN_SETTINGS)) if (typeof v[option] === 'boolean') input[member] = v[option];
    if (subcommand === 'create' && input.S3BucketName === undefined) throw new UsageError('create needs --s3-bucket-name');
    if (subcommand === 'update' && Object.keys(input).length === 1) throw new UsageError('update needs at least one setting to change');
  }
  const tags = v.tag as string[] | undefined;
  if (tags?.length) input.TagsList = tags.map(tagArgument);
  return { kind: 'call', subcommand, operation: OPERATIONS[subcommand], input, format, target };
}
