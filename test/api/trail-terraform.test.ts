import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { CloudTrailClient, GetEventSelectorsCommand, GetInsightSelectorsCommand, GetTrailCommand, GetTrailStatusCommand, ListTagsCommand, ListTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackEndpoints } from '../helpers/env.js';
import { ACCOUNT, awsClients, cloudTrailKeyPolicy, createTrailBucket, KEY, REGION, startTrailApi, uniqueBucket, type TrailApi } from './trail-helpers.js';

/**
 * Terraform's AWS provider (5.100.0, from a filesystem mirror: no network) drives `aws_cloudtrail`
 * against opentrail's endpoint: apply, a second plan with no changes, an update, destroy. The
 * provider reads back through GetTrail/DescribeTrails, GetTrailStatus, GetEventSelectors,
 * GetInsightSelectors and ListTags; any member that differs from what it wrote shows as drift.
 *
 * Needs `terraform` (PATH or OPENTRAIL_TERRAFORM) and the provider mirror (OPENTRAIL_TF_PLUGIN_DIR,
 * default /opt/tf-plugins). Without them the test fails, naming what is missing: it never skips.
 */
const run = promisify(execFile);
const PROVIDER_VERSION = '5.100.0';

function terraformPath(): string {
  const given = process.env.OPENTRAIL_TERRAFORM;
  if (given) return given;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && existsSync(join(dir, 'terraform'))) return join(dir, 'terraform');
  throw new Error('terraform is not installed: put it on PATH or set OPENTRAIL_TERRAFORM (the CI machine needs Terraform >= 1.5 and the hashicorp/aws 5.100.0 provider mirror)');
}

function pluginDir(): string {
  const dir = process.env.OPENTRAIL_TF_PLUGIN_DIR ?? '/opt/tf-plugins';
  const provider = join(dir, 'registry.terraform.io', 'hashicorp', 'aws', PROVIDER_VERSION);
  if (!existsSync(provider)) throw new Error(`the hashicorp/aws ${PROVIDER_VERSION} provider is not in the filesystem mirror ${dir} (set OPENTRAIL_TF_PLUGIN_DIR)`);
  return dir;
}

let api: TrailApi;
let dir: string;
let terraform: string;
const aws = awsClients();
const bucket = uniqueBucket('trail-tf');
const stamp = Date.now().toString(36);
const basicName = `tf-basic-${stamp}`;
const advancedName = `tf-advanced-${stamp}`;
let keyArn: string;
let topicArn: string;

interface Result {
  code: number;
  out: string;
}

async function tf(args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(terraform, args, {
      cwd: dir,
      timeout: 300_000,
      maxBuffer: 1 << 24,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        TF_CLI_CONFIG_FILE: join(dir, 'cli.tfrc'),
        TF_IN_AUTOMATION: '1',
        TF_INPUT: '0',
        CHECKPOINT_DISABLE: '1',
        TF_DATA_DIR: join(dir, '.terraform'),
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      },
    });
    return { code: 0, out: `${stdout}\n${stderr}` };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, out: `${e.stdout ?? ''}\n${e.stderr ?? ''}` };
  }
}

async function tfOk(args: string[]): Promise<string> {
  const r = await tf(args);
  expect(r.code, `terraform ${args.join(' ')}\n${r.out}`).toBe(0);
  return r.out;
}

