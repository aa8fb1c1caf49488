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
});
