/**
 * Helpers for the web console's end-to-end tests: the console built, the API started as a real
 * process against a history database of the test's own (lookupHelpers.ts), headless Chromium from
 * Debian's package driven by playwright-core, and the page's behaviour watched: dialogs, requests
 * leaving the API's origin, Content-Security-Policy refusals.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { ensureConsoleBuild } from '@opentrail/console';
import { serviceEnv, stackEndpoints, uniquePrefix } from '../helpers/env.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { ACCESS_KEY, NEXT_TOKEN_SECRET } from '../history/lookupHelpers.js';

export const CONSOLE_ACCOUNT = '111122223333';
export const CHROMIUM = process.env.OPENTRAIL_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots of each page: CI's artefacts (test-artifacts/ is not in git). */
export const SCREENSHOTS = fileURLToPath(new URL('../../test-artifacts/console/', import.meta.url));

export interface ConsoleApi {
  service: ServiceProcess;
  url: string;
  prefix: string;
}

export async function startConsoleApi(databaseUrl: string): Promise<ConsoleApi> {
  await ensureConsoleBuild();
  const prefix = uniquePrefix('console');
  const service = await startService(
    'api',
    serviceEnv(prefix, {
      OPENTRAIL_API_PORT: '0',
      OPENTRAIL_API_HOST: '127.0.0.1',
      // The key's account owns the trails it creates (their ARNs, the bucket policy's account).
      OPENTRAIL_API_ACCESS_KEYS: `${ACCESS_KEY.id}:${ACCESS_KEY.secret}:${CONSOLE_ACCOUNT}`,
      OPENTRAIL_TRAILS: '[]',
      OPENTRAIL_AWS_ENDPOINT: stackEndpoints().awsEndpoint,
      OPENTRAIL_AWS_REGION: 'us-east-1',
      OPENTRAIL_DATABASE_URL: databaseUrl,
      OPENTRAIL_API_HISTORY_NEXT_TOKEN_SECRET: NEXT_TOKEN_SECRET,
      OPENTRAIL_API_HISTORY_LOOKUP_EVENTS_PER_SECOND: '1000',
      OPENTRAIL_API_HISTORY_QUERY_EVENTS_PER_SECOND: '1000',
    }),
  );
  const url = await waitFor(() => service.logs().find((l) => typeof l.api === 'string')?.api as string | undefined, 'the API to log its URL');
  return { service, url, prefix };
}

/** What the page did that it must not: a dialog, a request off the API's paths, a CSP refusal. */
export interface PageWatch {
  dialogs: string[];
  foreignRequests: string[];
  cspViolations: string[];
  pageErrors: string[];
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // As root, without a sandbox; no background traffic (the machine's network is closed).
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export async function openConsole(browser: Browser, apiUrl: string): Promise<{ context: BrowserContext; page: Page; watch: PageWatch }> {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1500, height: 950 } });
  const page = await context.newPage();
  const watch: PageWatch = { dialogs: [], foreignRequests: [], cspViolations: [], pageErrors: [] };
  const origin = new URL(apiUrl).origin;
  page.on('dialog', (d) => {
    watch.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on('request', (r) => {
    const u = new URL(r.url());
    const allowed = u.protocol === 'blob:' || u.protocol === 'data:' || (u.origin === origin && (u.pathname === '/' || u.pathname === '/console/' || u.pathname.startsWith('/console/assets/')));
    if (!allowed) watch.foreignRequests.push(r.url());
  });
  page.on('console', (m) => {
    if (/Content[- ]Security[- ]Policy/i.test(m.text())) watch.cspViolations.push(m.text());
  });
  page.on('pageerror', (e) => watch.pageErrors.push(e.message));
  await page.goto(`${apiUrl}/console/`);
  return { context, page, watch };
}

/** The little of the DOM the tests read in the page (this project's TypeScript has no DOM library). */
interface DomElement {
  getAttribute(name: string): string | null;
}
interface BrowserGlobals {
  document: { cookie: string; querySelectorAll(selector: string): { length: number }; scripts: ArrayLike<{ src: string }> };
  sessionStorage: object;
  localStorage: { length: number };
  __xss?: unknown;
}

/** The values of one attribute over the elements a locator finds. */
export function attributes(locator: Locator, name: string): Promise<(string | null)[]> {
  return locator.evaluateAll((els, n) => els.map((e) => (e as unknown as DomElement).getAttribute(n)), name);
}

/** Storage and cookies of the page: where the credentials went. */
export function pageStorage(page: Page): Promise<{ session: string; local: number; cookies: string }> {
  return page.evaluate(() => {
    const g = (globalThis as unknown as BrowserGlobals);
    return { session: JSON.stringify(g.sessionStorage), local: g.localStorage.length, cookies: g.document.cookie };
  });
}

/** Traces a hostile value would leave if it had run: the global it sets, the <img src=x> it injects, inline scripts. */
export function hostileTraces(page: Page): Promise<{ xss: unknown; imgs: number; inlineScripts: number }> {
  return page.evaluate(() => {
    const g = (globalThis as unknown as BrowserGlobals);
    return { xss: g.__xss ?? null, imgs: g.document.querySelectorAll('img[src=x]').length, inlineScripts: Array.from(g.document.scripts).filter((s) => !s.src).length };
  });
}

/** Waits until no button is loading (Mantine marks it data-loading). */
export async function idle(page: Page): Promise<void> {
  await page.waitForFunction(() => (globalThis as unknown as BrowserGlobals).document.querySelectorAll('button[data-loading]').length === 0);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.waitForTimeout(300); // let a modal's opening transition end
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Picks an option of a Mantine Select by its label. */
export async function choose(page: Page, label: string, option: string): Promise<void> {
  await page.getByRole('combobox', { name: label, exact: true }).click();
  await page.getByRole('option', { name: option, exact: true }).click();
}
