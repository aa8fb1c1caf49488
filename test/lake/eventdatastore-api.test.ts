import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CloudTrailClient, CreateEventDataStoreCommand, ListEventDataStoresCommand } from '@aws-sdk/client-cloudtrail';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCliPath } from '../digester/helpers.js';
import { ACCOUNT, KEY, REGION, startTrailApi, type TrailApi } from '../api/trail-helpers.js';

/**
 * CloudTrail Lake's event data store operations, driven by the real AWS CLI v1 (botocore's model,
 * its parameter validation and parsing) and by @aws-sdk/client-cloudtrail for paging: the
 * life cycle create → get → list → update → stop/start ingestion → delete → restore, and
 * CloudTrail's errors for what it refuses. A second API on the same topics sees every change
 * (the stores are data in a compacted topic, followed live).
 */
const run = promisify(execFile);
let api: TrailApi;
let follower: TrailApi;
const name = `cli-eds-${Date.now().toString(36)}`;

async function cli(args: string[], url = api.url): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(awsCliPath(), ['cloudtrail', ...args, '--endpoint-url', url, '--region', REGION, '--output', 'json'], {
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

async function json(args: string[], url?: string): Promise<Record<string, unknown>> {
  const r = await cli(args, url);
  expect(r.code, `aws cloudtrail ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout.trim() === '' ? {} : (JSON.parse(r.stdout) as Record<string, unknown>);
}

/** The CLI's refusal: exit code 255 (CLI v1) and CloudTrail's error code in its message. */
async function refused(args: string[], code: string): Promise<string> {
  const r = await cli(args);
  expect(r.code, r.stderr).toBe(255);
  expect(r.stderr).toContain(`(${code})`);
  return r.stderr;
}

beforeAll(async () => {
  api = await startTrailApi({ OPENTRAIL_API_MAX_EVENT_DATA_STORES_PER_REGION: '4', OPENTRAIL_API_TRAIL_WRITES_PER_SECOND: '50' });
  follower = await startTrailApi({}, api.prefix);
}, 180_000);

afterAll(async () => {
  await Promise.all([api?.stop(), follower?.stop()]);
});

describe('the AWS CLI drives an event data store', () => {
  it('runs create, get, list, update, stop and start ingestion, delete and restore', async () => {
    const selectors = [{ Name: 'writes and S3 data', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }, { Field: 'readOnly', Equals: ['false'] }] }];
    const created = await json(['create-event-data-store', '--name', name, '--advanced-event-selectors', JSON.stringify(selectors), '--retention-period', '90', '--no-multi-region-enabled', '--tags-list', 'Key=team,Value=audit']);
    const arn = created.EventDataStoreArn as string;
    expect(arn).toMatch(new RegExp(`^arn:aws:cloudtrail:${REGION}:${ACCOUNT}:eventdatastore/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`));
    const id = arn.split('/')[1]!;
    expect(created).toMatchObject({
      Name: name,
      Status: 'CREATED',
      AdvancedEventSelectors: selectors,
      MultiRegionEnabled: false,
      OrganizationEnabled: false,
      RetentionPeriod: 90,
      TerminationProtectionEnabled: true,
      BillingMode: 'EXTENDABLE_RETENTION_PRICING',
      TagsList: [{ Key: 'team', Value: 'audit' }],
    });
    expect(Math.abs((created.CreatedTimestamp as number) - Date.now() / 1000)).toBeLessThan(120);

    // By ID or by ARN, on this API and on another one following the same topic.
    const got = await json(['get-event-data-store', '--event-data-store', id]);
    expect(got).toMatchObject({ EventDataStoreArn: arn, Name: name, Status: 'ENABLED', RetentionPeriod: 90, FederationStatus: 'DISABLED' });
    expect(await json(['get-event-data-store', '--event-data-store', arn], follower.url)).toMatchObject({ EventDataStoreArn: arn, Status: 'ENABLED' });
    expect((await json(['list-event-data-stores'])).EventDataStores).toContainEqual({ EventDataStoreArn: arn, Name: name });

    const updated = await json(['update-event-data-store', '--event-data-store', arn, '--retention-period', '120', '--multi-region-enabled', '--advanced-event-selectors', JSON.stringify([{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }, { Field: 'userIdentity.arn', StartsWith: [`arn:aws:iam::${ACCOUNT}:role/`] }] }])]);
    expect(updated).toMatchObject({ RetentionPeriod: 120, MultiRegionEnabled: true, AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }, { Field: 'userIdentity.arn', StartsWith: [`arn:aws:iam::${ACCOUNT}:role/`] }] }] });

    // Tags by the store's ARN, as for trails.
    expect(await json(['add-tags', '--resource-id', arn, '--tags-list', 'Key=owner,Value=secops', 'Key=team,Value=forensics'])).toEqual({});
    expect(await json(['list-tags', '--resource-id-list', arn])).toEqual({ ResourceTagList: [{ ResourceId: arn, TagsList: [{ Key: 'team', Value: 'forensics' }, { Key: 'owner', Value: 'secops' }] }] });
    expect(await json(['remove-tags', '--resource-id', arn, '--tags-list', 'Key=team'])).toEqual({});
    expect(await json(['list-tags', '--resource-id-list', arn], follower.url)).toEqual({ ResourceTagList: [{ ResourceId: arn, TagsList: [{ Key: 'owner', Value: 'secops' }] }] });
    await refused(['add-tags', '--resource-id', `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:eventdatastore/00000000-0000-4000-8000-000000000000`, '--tags-list', 'Key=a,Value=b'], 'ResourceNotFoundException');

    await refused(['start-event-data-store-ingestion', '--event-data-store', id], 'InvalidEventDataStoreStatusException');
    expect(await json(['stop-event-data-store-ingestion', '--event-data-store', id])).toEqual({});
    expect((await json(['get-event-data-store', '--event-data-store', id], follower.url)).Status).toBe('STOPPED_INGESTION');
    await refused(['stop-event-data-store-ingestion', '--event-data-store', id], 'InvalidEventDataStoreStatusException');
    expect(await json(['start-event-data-store-ingestion', '--event-data-store', id])).toEqual({});
    expect((await json(['get-event-data-store', '--event-data-store', id])).Status).toBe('ENABLED');

    // Termination protection is on by default, as in CloudTrail.
    await refused(['delete-event-data-store', '--event-data-store', id], 'EventDataStoreTerminationProtectedException');
    await json(['update-event-data-store', '--event-data-store', id, '--no-termination-protection-enabled']);
    expect(await json(['delete-event-data-store', '--event-data-store', id])).toEqual({});
    expect((await json(['get-event-data-store', '--event-data-store', id], follower.url)).Status).toBe('PENDING_DELETION');
    await refused(['update-event-data-store', '--event-data-store', id, '--retention-period', '30'], 'InactiveEventDataStoreException');
    expect((await json(['restore-event-data-store', '--event-data-store', id])).Status).toBe('ENABLED');
  });

  it('refuses what CloudTrail refuses, with its error codes', async () => {
    await refused(['get-event-data-store', '--event-data-store', '00000000-0000-4000-8000-000000000000'], 'EventDataStoreNotFoundException');
    await refused(['get-event-data-store', '--event-data-store', 'arn:aws:cloudtrail:us-east-1:111122223333:trail/not-a-store'], 'EventDataStoreARNInvalidException');
    await refused(['create-event-data-store', '--name', name], 'EventDataStoreAlreadyExistsException');
    // Selectors go through the trails' engine with the event data store rules.
    const stderr = await refused(['create-event-data-store', '--name', `${name}-bad`, '--advanced-event-selectors', JSON.stringify([{ FieldSelectors: [{ Field: 'eventTime', Equals: ['x'] }] }])], 'InvalidEventSelectorsException');
    expect(stderr).toContain('eventTime');
    await refused(['create-event-data-store', '--name', `${name}-data`, '--advanced-event-selectors', JSON.stringify([{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Data'] }] }])], 'InvalidEventSelectorsException');
    await refused(['create-event-data-store', '--name', `${name}-fixed`, '--billing-mode', 'FIXED_RETENTION_PRICING', '--retention-period', '3000'], 'InvalidParameterException');
    await refused(['list-event-data-stores', '--next-token', 'bm90LWEtdG9rZW4'], 'InvalidNextTokenException');
  });

  it('pages ListEventDataStores and stops at the per-region quota (SDK v3)', async () => {
    const client = new CloudTrailClient({ endpoint: api.url, region: REGION, credentials: { accessKeyId: KEY.id, secretAccessKey: KEY.secret } });
    try {
      // The quota is 4 here; the first test left one store.
      for (let i = 0; i < 3; i++) await client.send(new CreateEventDataStoreCommand({ Name: `${name}-p${i}`, StartIngestion: false }));
      await expect(client.send(new CreateEventDataStoreCommand({ Name: `${name}-over` }))).rejects.toMatchObject({ name: 'EventDataStoreMaxLimitExceededException' });
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await client.send(new ListEventDataStoresCommand({ MaxResults: 3, ...(token ? { NextToken: token } : {}) }));
        seen.push(...(page.EventDataStores ?? []).map((s) => s.Name!));
        token = page.NextToken;
        pages++;
      } while (token);
      expect(pages).toBe(2);
      expect(seen.sort()).toEqual([name, `${name}-p0`, `${name}-p1`, `${name}-p2`].sort());
    } finally {
      client.destroy();
    }
  });
});
