import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serdeFor, valueSubject, type Alert, type Delivery } from '@opentrail/serde';
import { CloudTrailClient, DescribeTrailsCommand, GetEventSelectorsCommand, GetTrailStatusCommand } from '@aws-sdk/client-cloudtrail';
import { HistoryApiClient } from '../../packages/cli/src/history/historyApiClient.js';
import { awsClients, createTrailBucket, uniqueBucket } from '../api/trail-helpers.js';
import { alerterEnv, alerterTopics, EnrichedWriter } from '../alerter/helpers.js';
import { testKafka, testRegistry } from '../helpers/env.js';
import { startService } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { ACCESS_KEY, HistoryDatabase, insightEvent, managementEvent, REGION } from '../history/lookupHelpers.js';
import { attributes, choose, hostileTraces, idle, launchBrowser, pageStorage, openConsole, screenshot, startConsoleApi, type ConsoleApi, type PageWatch } from './consoleHelpers.js';

/**
 * The web console (issue 15) end to end: the real API process serving the Vite build, a real
 * PostgreSQL history written by the store, an alert on the API's alerts topic, and headless
 * Chromium clicking through every page. Each page's screenshot lands in test-artifacts/console/.
 */
const seed = `cn${Math.random().toString(36).slice(2, 7)}`;
const MIN = 60_000;
const HOSTILE_NAME = '<img src=x onerror="window.__xss=1;alert(1)">';
const HOSTILE_AGENT = '<script>window.__xss=2;alert(2)</script><b onmouseover=alert(3)>agent</b>';
const HOSTILE_ID = `${seed}-hostile`;

let db: HistoryDatabase;
let api: ConsoleApi;
let client: HistoryApiClient;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;

interface ApiEvent {
  EventId: string;
  EventName: string;
  EventTime: number;
  Username?: string;
  CloudTrailEvent: string;
}

const rowIds = (p: Page) => attributes(p.locator('[data-testid=event-table] tbody tr'), 'data-event-id');
const columnTexts = (p: Page, column: string) => p.locator(`[data-testid=event-table] td[data-column=${column}]`).allInnerTexts();

async function lookupAll(input: Record<string, unknown>): Promise<ApiEvent[]> {
  return client.collect<ApiEvent>((i) => client.lookupEvents(i), input, 1000);
}

async function search(p: Page) {
  const before = await p.getByTestId('page-number').count();
  await p.getByTestId('search').click();
  // The button shows a loader while the call runs; the table (or "No events") follows.
  await idle(p);
  if (before === 0) await p.getByTestId('page-number').waitFor();
}

beforeAll(async () => {
  db = await HistoryDatabase.create('console');
  // 60 recent events (the last 40 minutes) and 60 older ones (2 to 7 hours ago); the hostile event a minute ago.
  const records = [
    ...Array.from({ length: 60 }, (_, i) => managementEvent(seed, i, 30_000 + i * 40_000)),
    ...Array.from({ length: 60 }, (_, i) => managementEvent(seed, 100 + i, 120 * MIN + i * 5 * MIN)),
    managementEvent(seed, 200, MIN, { eventID: HOSTILE_ID, eventName: HOSTILE_NAME, userAgent: HOSTILE_AGENT }),
    insightEvent(seed, 0, 10 * MIN),
  ];
  await db.write(records);
  [api, browser] = await Promise.all([startConsoleApi(db.url), launchBrowser()]);
  client = new HistoryApiClient({ endpoint: api.url, region: REGION, credentials: { accessKeyId: ACCESS_KEY.id, secretAccessKey: ACCESS_KEY.secret } });
  ({ context, page, watch } = await openConsole(browser, api.url));
}, 180_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await api?.service.stop();
  await db?.close();
});

