import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudTrailClient, CreateEventDataStoreCommand, DescribeQueryCommand, GetQueryResultsCommand, StartQueryCommand } from '@aws-sdk/client-cloudtrail';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudTrailRecord } from '@opentrail/cloudtrail';
import { ensureConsoleBuild } from '@opentrail/console';
import { startTrino, type TrinoServer } from '@opentrail/stack';
import { cloudTrailSampleQueries, sampleStatement } from '../../packages/lake/test/sql/sampleQueries.js';
import { ACCOUNT, KEY, REGION, startTrailApi, type TrailApi } from '../api/trail-helpers.js';
import { EnrichedProducer } from '../archiver/helpers.js';
import { serviceEnv, stackEndpoints, testKafka } from '../helpers/env.js';
import { createTopics } from '../helpers/kafka.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { freshDatabase, isoSeconds } from '../history/ingest-helpers.js';
import { choose, hostileTraces, launchBrowser, openConsole, screenshot, type PageWatch } from './consoleHelpers.js';

/**
 * The console's Lake query page end to end, on real servers: Trino (hive catalog over moto S3),
 * the lake service filling an event data store from the enriched topic, the API running the
 * queries (rows in PostgreSQL) and serving the console's Vite build, headless Chromium. The page
 * runs one of AWS's sample queries and shows the rows the same query gives through the AWS SDK,
 * 50 a page; it follows and cancels a slow query, shows a refused statement's error and a failed
 * query's message, and shows hostile values in the data as text.
 */
const seed = `lk${Math.random().toString(36).slice(2, 7)}`;
const HOSTILE_NAME = '<img src=x onerror="window.__xss=1;alert(1)">';
const HOSTILE_TAG = '<script>window.__xss=2;alert(2)</script><b onmouseover=alert(3)>tag</b>';
const TAGGED = 120;
const FILLER = 300;
const STORE_NAME = `console-lake-${seed}`;

let trino: TrinoServer;
let trinoDir: string;
let api: TrailApi;
let lake: ServiceProcess;
let producer: EnrichedProducer;
let sdk: CloudTrailClient;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;
let storeId: string;

type Rows = Record<string, string | null>[][];

const base = Date.now() - 30 * 60_000;
const identity = (i: number) => ({ type: 'IAMUser', principalId: `AIDA${seed}${i % 5}`, arn: `arn:aws:iam::${ACCOUNT}:user/dev${i % 5}`, accountId: ACCOUNT, accessKeyId: `AKIA${String(i % 7).padStart(16, '0')}`, userName: `dev${i % 5}` });
const eventId = (kind: string, i: number) => `${seed}-${kind}-${String(i).padStart(4, '0')}`;
const resourceId = (i: number) => `i-${String(i).padStart(17, '0')}`;

function ec2Event(i: number, eventName: string, id: string, requestParameters: Record<string, unknown> | null, readOnly: boolean): CloudTrailRecord {
  return {
    eventVersion: '1.09',
    userIdentity: identity(i),
    eventTime: isoSeconds(base + i * 1000),
    eventSource: 'ec2.amazonaws.com',
    eventName,
    awsRegion: REGION,
    sourceIPAddress: `198.51.100.${i % 200}`,
    userAgent: 'aws-cli/2.15.0',
    requestParameters,
    responseElements: null,
    requestID: `${id}-request`,
    eventID: id,
    readOnly,
    eventType: 'AwsApiCall',
    managementEvent: true,
    eventCategory: 'Management',
    recipientAccountId: ACCOUNT,
  };
}

/** CreateTags on 120 instances (one tag each, one value hostile), 300 reads, one call whose name is markup. */
const tagValue = (i: number) => (i === 7 ? HOSTILE_TAG : `team-${i % 4}`);
const records: CloudTrailRecord[] = [
  ...Array.from({ length: TAGGED }, (_, i) => ec2Event(i, 'CreateTags', eventId('tag', i), { resourcesSet: { items: [{ resourceId: resourceId(i) }] }, tagSet: { items: [{ key: 'team', value: tagValue(i) }] } }, false)),
  ...Array.from({ length: FILLER }, (_, i) => ec2Event(i, 'DescribeInstances', eventId('read', i), { maxResults: 5 }, true)),
  ec2Event(3, HOSTILE_NAME, eventId('hostile', 0), null, false),
];