/** The configuration: `v` selects the version of the trails (the update changes v1 into v2). */
function writeConfig(v: 1 | 2): void {
  const tags = v === 1 ? '{ team = "audit", env = "test" }' : '{ team = "security" }';
  writeFileSync(
    join(dir, 'main.tf'),
    `
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "${PROVIDER_VERSION}" }
  }
}

provider "aws" {
  region                      = "${REGION}"
  access_key                  = "${KEY.id}"
  secret_key                  = "${KEY.secret}"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true
  endpoints {
    cloudtrail = "${api.url}"
    s3         = "${stackEndpoints().awsEndpoint}"
    sts        = "${stackEndpoints().awsEndpoint}"
  }
}

resource "aws_cloudtrail" "basic" {
  name                          = "${basicName}"
  s3_bucket_name                = "${bucket}"
  s3_key_prefix                 = "${v === 1 ? 'tf' : 'tf2'}"
  include_global_service_events = true
  is_multi_region_trail         = ${v === 1 ? 'true' : 'false'}
  enable_log_file_validation    = true
  enable_logging                = ${v === 1 ? 'true' : 'false'}
  kms_key_id                    = "${keyArn}"
  sns_topic_name                = "${topicArn}"
  cloud_watch_logs_group_arn    = "arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${v === 1 ? 'trail' : 'trail2'}:*"
  cloud_watch_logs_role_arn     = "arn:aws:iam::${ACCOUNT}:role/cloudtrail-to-logs"

  event_selector {
    read_write_type           = "${v === 1 ? 'WriteOnly' : 'All'}"
    include_management_events = true

    data_resource {
      type   = "AWS::S3::Object"
      values = ["arn:aws:s3:::${bucket}/"]
    }
  }

  insight_selector {
    insight_type = "ApiCallRateInsight"
  }
${v === 2 ? '\n  insight_selector {\n    insight_type = "ApiErrorRateInsight"\n  }\n' : ''}
  tags = ${tags}
}

resource "aws_cloudtrail" "advanced" {
  name           = "${advancedName}"
  s3_bucket_name = "${bucket}"
  enable_logging = true

  advanced_event_selector {
    name = "management writes"
    field_selector {
      field  = "eventCategory"
      equals = ["Management"]
    }
    field_selector {
      field  = "readOnly"
      equals = ["false"]
    }
  }

  advanced_event_selector {
    name = "objects"
    field_selector {
      field  = "eventCategory"
      equals = ["Data"]
    }
    field_selector {
      field  = "resources.type"
      equals = ["AWS::S3::Object"]
    }
    field_selector {
      field       = "resources.ARN"
      starts_with = ["arn:aws:s3:::${bucket}/${v === 1 ? 'a' : 'b'}/"]
    }
  }

  tags = { owner = "platform" }
}
`,
  );
}

function client(): CloudTrailClient {
  return new CloudTrailClient({ endpoint: api.url, region: REGION, credentials: { accessKeyId: KEY.id, secretAccessKey: KEY.secret } });
}

beforeAll(async () => {
  terraform = terraformPath();
  const plugins = pluginDir();
  // Terraform's create sequence (CreateTrail, PutEventSelectors, PutInsightSelectors, StartLogging)
  // runs under CloudTrail's own 1 TPS quota per operation: the provider must cope with it.
  api = await startTrailApi();
  await createTrailBucket(aws.s3, bucket, { policy: null });
  // One policy for the three prefixes the configurations use (none, tf, tf2).
  await aws.s3.send(
    new PutBucketPolicyCommand({
      Bucket: bucket,
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 's3:GetBucketAcl', Resource: `arn:aws:s3:::${bucket}` },
          { Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 's3:PutObject', Resource: ['', 'tf/', 'tf2/'].map((p) => `arn:aws:s3:::${bucket}/${p}AWSLogs/${ACCOUNT}/*`) },
        ],
      }),
    }),
  );
  // moto's key and topic, named by ARN (they live in moto's account, not the trail's).
  keyArn = (await aws.kms.send(new CreateKeyCommand({ Description: 'trail-tf', Policy: cloudTrailKeyPolicy() }))).KeyMetadata!.Arn!;
  topicArn = (await aws.sns.send(new CreateTopicCommand({ Name: `trail-tf-${stamp}` }))).TopicArn!;
  dir = mkdtempSync(join(tmpdir(), 'trail-tf-'));
  writeFileSync(
    join(dir, 'cli.tfrc'),
    `provider_installation {
  filesystem_mirror {
    path    = "${plugins}"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }
}
`,
  );
  writeConfig(1);
  await tfOk(['init', '-no-color']);
}, 240_000);