describe('web console', () => {
  it('is served under /console with a strict Content-Security-Policy', async () => {
    const res = await fetch(`${api.url}/console/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"]) expect(csp).toContain(directive);
    expect(csp).not.toContain('unsafe');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await res.text();
    // No inline script: every <script> has a src of the same origin.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc="\/console\/assets\/)[^>]*>/);
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const asset = await fetch(`${api.url}${script}`);
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(asset.headers.get('content-security-policy')).toBe(csp);
    expect((await fetch(`${api.url}/console/assets/missing.js`)).status).toBe(404);
    // A path out of the build directory is never a file: the app's index at most.
    const escape = await fetch(`${api.url}/console/..%2f..%2fpackage.json`);
    expect(await escape.text()).not.toContain('"workspaces"');
    // The API itself is unchanged: POST / without a signature is refused.
    expect((await fetch(api.url, { method: 'POST', body: '{}' })).status).toBe(403);
  });

  it('signs in with an access key kept in session storage only, refusing a wrong secret', async () => {
    await page.getByLabel('Access key ID').fill(ACCESS_KEY.id);
    await page.getByLabel('Secret access key').fill('not-the-secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByTestId('signin-error').innerText()).toContain('InvalidSignatureException');
    await screenshot(page, 'sign-in');
    await page.getByLabel('Secret access key').fill(ACCESS_KEY.secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('nav-events').waitFor();
    const storage = await pageStorage(page);
    expect(storage.session).toContain(ACCESS_KEY.id);
    expect(storage.local).toBe(0);
    expect(storage.cookies).toBe('');
  });

  it('filters the event history by user, as LookupEvents answers', async () => {
    const user = 'user-2';
    await choose(page, 'Lookup attribute', 'User name');
    await page.getByLabel('Value').fill(user);
    await search(page);
    const expected = await lookupAll({ LookupAttributes: [{ AttributeKey: 'Username', AttributeValue: user }], StartTime: Math.floor(Date.now() / 1000) - 7 * 86400 });
    expect(expected.length).toBeGreaterThan(5);
    await expect.poll(() => rowIds(page)).toEqual(expected.slice(0, 50).map((e) => e.EventId));
    expect(new Set(await columnTexts(page, 'username'))).toEqual(new Set([user]));
    await screenshot(page, 'event-history');
  });

  it('downloads the current result as CSV whose rows are the API\'s events', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-csv').click()]);
    const csv = readFileSync((await download.path()), 'utf8');
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe('Event time,User name,Event name,Resource type,Resource name,Event source,AWS access key,Source IP address,Error code');
    const expected = await lookupAll({ LookupAttributes: [{ AttributeKey: 'Username', AttributeValue: 'user-2' }], StartTime: Math.floor(Date.now() / 1000) - 7 * 86400 });
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 3).join(','))).toEqual(expected.map((e) => `${new Date(e.EventTime * 1000).toISOString()},${e.Username},${e.EventName}`));
    expect(lines.slice(1).map((l) => l.split(',').at(-1))).toEqual(expected.map((e) => (JSON.parse(e.CloudTrailEvent) as { errorCode?: string }).errorCode ?? ''));
  });

  it('filters by resource name', async () => {
    const bucket = `bucket-${seed}-1`;
    await choose(page, 'Lookup attribute', 'Resource name');
    await page.getByLabel('Value').fill(bucket);
    await search(page);
    const expected = await lookupAll({ LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: bucket }], StartTime: Math.floor(Date.now() / 1000) - 7 * 86400 });
    expect(expected.length).toBeGreaterThan(3);
    await expect.poll(() => rowIds(page)).toEqual(expected.map((e) => e.EventId));
    expect(new Set(await columnTexts(page, 'resourceName'))).toEqual(new Set([bucket]));
  });

  it('combines filters through QueryEvents', async () => {
    await page.getByRole('button', { name: 'Combined filters' }).click();
    await page.getByLabel('Access denied only').check();
    await page.getByLabel('Resource name', { exact: true }).fill('');
    await search(page);
    const expected = await client.collect<ApiEvent>((i) => client.queryEvents(i), { ResourceName: `bucket-${seed}-1`, AccessDenied: true, StartTime: Math.floor(Date.now() / 1000) - 7 * 86400 }, 1000);
    await expect.poll(() => rowIds(page)).toEqual(expected.map((e) => e.EventId));
    for (const code of await columnTexts(page, 'errorCode')) expect(['AccessDenied', 'Client.UnauthorizedOperation']).toContain(code);
    await page.getByLabel('Access denied only').uncheck();
    await page.getByRole('button', { name: 'Hide combined filters' }).click();
  });

  it('pages forward and back as LookupEvents pages', async () => {
    await page.getByTestId('clear-filters').click();
    await choose(page, 'Page size', '10');
    // No attribute: every event of the range, 10 a page.
    await search(page);
    const all = await lookupAll({ StartTime: Math.floor(Date.now() / 1000) - 7 * 86400 });
    await expect.poll(() => rowIds(page)).toHaveLength(10);
    const first = await rowIds(page);
    expect(first).toEqual(all.slice(0, 10).map((e) => e.EventId));
    await page.getByTestId('next').click();
    await expect.poll(() => page.getByTestId('page-number').innerText()).toBe('Page 2');
    await expect.poll(() => rowIds(page)).toEqual(all.slice(10, 20).map((e) => e.EventId));
    await page.getByTestId('next').click();
    await expect.poll(() => rowIds(page)).toEqual(all.slice(20, 30).map((e) => e.EventId));
    await page.getByTestId('prev').click();
    await page.getByTestId('prev').click();
    await expect.poll(() => page.getByTestId('page-number').innerText()).toBe('Page 1');
    expect(await rowIds(page)).toEqual(first);
    expect(await page.getByTestId('prev').isDisabled()).toBe(true);
  });

  it('shows Insights events on request', async () => {
    await page.getByLabel('Insights events').check();
    await search(page);
    await expect.poll(() => rowIds(page)).toEqual([`${seed}-insight-0`]);
    await page.getByTestId('clear-filters').click();
    expect(await page.getByLabel('Insights events').isChecked()).toBe(false);
    await search(page);
    await expect.poll(() => rowIds(page)).toHaveLength(10);
  });

  it('opens an event and shows its CloudTrail record as pretty JSON', async () => {
    const id = (await rowIds(page))[3]!;
    await page.locator(`[data-testid=event-table] tr[data-event-id="${id}"]`).click();
    const json = await page.getByTestId('event-json').innerText();
    const record = db.rows.find((r) => r.eventId === id)!;
    expect(JSON.parse(json)).toEqual(JSON.parse(record.record));
    expect(json).toContain('\n  "eventID"');
    await screenshot(page, 'event-detail');
    await page.keyboard.press('Escape');
  });

  it('shows hostile markup in events as text and runs none of it', async () => {
    await choose(page, 'Lookup attribute', 'Event ID');
    await page.getByLabel('Value').fill(HOSTILE_ID);
    await search(page);
    await expect.poll(() => rowIds(page)).toEqual([HOSTILE_ID]);
    expect(await columnTexts(page, 'eventName')).toEqual([HOSTILE_NAME]);
    // The user agent column, chosen in the column chooser.
    await page.getByTestId('columns').click();
    await page.getByRole('checkbox', { name: 'User agent' }).check();
    await page.keyboard.press('Escape');
    expect(await columnTexts(page, 'userAgent')).toEqual([HOSTILE_AGENT]);
    await page.locator(`[data-testid=event-table] tr[data-event-id="${HOSTILE_ID}"]`).click();
    expect(await page.getByTestId('event-json').innerText()).toContain(HOSTILE_AGENT);
    await screenshot(page, 'hostile-event');
    await page.keyboard.press('Escape');
    await page.waitForTimeout(500);
    expect(await hostileTraces(page)).toEqual({ xss: null, imgs: 0, inlineScripts: 0 });
    expect(watch.dialogs).toEqual([]);
    expect(watch.foreignRequests).toEqual([]);
  });

  it('shows a resource\'s timeline: who, what, when, from where', async () => {
    const bucket = `bucket-${seed}-2`;
    await page.goto(`${api.url}/console/#/resource?name=${encodeURIComponent(bucket)}`);
    const expected = await client.collect<ApiEvent & { SourceIPAddress?: string }>((i) => client.resourceHistory(i), { ResourceName: bucket }, 1000);
    expect(expected.length).toBeGreaterThan(2);
    await page.getByTestId('resource-timeline').waitFor();
    const items = page.locator('[data-testid=resource-timeline] [data-event-id]');
    await expect.poll(() => attributes(items, 'data-event-id')).toEqual(expected.map((e) => e.EventId));
    const first = await items.first().innerText();
    expect(first).toContain(expected[0]!.EventName);
    expect(first).toContain(expected[0]!.Username!);
    expect(first).toContain(expected[0]!.SourceIPAddress!);
    await screenshot(page, 'resource-timeline');
  });

  it('lists an alert from the alerts topic with its rule, markup in its title as text, and links to its events', async () => {
    const registry = testRegistry();
    const serde = serdeFor(registry, 'Alert');
    const topic = `${api.prefix}alerts`;
    await serde.register(valueSubject(topic));
    const now = Date.now();
    const eventIds = [`${seed}-000004`, `${seed}-000013`];
    const alert: Alert = {
      alertId: `${seed}-alert`,
      ruleId: 'demo-access-denied-burst',
      ruleKind: 'THRESHOLD',
      title: 'Access denied <b>burst</b>',
      description: 'Several calls refused for lack of permission',
      severity: 'HIGH',
      tags: ['demo'],
      groupKey: 'arn:aws:iam::111122223333:user/user-4',
      count: 2,
      windowStart: now - 5 * MIN,
      windowEnd: now,
      firstSeen: now - 4 * MIN,
      lastSeen: now - MIN,
      eventIds,
      accountId: '111122223333',
      region: REGION,
      sampleEvent: null,
      firedAt: now,
    };
    const producer = testKafka('console-test').producer();
    await producer.connect();
    try {
      await producer.send({ topic, messages: [{ key: alert.alertId, value: serde.encode(alert) }] });
    } finally {
      await producer.disconnect();
    }
    await page.goto(`${api.url}/console/#/alerts`);
    await waitFor(async () => {
      await page.getByTestId('alerts-refresh').click();
      await page.waitForTimeout(300);
      return (await page.getByTestId('alert').count()) > 0;
    }, 'the alert on the Alerts page', 30_000);
    const card = page.getByTestId('alert').first();
    expect(await card.innerText()).toContain('Access denied <b>burst</b>');
    expect(await card.innerText()).toContain('demo-access-denied-burst');
    await screenshot(page, 'alert-hostile-title');
    await card.getByTestId('alert-event-link').first().click();
    await expect.poll(() => rowIds(page)).toEqual([eventIds[0]]);
  });

  it('shows an alert raised by the alerter\'s built-in CIS rule, linked to its event', async () => {
    const kafka = testKafka('console-alerter');
    const topics = await alerterTopics(api.prefix, kafka);
    const writer = await EnrichedWriter.create(kafka, topics.enriched);
    const alerter = await startService('alerter', alerterEnv(api.prefix, { OPENTRAIL_ALERTER_BUILTIN_PACKS: 'cis' }));
    try {
      // Event 0 of the run is the root user's (managementEvent: i % 11 === 0): CIS 4.3, root account usage.
      const root = managementEvent(seed, 0, 30_000);
      expect(root.userIdentity?.type).toBe('Root');
      await writer.write([root]);
      await page.goto(`${api.url}/console/#/alerts`);
      const card = page.locator('[data-testid=alert]', { hasText: 'cis-4.3-root-account-usage' });
      await waitFor(async () => {
        await page.getByTestId('alerts-refresh').click();
        await idle(page);
        return (await card.count()) > 0;
      }, 'the root-usage alert on the Alerts page', 90_000);
      expect(await card.innerText()).toContain('Root account usage');
      await screenshot(page, 'alerts');
      await card.getByTestId('alert-event-link').first().click();
      await expect.poll(() => rowIds(page)).toEqual([`${seed}-000000`]);
    } finally {
      await writer.close();
      await alerter.stop();
    }
  });

  it('shows the overview: events per minute, top callers, top failed calls, delivery lag', async () => {
    // Two log files delivered just now, whose oldest events waited 30 s and 90 s.
    const serde = serdeFor(testRegistry(), 'Delivery');
    const topic = `${api.prefix}deliveries`;
    await serde.register(valueSubject(topic));
    const now = Date.now();
    const deliveries: Delivery[] = [30, 90].map((lag, i) => ({
      deliveryId: `${seed}-delivery-${i}`,
      kind: 'LOG',
      trailName: 'console',
      trailArn: `arn:aws:cloudtrail:${REGION}:111122223333:trail/console`,
      homeRegion: REGION,
      bucket: 'b',
      key: `AWSLogs/111122223333/CloudTrail/${REGION}/file-${i}.json.gz`,
      accountId: '111122223333',
      region: REGION,
      organizationId: null,
      recordCount: 5,
      uncompressedBytes: 1000,
      compressedBytes: 200,
      sha256: 'ab'.repeat(32),
      oldestEventTime: now - lag * 1000,
      newestEventTime: now - 1000,
      deliveredAt: now,
      encryption: { mode: 'SSE_S3', kmsKeyId: null },
      source: null,
      digest: null,
    }));
    const producer = testKafka('console-deliveries').producer();
    await producer.connect();
    try {
      await producer.send({ topic, messages: deliveries.map((d) => ({ key: d.deliveryId, value: serde.encode(d) })) });
    } finally {
      await producer.disconnect();
    }
    await page.goto(`${api.url}/console/#/overview`);
    await waitFor(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await idle(page);
      return (await page.getByTestId('delivery-lag').innerText()) === '30.0 s / 90.0 s';
    }, 'the delivery lag of the two log files', 30_000);
    const hourAgo = Date.now() - 60 * MIN;
    const recent = db.rows.filter((r) => Date.parse(r.eventTime) >= hourAgo + MIN && r.eventCategory !== 'Insight');
    expect(Number(await page.getByTestId('total-events').innerText())).toBe(recent.length);
    expect(Number(await page.getByTestId('failed-events').innerText())).toBe(recent.filter((r) => r.errorCode).length);
    const summary = await client.call<{ TopFailedCalls: { EventName: string }[] }>('OpenTrail_20261201.GetActivitySummary', {});
    const failedRows = await page.locator('[data-testid=top-failed] tbody tr').count();
    expect(failedRows).toBe(summary.TopFailedCalls.length);
    expect(await page.getByTestId('chart-per-minute').isVisible()).toBe(true);
    await screenshot(page, 'overview');
  });

  it('creates a trail, starts and stops it, edits its selectors and deletes it', async () => {
    const aws = awsClients();
    const bucket = uniqueBucket('console-trail');
    const name = `console-${seed}`;
    await createTrailBucket(aws.s3, bucket);
    const sdk = new CloudTrailClient({ endpoint: api.url, region: REGION, credentials: { accessKeyId: ACCESS_KEY.id, secretAccessKey: ACCESS_KEY.secret } });
    try {
      await page.goto(`${api.url}/console/#/trails`);
      await page.getByTestId('trail-create').click();
      await page.getByLabel('Trail name').fill(name);
      await page.getByLabel('S3 bucket').fill(bucket);
      await page.getByTestId('trail-save').click();
      const row = page.locator(`[data-testid=trails-table] tr[data-trail="${name}"]`);
      await expect.poll(() => row.getByTestId('trail-status').textContent()).toBe('Stopped');
      expect((await sdk.send(new GetTrailStatusCommand({ Name: name }))).IsLogging).toBe(false);

      await row.getByTestId('trail-start').click();
      await expect.poll(() => row.getByTestId('trail-status').textContent()).toBe('Logging');
      expect((await sdk.send(new GetTrailStatusCommand({ Name: name }))).IsLogging).toBe(true);
      await screenshot(page, 'trails');

      await row.getByTestId('trail-selectors').click();
      const selectors = [{ ReadWriteType: 'WriteOnly', IncludeManagementEvents: true, DataResources: [] }];
      // The editor opens with the trail's selectors (CreateTrail's default: all management events).
      await expect.poll(() => page.getByTestId('selectors-json').inputValue()).toContain('"ReadWriteType": "All"');
      await page.getByTestId('selectors-json').fill(JSON.stringify(selectors));
      await page.getByTestId('selectors-save').click();
      await page.getByTestId('selectors-saved').waitFor();
      expect((await sdk.send(new GetEventSelectorsCommand({ TrailName: name }))).EventSelectors).toEqual([expect.objectContaining({ ReadWriteType: 'WriteOnly', IncludeManagementEvents: true })]);
      await page.keyboard.press('Escape');

      await row.getByTestId('trail-stop').click();
      await expect.poll(() => row.getByTestId('trail-status').textContent()).toBe('Stopped');
      await row.getByTestId('trail-delete').click();
      await page.getByTestId('trail-delete-confirm').click();
      await expect.poll(() => row.count()).toBe(0);
      expect((await sdk.send(new DescribeTrailsCommand({}))).trailList?.map((t) => t.Name)).not.toContain(name);
    } finally {
      sdk.destroy();
      aws.destroy();
    }
  });

  it('raised no Content-Security-Policy refusal, page error or dialog on any page', () => {
    expect(watch.cspViolations).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    expect(watch.dialogs).toEqual([]);
  });
});
