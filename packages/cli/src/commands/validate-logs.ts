import { AwsClients } from '@opentrail/aws';
import { awsBindings, awsSchema, loadConfig, z } from '@opentrail/config';
import { CloudTrailApiClient, hasInvalid, S3ObjectStore, validateLogs } from '@opentrail/integrity';
import { UsageError } from '../history/arguments.js';
import { parseCommandLine } from './commandLine.js';

const HELP = `usage: opentrail validate-logs --trail-arn ARN --start-time TIME [--end-time TIME]
                              [--s3-bucket BUCKET] [--s3-prefix PREFIX] [--account-id ID]
                              [--region REGION] [--endpoint-url URL] [--verbose]

Validates a trail's digest and log files as \`aws cloudtrail validate-logs\` does: walks the digest
chain newest to oldest, checks every digest's signature (public keys from ListPublicKeys) and every
log file's SHA-256, and reports each modified, deleted, moved or missing file in the CLI's words.
Exit status 1 when anything is invalid.

  --trail-arn ARN      arn:aws:cloudtrail:<home region>:<account>:trail/<name>
  --start-time TIME    ISO-8601 (UTC unless it says otherwise)
  --end-time TIME      default now
  --s3-bucket BUCKET   the trail's bucket (default: DescribeTrails)
  --s3-prefix PREFIX   the trail's key prefix (with --s3-bucket)
  --account-id ID      the member account, for organization trails
  --region REGION      the region whose digests are validated (default: the trail's home region)
  --endpoint-url URL   the CloudTrail API (default OPENTRAIL_API_URL, else http://127.0.0.1:8090)
  --verbose            also print every valid file

S3 is reached through OPENTRAIL_AWS_ENDPOINT / OPENTRAIL_AWS_REGION (or the aws: section of
OPENTRAIL_CONFIG_FILE); credentials, for S3 and the API's Signature V4, from the AWS SDK's chain.
A progress bar goes to stderr when it is a terminal.
`;

const ARN = /^arn:.+:cloudtrail:.+:\d{12}:trail\/.+/;

/** A time as the CLI's dateutil takes it; without a zone it is UTC (the CLI's normalize_date). */
function parseTime(text: string, name: string): number {
  const withZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(text.trim()) || !/\d{2}:\d{2}/.test(text) ? text.trim() : `${text.trim()}Z`;
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(withZone) ? `${withZone}T00:00:00Z` : withZone);
  if (!Number.isFinite(ms)) throw new UsageError(`Unable to parse date value: ${text} (${name})`);
  return ms;
}

/** Draws `[#####-----] 12/240 digests` on one stderr line, cleared before any other stderr output. */
class ProgressBar {
  private shown = false;
  constructor(private readonly enabled: boolean) {}
  update(done: number, total: number) {
    if (!this.enabled || total < 10) return;
    const width = 30;
    const filled = Math.min(width, Math.round((done / total) * width));
    process.stderr.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} digests`);
    this.shown = true;
  }
  clear() {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}

export async function validateLogsCommand(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    {
      args: argv,
      options: {
        'trail-arn': { type: 'string' },
        'start-time': { type: 'string' },
        'end-time': { type: 'string' },
        's3-bucket': { type: 'string' },
        's3-prefix': { type: 'string' },
        'account-id': { type: 'string' },
        region: { type: 'string' },
        'endpoint-url': { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    HELP,
  );
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const trailArn = values['trail-arn'];
  if (!trailArn || !values['start-time']) {
    process.stderr.write(`--trail-arn and --start-time are required\n${HELP}`);
    return 2;
  }
  let startMs: number;
  let endMs: number;
  try {
    if (!ARN.test(trailArn)) throw new UsageError(`Invalid trail ARN provided: ${trailArn}`);
    startMs = parseTime(values['start-time'], '--start-time');
    endMs = values['end-time'] ? parseTime(values['end-time'], '--end-time') : Date.now();
    if (startMs > endMs) throw new UsageError('Invalid time range specified: start-time must occur before end-time');
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`opentrail validate-logs: ${err.message}\n`);
    return 2;
  }

  const homeRegion = trailArn.split(':')[3]!;
  const trailName = trailArn.slice(trailArn.lastIndexOf('/') + 1);
  const sourceRegion = values.region ?? homeRegion;
  const { config } = loadConfig(z.object({ aws: awsSchema.prefault({}) }), { bindings: awsBindings });
  const aws = new AwsClients({ ...config.aws, region: sourceRegion });
  try {
    const api = new CloudTrailApiClient({
      endpoint: values['endpoint-url'] ?? process.env.OPENTRAIL_API_URL ?? 'http://127.0.0.1:8090',
      region: sourceRegion,
      // The SDK's default chain (environment, profiles, ...), as the S3 client resolves it.
      credentials: () => aws.s3.config.credentials(),
    });
    const store = new S3ObjectStore(aws.s3);
    let bucket = values['s3-bucket'];
    let prefix = values['s3-prefix'];
    let organizationId: string | undefined;
    let accountId = values['account-id'];
    if (!bucket) {
      const trail = (await api.describeTrails()).trailList.find((t) => t.TrailARN === trailArn);
      if (!trail) throw new Error(`A trail could not be found for ${trailArn}`);
      bucket = trail.S3BucketName;
      prefix = trail.S3KeyPrefix;
      if (trail.IsOrganizationTrail) {
        if (!accountId) throw new Error("Missing required parameter for organization trail: '--account-id'");
        // The o-… key segment: the one organization folder under AWSLogs/ (no Organizations API here).
        const folders = (await store.listFolders(bucket, `${prefix ? `${prefix}/` : ''}AWSLogs/`)).map((f) => f.split('/').at(-2)!).filter((f) => /^o-[a-z0-9]+$/.test(f));
        if (folders.length !== 1) throw new Error(`cannot tell the organization id of ${trailArn}: ${folders.length} o-… folders under AWSLogs/`);
        organizationId = folders[0];
      }
    }
    accountId ??= trailArn.split(':')[4]!;

    const bar = new ProgressBar(process.stderr.isTTY === true);
    const summary = await validateLogs({
      store,
      keys: api,
      trailArn,
      scope: { accountId, trailName, homeRegion, sourceRegion, organizationId: organizationId ?? null },
      bucket,
      ...(prefix ? { prefix } : {}),
      startMs,
      endMs,
      verbose: values.verbose === true,
      stdout: (text) => {
        bar.clear();
        process.stdout.write(text);
      },
      stderr: (text) => {
        bar.clear();
        process.stderr.write(text);
      },
      onProgress: (done, total) => bar.update(done, total),
    });
    bar.clear();
    return hasInvalid(summary) ? 1 : 0;
  } finally {
    aws.destroy();
  }
}
