/**
 * `opentrail trails` against the real API process on the stack: the command signs as the AWS CLI
 * does, prints the API's answers as tables or JSON, and shows a refusal as the API's error code
 * and message with a non-zero exit.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrailInput } from '@opentrail/trails';
import { serviceEnv, uniquePrefix } from '../helpers/env.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { awsClients, cloudTrailBucketPolicy, createTrailBucket, uniqueBucket } from '../api/trail-helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ACCOUNT = '310987654321';
const REGION = 'us-west-2';
const ADMIN = { id: 'AKIACLITRAILSADMIN1', secret: 'cli-trails-admin-secret' };
const READER = { id: 'AKIACLITRAILSREAD01', secret: 'cli-trails-reader-secret' };
const TRAIL = `cli-${Math.random().toString(36).slice(2, 8)}`;
const TRAILS: TrailInput[] = [{ name: TRAIL, accountId: ACCOUNT, homeRegion: REGION, bucket: `${TRAIL}-bucket`, prefix: 'logs', regions: [REGION] }];

let api: { service: ServiceProcess; url: string };

/** Runs `opentrail trails …` as a user would; resolves to its exit code and output (never rejects on a non-zero exit). */
function trails(key: { id: string; secret: string }, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'packages/cli/src/bin.ts', 'trails', ...args, '--endpoint-url', api.url, '--region', REGION],
      { cwd: ROOT, env: { ...process.env, AWS_ACCESS_KEY_ID: key.id, AWS_SECRET_ACCESS_KEY: key.secret, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' }, timeout: 120_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  const service = await startService(
    'api',
    serviceEnv(uniquePrefix('clitrails'), {
      OPENTRAIL_API_PORT: '0',
      OPENTRAIL_TRAILS: JSON.stringify(TRAILS),
      OPENTRAIL_AWS_REGION: 'us-east-1',
      OPENTRAIL_API_TRAIL_WRITES_PER_SECOND: '100',
      OPENTRAIL_API_PRINCIPALS: JSON.stringify([
        { arn: `arn:aws:iam::${ACCOUNT}:user/trail-admin`, accessKeys: [`${ADMIN.id}:${ADMIN.secret}`], allow: ['cloudtrail:*'] },
        { arn: `arn:aws:iam::${ACCOUNT}:user/viewer`, accessKeys: [`${READER.id}:${READER.secret}`], allow: ['cloudtrail:Describe*', 'cloudtrail:Get*', 'cloudtrail:List*'] },
      ]),
    }),
  );
  api = { service, url: await waitFor(() => service.logs().find((l) => typeof l.api === 'string')?.api as string | undefined, 'the API to log its URL') };
}, 120_000);

afterAll(async () => {
  await api?.service.stop();
});