/** The same statement through the AWS SDK: every row, every page. */
async function sdkRows(statement: string): Promise<Rows> {
  const { QueryId } = await sdk.send(new StartQueryCommand({ QueryStatement: statement }));
  await waitFor(async () => (await sdk.send(new DescribeQueryCommand({ QueryId }))).QueryStatus === 'FINISHED', 'the SDK query to finish', 60_000, 300);
  const rows: Rows = [];
  let token: string | undefined;
  do {
    const out = await sdk.send(new GetQueryResultsCommand({ QueryId, MaxQueryResults: 1000, ...(token ? { NextToken: token } : {}) }));
    rows.push(...((out.QueryResultRows ?? []) as Rows));
    token = out.NextToken;
  } while (token);
  return rows;
}

/** The texts of the results table: its headers, and each row's cells (SQL NULL shows as "null"). */
async function table(p: Page): Promise<{ headers: string[]; rows: string[][] }> {
  const headers = await p.locator('[data-testid=lake-results] thead th').allTextContents();
  const rows = await p.locator('[data-testid=lake-results] tbody tr').evaluateAll((trs) =>
    trs.map((tr) => Array.from((tr as unknown as { querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> }).querySelectorAll('td'), (td) => td.textContent ?? '')),
  );
  return { headers, rows };
}

const asTexts = (rows: Rows) => rows.map((row) => row.map((cell) => Object.values(cell)[0] ?? 'null'));
const columnsOf = (rows: Rows) => (rows[0] ?? []).map((cell) => Object.keys(cell)[0]!);
const status = (p: Page) => p.getByTestId('lake-status').textContent();

async function setSql(p: Page, statement: string) {
  await p.getByLabel('SQL', { exact: true }).fill(statement);
}

const queryIdShown = async (p: Page) => ((await p.getByTestId('lake-query-id').count()) > 0 ? await p.getByTestId('lake-query-id').textContent() : null);

