import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCliPath } from '../digester/helpers.js';
import { ACCOUNT, awsClients, createTrailBucket, KEY, REGION, startTrailApi, uniqueBucket, type TrailApi } from './trail-helpers.js';

/**
 * The real AWS CLI v1 (botocore: the long X-Amz-Target form, its own parameter validation and
 * parsing) runs the trail life cycle against the API unchanged: create-trail,
 * put-event-selectors, start-logging, get-trail-status, describe-trails, stop-logging,
 * delete-trail, and shows CloudTrail's errors as CloudTrail's.
 */
const run = promisify(execFile);
let api: TrailApi;
const aws = awsClients();
const bucket = uniqueBucket('trail-cli');
const name = `cli-trail-${Date.now().toString(36)}`;
const arn = `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/${name}`;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(awsCliPath(), ['cloudtrail', ...args, '--endpoint-url', api.url, '--region', REGION, '--output', 'json'], {
      timeout: 120_000,
      env: { ...process.env, AWS_ACCESS_KEY_ID: KEY.id, AWS_SECRET_ACCESS_KEY: KEY.secret, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_MAX_ATTEMPTS: '5' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function json(args: string[]): Promise<Record<string, unknown>> {
  const r = await cli(args);
  expect(r.code, `aws cloudtrail ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout.trim() === '' ? {} : (JSON.parse(r.stdout) as Record<string, unknown>);
}

beforeAll(async () => {
  api = await startTrailApi();
  await createTrailBucket(aws.s3, bucket);
}, 120_000);

afterAll(async () => {
  await api?.stop();
  aws.destroy();
});

describe('the AWS CLI drives a trail', () => {
  it('runs create-trail, put-event-selectors, start-logging, get-trail-status, describe-trails, stop-logging, delete-trail', async () => {
    const created = await json(['create-trail', '--name', name, '--s3-bucket-name', bucket, '--is-multi-region-trail', '--enable-log-file-validation', '--tags-list', 'Key=team,Value=audit']);
    expect(created).toEqual({ Name: name, S3BucketName: bucket, IncludeGlobalServiceEvents: true, IsMultiRegionTrail: true, TrailARN: arn, LogFileValidationEnabled: true, IsOrganizationTrail: false });

    const selectors = await json(['put-event-selectors', '--trail-name', name, '--event-selectors', JSON.stringify([{ ReadWriteType: 'WriteOnly', IncludeManagementEvents: true, DataResources: [{ Type: 'AWS::S3::Object', Values: [`arn:aws:s3:::${bucket}/`] }] }])]);
    expect(selectors).toEqual({ TrailARN: arn, EventSelectors: [{ ReadWriteType: 'WriteOnly', IncludeManagementEvents: true, DataResources: [{ Type: 'AWS::S3::Object', Values: [`arn:aws:s3:::${bucket}/`] }], ExcludeManagementEventSources: [] }] });

    expect(await json(['start-logging', '--name', name])).toEqual({});
    const status = await json(['get-trail-status', '--name', name]);
    expect(status.IsLogging).toBe(true);
    // CLI v1 prints the wire's epoch seconds as they came (cli_timestamp_format none).
    expect(Math.abs((status.StartLoggingTime as number) - Date.now() / 1000)).toBeLessThan(120);
    expect(status.TimeLoggingStarted).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const described = await json(['describe-trails', '--trail-name-list', name]);
    expect(described).toEqual({
      trailList: [
        { Name: name, S3BucketName: bucket, IncludeGlobalServiceEvents: true, IsMultiRegionTrail: true, HomeRegion: REGION, TrailARN: arn, LogFileValidationEnabled: true, HasCustomEventSelectors: true, HasInsightSelectors: false, IsOrganizationTrail: false },
      ],
    });

    expect(await json(['stop-logging', '--name', arn])).toEqual({});
    const stopped = await json(['get-trail-status', '--name', arn]);
    expect(stopped.IsLogging).toBe(false);
    expect(stopped.StopLoggingTime as number).toBeGreaterThanOrEqual(status.StartLoggingTime as number);
    expect(stopped.TimeLoggingStopped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    expect(await json(['delete-trail', '--name', name])).toEqual({});
    expect(await json(['describe-trails'])).toEqual({ trailList: [] });
  });

  it('shows CloudTrail\'s errors as the CLI shows them from CloudTrail', async () => {
    const missing = await cli(['get-trail-status', '--name', 'no-such-trail']);
    // CLI v1 exits 255 on a service error.
    expect(missing.code).toBe(255);
    expect(missing.stderr).toContain(`An error occurred (TrailNotFoundException) when calling the GetTrailStatus operation: Unknown trail: arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/no-such-trail for the user: ${ACCOUNT}`);
    const short = await cli(['create-trail', '--name', 'ab', '--s3-bucket-name', bucket]);
    expect(short.stderr).toContain('An error occurred (InvalidTrailNameException) when calling the CreateTrail operation: Trail name too short. Minimum allowed length: 3 characters. Specified name length: 2 characters.');
    const noBucket = await cli(['create-trail', '--name', 'no-bucket-trail', '--s3-bucket-name', uniqueBucket('missing')]);
    expect(noBucket.stderr).toContain('(S3BucketDoesNotExistException) when calling the CreateTrail operation');
  });
});