describe('opentrail trails', () => {
  it('lists the trails of the region as a table and as the API\'s JSON', async () => {
    const table = await trails(READER, 'list');
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+HOME REGION\s+S3 BUCKET\/PREFIX/);
    expect(lines.slice(1)).toEqual([expect.stringMatching(new RegExp(`^${TRAIL}\\s+${REGION}\\s+${TRAIL}-bucket/logs\\s+no\\s+no\\s+yes\\s+arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/${TRAIL}$`))]);

    const json = await trails(READER, 'list', TRAIL, '--output', 'json');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ trailList: [expect.objectContaining({ Name: TRAIL, TrailARN: `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/${TRAIL}`, S3BucketName: `${TRAIL}-bucket`, S3KeyPrefix: 'logs', HomeRegion: REGION })] });
    expect((await trails(READER, 'list', 'no-such-trail')).stdout).toBe('no trails\n');
  });

  it('shows a trail\'s status', async () => {
    const status = await trails(READER, 'status', TRAIL);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^IsLogging\s+yes$/m);
    const json = await trails(READER, 'status', `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/${TRAIL}`, '--output', 'json');
    expect(JSON.parse(json.stdout)).toMatchObject({ IsLogging: true });
  });

  it('shows a refusal as the API\'s code and message and exits 1', async () => {
    const missing = await trails(READER, 'status', 'no-such-trail');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^opentrail trails status: TrailNotFoundException: Unknown trail: \S*no-such-trail\b.*\n$/);
    expect(missing.stdout).toBe('');

    const denied = await trails(READER, 'create', 'new-trail', '--s3-bucket-name', 'b');
    expect(denied.code).toBe(1);
    expect(denied.stderr).toBe(
      `opentrail trails create: AccessDeniedException: User: arn:aws:iam::${ACCOUNT}:user/viewer is not authorized to perform: cloudtrail:CreateTrail on resource: arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/new-trail because no identity-based policy allows the cloudtrail:CreateTrail action\n`,
    );
    const stop = await trails(READER, 'stop', TRAIL);
    expect(stop.code).toBe(1);
    expect(stop.stderr).toMatch(/^opentrail trails stop: AccessDeniedException: User: .* cloudtrail:StopLogging on resource: arn:aws:cloudtrail:/);

    const wrongKey = await trails({ id: ADMIN.id, secret: 'not-it' }, 'list');
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/^opentrail trails list: InvalidSignatureException: /);

    const usage = await trails(ADMIN, 'create', 'x');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^opentrail trails create: create needs --s3-bucket-name\n\nusage: opentrail trails create/);
  });

  it("drives a trail's life cycle: create, update, start, status, stop, delete", async () => {
    const aws = awsClients();
    const bucket = uniqueBucket('cli-trails');
    await createTrailBucket(aws.s3, bucket, { policy: cloudTrailBucketPolicy(bucket, undefined, ACCOUNT) });
    await createTrailBucket(aws.s3, `${bucket}-2`, { policy: cloudTrailBucketPolicy(`${bucket}-2`, 'moved', ACCOUNT) });
    aws.destroy();
    const name = `${TRAIL}-life`;
    const arn = `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/${name}`;

    const created = await trails(ADMIN, 'create', name, '--s3-bucket-name', bucket, '--enable-log-file-validation', '--tag', 'team=security');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(new RegExp(`^Name\\s+${name}$`, 'm'));
    expect(created.stdout).toMatch(new RegExp(`^TrailARN\\s+${arn}$`, 'm'));
    expect(created.stdout).toMatch(/^LogFileValidationEnabled\s+yes$/m);

    const again = await trails(ADMIN, 'create', name, '--s3-bucket-name', bucket);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^opentrail trails create: TrailAlreadyExistsException: /);

    const updated = await trails(ADMIN, 'update', name, '--s3-bucket-name', `${bucket}-2`, '--s3-key-prefix', 'moved', '--output', 'json');
    expect(updated.code, updated.stderr).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject({ Name: name, S3BucketName: `${bucket}-2`, S3KeyPrefix: 'moved', TrailARN: arn });

    expect(await trails(ADMIN, 'start', name)).toMatchObject({ code: 0, stdout: `logging started: ${name}\n` });
    expect((await trails(READER, 'status', name)).stdout).toMatch(/^IsLogging\s+yes$/m);
    expect((await trails(READER, 'status', name)).stdout).toMatch(/^StartLoggingTime\s+\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/m);
    expect(await trails(ADMIN, 'stop', arn)).toMatchObject({ code: 0, stdout: `logging stopped: ${arn}\n` });
    const stopped = await trails(READER, 'status', name);
    expect(stopped.stdout).toMatch(/^IsLogging\s+no$/m);
    expect(stopped.stdout).toMatch(/^StopLoggingTime\s+\d{4}-/m);

    const listed = await trails(READER, 'list', name);
    expect(listed.stdout).toMatch(new RegExp(`^${name}\\s+${REGION}\\s+${bucket}-2/moved\\s+no\\s+no\\s+yes\\s+${arn}$`, 'm'));

    expect(await trails(ADMIN, 'delete', name)).toMatchObject({ code: 0, stdout: `deleted trail ${name}\n` });
    expect((await trails(READER, 'list', name)).stdout).toBe('no trails\n');
    const gone = await trails(READER, 'status', name);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^opentrail trails status: TrailNotFoundException: /);
  });
});