/** Runs the statement in the editor; waits until this new query is `want` (or fails saying why it is not). */
async function runAndWait(p: Page, want: string): Promise<string> {
  const before = await queryIdShown(p);
  await p.getByTestId('lake-run').click();
  const final = ['FINISHED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];
  const seen = await waitFor(async () => {
    const id = await queryIdShown(p);
    if (!id || id === before) return undefined;
    const s = await status(p);
    return s === want || (s && final.includes(s)) ? s : undefined;
  }, `the query to be ${want}`, 60_000, 200);
  if (seen !== want) {
    const message = (await p.getByTestId('lake-failed').count()) > 0 ? await p.getByTestId('lake-failed').textContent() : '';
    const logged = api.service.logs().filter((l) => l.msg === 'a Lake query failed');
    throw new Error(`the query is ${seen}, not ${want}: ${message} ${JSON.stringify(logged).slice(0, 3000)}`);
  }
  return (await queryIdShown(p))!;
}

beforeAll(async () => {
  const endpoints = stackEndpoints();
  const bucket = `lakeconsole-${Date.now().toString(36)}`;
  trinoDir = await mkdtemp(join(tmpdir(), 'opentrail-trino-'));
  const [trinoServer, databaseUrl] = await Promise.all([
    startTrino({ dir: trinoDir, awsEndpoint: endpoints.awsEndpoint, region: REGION, accessKeyId: 'test', secretAccessKey: 'test', metastoreDir: `s3://${bucket}/_metastore` }),
    freshDatabase('lakeconsole'),
    ensureConsoleBuild(),
  ]);
  trino = trinoServer;
  api = await startTrailApi({ OPENTRAIL_TRINO_URL: trino.url, OPENTRAIL_DATABASE_URL: databaseUrl, OPENTRAIL_LAKE_BUCKET: bucket, OPENTRAIL_API_TRAIL_WRITES_PER_SECOND: '50', OPENTRAIL_API_TRAIL_READS_PER_SECOND: '100' });
  const kafka = testKafka();
  await createTopics(kafka, [`${api.prefix}events.enriched`, `${api.prefix}events.dlq`]);
  lake = await startService('lake', serviceEnv(api.prefix, { OPENTRAIL_LAKE_BUCKET: bucket, OPENTRAIL_LAKE_ROLL_INTERVAL_SECONDS: '1' }));
  producer = await EnrichedProducer.create(kafka, api.prefix);
  sdk = new CloudTrailClient({ endpoint: api.url, region: REGION, credentials: { accessKeyId: KEY.id, secretAccessKey: KEY.secret }, maxAttempts: 5 });
  // The store the test reads (every management event), and one that takes none, for the picker.
  const created = await sdk.send(new CreateEventDataStoreCommand({ Name: STORE_NAME, TerminationProtectionEnabled: false }));
  storeId = created.EventDataStoreArn!.split('/')[1]!;
  await sdk.send(new CreateEventDataStoreCommand({ Name: `console-idle-${seed}`, StartIngestion: false, TerminationProtectionEnabled: false }));
  await producer.send(records);
  await waitFor(async () => (await lake.metric('opentrail_lake_rows_written_total').catch(() => 0)) >= records.length, `${records.length} rows in the lake`, 120_000, 500);
  browser = await launchBrowser();
  ({ context, page, watch } = await openConsole(browser, api.url));
  await page.getByLabel('Access key ID').fill(KEY.id);
  await page.getByLabel('Secret access key').fill(KEY.secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('nav-lake').click();
}, 240_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  sdk?.destroy();
  await producer?.close();
  await Promise.all([lake?.stop(), api?.stop()]);
  await trino?.stop();
  if (trinoDir) await rm(trinoDir, { recursive: true, force: true });
});

describe('the console\'s Lake query page', () => {
  const tagHistory = cloudTrailSampleQueries.find((s) => s.file === 'tag-history-by-resource.sql')!;

  it('lists the event data stores and puts the one picked into a sample query', async () => {
    await page.getByRole('heading', { name: 'Lake queries' }).waitFor();
    await choose(page, 'Event data store', `${STORE_NAME} (${storeId})`);
    await expect.poll(() => page.getByTestId('lake-store-details').textContent()).toContain(`${STORE_NAME} · ENABLED`);
    await choose(page, 'Sample query', 'Tag history by resource');
    // The lake's own substitution of the published text gives the same statement.
    expect(await page.getByLabel('SQL', { exact: true }).inputValue()).toBe(sampleStatement(tagHistory, storeId));
    const source = page.getByRole('link', { name: 'source', exact: true });
    expect(await source.getAttribute('href')).toBe(tagHistory.source);
  });

  it('runs the sample, showing its progress, and pages through the rows the SDK gives, 50 a page', async () => {
    const statement = sampleStatement(tagHistory, storeId);
    await runAndWait(page, 'FINISHED');
    expect(Number((await page.getByTestId('lake-events-scanned').textContent())!.replace(/,/g, ''))).toBeGreaterThan(0);
    expect(await page.getByTestId('lake-bytes-scanned').textContent()).toMatch(/^[1-9][\d,]* bytes/);
    expect(await page.getByTestId('lake-elapsed').textContent()).toMatch(/^\d+\.\d s$/);

    const expected = await sdkRows(statement);
    expect(expected).toHaveLength(TAGGED);
    // Computed from the events: one row per instance, in resource ID order, with its tag.
    expect(expected.map((row) => [2, 4, 5, 6, 7].map((c) => Object.values(row[c]!)[0]))).toEqual(
      Array.from({ length: TAGGED }, (_, i) => [resourceId(i), 'CreateTags', 'team', tagValue(i), identity(i).arn]),
    );
    const want = asTexts(expected);
    await page.getByTestId('lake-results').waitFor();
    const first = await table(page);
    expect(first.headers).toEqual(columnsOf(expected));
    expect(first.rows).toEqual(want.slice(0, 50));
    expect(await page.getByTestId('lake-row-range').textContent()).toBe(`Rows 1–50 of ${TAGGED}`);
    expect(await page.getByTestId('lake-rows-matched').textContent()).toBe(String(TAGGED));
    await screenshot(page, 'lake-results');

    await page.getByTestId('lake-next').click();
    await expect.poll(() => page.getByTestId('lake-page-number').textContent()).toBe('Page 2');
    await expect.poll(async () => (await table(page)).rows).toEqual(want.slice(50, 100));
    await page.getByTestId('lake-next').click();
    await expect.poll(() => page.getByTestId('lake-page-number').textContent()).toBe('Page 3');
    await expect.poll(async () => (await table(page)).rows).toEqual(want.slice(100));
    expect(await page.getByTestId('lake-next').isDisabled()).toBe(true);
    await page.getByTestId('lake-prev').click();
    await expect.poll(() => page.getByTestId('lake-page-number').textContent()).toBe('Page 2');
    await expect.poll(async () => (await table(page)).rows).toEqual(want.slice(50, 100));
    await page.getByTestId('lake-prev').click();
    await expect.poll(async () => (await table(page)).rows).toEqual(want.slice(0, 50));
    expect(await page.getByTestId('lake-prev').isDisabled()).toBe(true);
    // The hostile tag value of instance 7 is a cell's text.
    expect(first.rows[7]![6]).toBe(HOSTILE_TAG);
  });

  it('follows a slow query while it runs and cancels it', async () => {
    await setSql(page, `SELECT count(*) FROM ${storeId} a CROSS JOIN ${storeId} b CROSS JOIN ${storeId} c CROSS JOIN ${storeId} d WHERE a.eventID < b.eventID AND b.eventID < c.eventID AND c.eventID < d.eventID`);
    const queryId = await runAndWait(page, 'RUNNING');
    // The elapsed time moves while it runs.
    const elapsedAt = await page.getByTestId('lake-elapsed').textContent();
    await expect.poll(() => page.getByTestId('lake-elapsed').textContent()).not.toBe(elapsedAt);
    // And what it has scanned so far, before any row (DescribeQuery while it runs).
    await expect.poll(async () => Number(((await page.getByTestId('lake-events-scanned').textContent()) ?? '').replace(/,/g, '')), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(await page.getByTestId('lake-run').isDisabled()).toBe(true);
    await screenshot(page, 'lake-running');
    await page.getByTestId('lake-cancel').click();
    await expect.poll(() => status(page)).toBe('CANCELLED');
    await expect.poll(async () => (await sdk.send(new DescribeQueryCommand({ QueryId: queryId }))).QueryStatus).toBe('CANCELLED');
    expect(await page.getByTestId('lake-cancel').isDisabled()).toBe(true);
    expect(await page.getByTestId('lake-results').count()).toBe(0);
    // The elapsed time stops.
    const stopped = await page.getByTestId('lake-elapsed').textContent();
    await page.waitForTimeout(1500);
    expect(await page.getByTestId('lake-elapsed').textContent()).toBe(stopped);
  });

  it('shows why a statement is refused, and a failed query\'s message', async () => {
    await setSql(page, `DROP TABLE ${storeId}`);
    await page.getByTestId('lake-run').click();
    await expect.poll(() => page.getByTestId('lake-refused').textContent()).toContain('InvalidQueryStatementException');
    expect(await page.getByTestId('lake-progress').count()).toBe(0);
    await screenshot(page, 'lake-refused');

    await setSql(page, `SELECT nosuchcolumn FROM ${storeId}`);
    const queryId = await runAndWait(page, 'FAILED');
    expect(await page.getByTestId('lake-refused').count()).toBe(0);
    const message = (await page.getByTestId('lake-failed').textContent())!;
    expect(message).toMatch(/nosuchcolumn/i);
    const described = await sdk.send(new DescribeQueryCommand({ QueryId: queryId }));
    expect(message).toContain(described.ErrorMessage!);
  });

  it('shows markup in the data as text and runs none of it', async () => {
    const statement = `SELECT eventName, eventID, errorCode FROM ${storeId} WHERE eventID = '${eventId('hostile', 0)}'`;
    await setSql(page, statement);
    await runAndWait(page, 'FINISHED');
    await page.getByTestId('lake-results').waitFor();
    const shown = await table(page);
    expect(shown).toEqual({ headers: ['eventName', 'eventID', 'errorCode'], rows: [[HOSTILE_NAME, eventId('hostile', 0), 'null']] });
    expect(asTexts(await sdkRows(statement))).toEqual(shown.rows);
    await screenshot(page, 'lake-hostile');
    await page.waitForTimeout(500);
    expect(await hostileTraces(page)).toEqual({ xss: null, imgs: 0, inlineScripts: 0 });
  });

  it('raised no Content-Security-Policy refusal, page error, dialog or request off the API', () => {
    expect(watch.cspViolations).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    expect(watch.dialogs).toEqual([]);
    expect(watch.foreignRequests).toEqual([]);
  });
});