afterAll(async () => {
  // Whatever the outcome, leave no trail behind.
  if (dir && api) await tf(['destroy', '-auto-approve', '-no-color']).catch(() => undefined);
  await api?.stop();
  aws.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// Terraform's steps are slow on a loaded machine (each apply retries CloudTrail's 1 TPS quota).
describe('Terraform aws_cloudtrail against opentrail', { timeout: 420_000 }, () => {
  it('applies, then plans no changes: every member reads back as written', async () => {
    await tfOk(['apply', '-auto-approve', '-no-color']);
    const plan = await tf(['plan', '-detailed-exitcode', '-no-color']);
    expect(plan.code, plan.out).toBe(0);

    const ct = client();
    const basic = (await ct.send(new GetTrailCommand({ Name: basicName }))).Trail!;
    expect(basic).toMatchObject({ KmsKeyId: keyArn, SnsTopicARN: topicArn, CloudWatchLogsLogGroupArn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:trail:*`, S3KeyPrefix: 'tf', IsMultiRegionTrail: true, LogFileValidationEnabled: true, HasCustomEventSelectors: true, HasInsightSelectors: true, TrailARN: `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/${basicName}` });
    expect((await ct.send(new GetTrailStatusCommand({ Name: basicName }))).IsLogging).toBe(true);
    expect((await ct.send(new GetEventSelectorsCommand({ TrailName: basicName }))).EventSelectors).toEqual([
      { ReadWriteType: 'WriteOnly', IncludeManagementEvents: true, DataResources: [{ Type: 'AWS::S3::Object', Values: [`arn:aws:s3:::${bucket}/`] }], ExcludeManagementEventSources: [] },
    ]);
    expect((await ct.send(new GetInsightSelectorsCommand({ TrailName: basicName }))).InsightSelectors).toEqual([{ InsightType: 'ApiCallRateInsight' }]);
    const tags = (await ct.send(new ListTagsCommand({ ResourceIdList: [basic.TrailARN!] }))).ResourceTagList![0]!.TagsList;
    expect(Object.fromEntries(tags!.map((t) => [t.Key, t.Value]))).toEqual({ team: 'audit', env: 'test' });
    const advanced = await ct.send(new GetEventSelectorsCommand({ TrailName: advancedName }));
    expect(advanced.AdvancedEventSelectors?.map((s) => s.Name)).toEqual(['management writes', 'objects']);
  });

  it('updates in place, then plans no changes again', async () => {
    writeConfig(2);
    const planned = await tf(['plan', '-detailed-exitcode', '-no-color']);
    expect(planned.code, planned.out).toBe(2);
    expect(planned.out).toMatch(/2 to change, 0 to destroy/);
    await tfOk(['apply', '-auto-approve', '-no-color']);
    const plan = await tf(['plan', '-detailed-exitcode', '-no-color']);
    expect(plan.code, plan.out).toBe(0);

    const ct = client();
    expect((await ct.send(new GetTrailCommand({ Name: basicName }))).Trail).toMatchObject({ S3KeyPrefix: 'tf2', IsMultiRegionTrail: false, CloudWatchLogsLogGroupArn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:trail2:*` });
    expect((await ct.send(new GetTrailStatusCommand({ Name: basicName }))).IsLogging).toBe(false);
    expect((await ct.send(new GetInsightSelectorsCommand({ TrailName: basicName }))).InsightSelectors?.map((s) => s.InsightType).sort()).toEqual(['ApiCallRateInsight', 'ApiErrorRateInsight']);
    const arn = `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/${basicName}`;
    expect((await ct.send(new ListTagsCommand({ ResourceIdList: [arn] }))).ResourceTagList![0]!.TagsList).toEqual([{ Key: 'team', Value: 'security' }]);
  });

  it('destroys both trails', async () => {
    await tfOk(['destroy', '-auto-approve', '-no-color']);
    expect((await client().send(new ListTrailsCommand({}))).Trails).toEqual([]);
  });
});
