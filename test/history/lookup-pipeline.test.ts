import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CloudTrailClient, paginateLookupEvents } from '@aws-sdk/client-cloudtrail';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toApiCallEvent, writeRecordJson, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { EnrichedProducer } from '../archiver/helpers.js';
import { awsCliPath } from '../digester/helpers.js';
import { serviceEnv, testKafka, uniquePrefix } from '../helpers/env.js';
import { createTopics } from '../helpers/kafka.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { countRows, freshDatabase } from './ingest-helpers.js';
import { ACCESS_KEY, managementEvent, REGION, startHistoryApi, type RunningApi } from './lookupHelpers.js';

/**
 * The whole path: enriched events on Kafka, the history service writing them to PostgreSQL, the
 * API answering the real AWS CLI and the SDK's paginator with them, CloudTrailEvent exactly the
 * archiver's line.
 */
const exec = promisify(execFile);
const seed = `lp${Math.random().toString(36).slice(2, 7)}`;
let history: ServiceProcess;
let api: RunningApi;
let producer: EnrichedProducer;
let records: CloudTrailRecord[];

beforeAll(async () => {
  const prefix = uniquePrefix('lookuppipe');
  const kafka = testKafka();
  await createTopics(kafka, [`${prefix}events.enriched`, `${prefix}events.dlq`]);
  const databaseUrl = await freshDatabase('lookup_pipeline');
  producer = await EnrichedProducer.create(kafka, prefix);
  records = Array.from({ length: 120 }, (_, i) => managementEvent(seed, i, i * 60_000 + 5000));
  await producer.send(records);
  history = await startService('history', serviceEnv(prefix, { OPENTRAIL_DATABASE_URL: databaseUrl }));
  await waitFor(async () => (await countRows(databaseUrl)) >= records.length, `${records.length} rows`, 120_000, 500);
  api = await startHistoryApi(databaseUrl, { OPENTRAIL_API_HISTORY_LOOKUP_EVENTS_PER_SECOND: '1000' });
}, 180_000);

afterAll(async () => {
  await Promise.all([history?.stop(), api?.service.stop(), producer?.close()]);
});

const newestFirst = (rs: CloudTrailRecord[]) => [...rs].sort((a, b) => Date.parse(b.eventTime!) - Date.parse(a.eventTime!) || (a.eventID! < b.eventID! ? 1 : -1));

describe('event history end to end', () => {
  it('the AWS CLI finds what the history service stored from Kafka, CloudTrailEvent byte for byte', async () => {
    const { stdout } = await exec(
      awsCliPath(),
      ['cloudtrail', 'lookup-events', '--endpoint-url', api.url, '--region', REGION, '--output', 'json', '--page-size', '9', '--lookup-attributes', 'AttributeKey=Username,AttributeValue=user-2'],
      { env: { ...process.env, AWS_ACCESS_KEY_ID: ACCESS_KEY.id, AWS_SECRET_ACCESS_KEY: ACCESS_KEY.secret, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' }, timeout: 120_000 },
    );
    const events = (JSON.parse(stdout) as { Events: { EventId: string; CloudTrailEvent: string; Username: string }[] }).Events;
    const want = newestFirst(records.filter((r) => (r.userIdentity as { userName?: string } | undefined)?.userName === 'user-2'));
    expect(want.length).toBeGreaterThan(10);
    expect(events.map((e) => e.EventId)).toEqual(want.map((r) => r.eventID));
    for (const [i, e] of events.entries()) {
      expect(e.CloudTrailEvent).toBe(writeRecordJson(toApiCallEvent(want[i]!)));
      expect(e.Username).toBe('user-2');
    }
  });

  it("the SDK's paginateLookupEvents (short X-Amz-Target) gets every event once", async () => {
    const sdk = new CloudTrailClient({ endpoint: api.url, region: REGION, credentials: { accessKeyId: ACCESS_KEY.id, secretAccessKey: ACCESS_KEY.secret } });
    const ids: string[] = [];
    for await (const page of paginateLookupEvents({ client: sdk, pageSize: 13 }, {})) ids.push(...(page.Events ?? []).map((e) => e.EventId!));
    sdk.destroy();
    expect(ids).toEqual(newestFirst(records).map((r) => r.eventID));
  });
});
