import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, Delivery } from '@opentrail/serde';
import { DeliveryLag } from '../src/activitySummary.js';
import { alertOutput, RecentAlerts } from '../src/alertsFeed.js';
import { ConsoleAssets } from '../src/consoleAssets.js';
import { ConsoleOperations } from '../src/consoleOperations.js';
import { RateLimiter } from '../src/rateLimit.js';

const alert = (id: string, firedAt: number, extra: Partial<Alert> = {}): Alert => ({
  alertId: id,
  ruleId: 'rule-1',
  ruleKind: 'FILTER_PATTERN',
  title: 'title',
  description: null,
  severity: 'HIGH',
  tags: [],
  groupKey: null,
  count: 1,
  windowStart: firedAt - 1000,
  windowEnd: firedAt,
  firstSeen: firedAt - 500,
  lastSeen: firedAt,
  eventIds: ['e1'],
  accountId: null,
  region: 'us-east-1',
  sampleEvent: null,
  firedAt,
  ...extra,
});

describe('RecentAlerts', () => {
  it('keeps the newest alerts, a repeat replacing the earlier one, newest first', () => {
    const alerts = new RecentAlerts(3);
    alerts.add(alert('a', 1000));
    alerts.add(alert('b', 2000));
    alerts.add(alert('a', 3000, { count: 2 }));
    alerts.add(alert('c', 4000));
    alerts.add(alert('d', 5000));
    expect(alerts.size).toBe(3);
    expect(alerts.recent(10).map((a) => [a.alertId, a.count])).toEqual([
      ['d', 1],
      ['c', 1],
      ['a', 2],
    ]);
    expect(alerts.recent(1).map((a) => a.alertId)).toEqual(['d']);
    expect(alerts.recent(10, 4000).map((a) => a.alertId)).toEqual(['d', 'c']);
  });

  it('never holds more than its capacity (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), fc.nat(1e6))), (adds) => {
        const alerts = new RecentAlerts(4);
        for (const [id, t] of adds) alerts.add(alert(id, t));
        expect(alerts.size).toBe(Math.min(4, new Set(adds.map(([id]) => id)).size));
        const times = alerts.recent(100).map((a) => a.firedAt);
        expect(times).toEqual([...times].sort((x, y) => y - x));
      }),
    );
  });

  it('answers times in epoch seconds and leaves out what is null', () => {
    expect(alertOutput(alert('a', 5000))).toEqual(expect.objectContaining({ AlertId: 'a', FiredAt: 5, WindowStart: 4, EventIds: ['e1'], Region: 'us-east-1' }));
    expect(alertOutput(alert('a', 5000))).not.toHaveProperty('GroupKey');
  });
});

const delivery = (id: string, deliveredAt: number, oldest: number | null, kind: Delivery['kind'] = 'LOG') => ({ deliveryId: id, kind, trailName: 't', deliveredAt, oldestEventTime: oldest, recordCount: 3 }) as unknown as Delivery;

describe('DeliveryLag', () => {
  it('measures each log file from its oldest event, once per delivery, within the range', () => {
    const lag = new DeliveryLag();
    lag.add(delivery('1', 100_000, 40_000));
    lag.add(delivery('1', 100_000, 40_000));
    lag.add(delivery('2', 200_000, 190_000));
    lag.add(delivery('3', 300_000, 100_000));
    lag.add(delivery('d', 250_000, 0, 'DIGEST'));
    lag.add(delivery('n', 260_000, null));
    expect(lag.summary(0, 1e9)).toEqual(expect.objectContaining({ Deliveries: 3, LatestDeliveryTime: 300, MedianLagSeconds: 60, MaxLagSeconds: 200 }));
    expect(lag.summary(150_000, 250_000)).toEqual(expect.objectContaining({ Deliveries: 1, MedianLagSeconds: 10, MaxLagSeconds: 10 }));
    expect(lag.summary(400_000, 500_000)).toEqual({ Deliveries: 0, Samples: [] });
  });
});

describe('ConsoleOperations', () => {
  const caller = { accessKeyId: 'AKIA1', region: 'us-east-1', accountId: '111122223333' };
  const ops = (limit = 100) => new ConsoleOperations({ alerts: new RecentAlerts(), deliveryLag: new DeliveryLag(), limit: new RateLimiter(limit) });

  it('refuses bad ListRecentAlerts input with CloudTrail-style codes', async () => {
    const o = ops();
    await expect(o.run('ListRecentAlerts', { MaxResults: 0 }, caller)).rejects.toMatchObject({ code: 'InvalidMaxResultsException' });
    await expect(o.run('ListRecentAlerts', { MaxResults: 101 }, caller)).rejects.toMatchObject({ code: 'InvalidMaxResultsException' });
    await expect(o.run('ListRecentAlerts', { MaxResults: '5' }, caller)).rejects.toMatchObject({ code: 'InvalidMaxResultsException' });
    await expect(o.run('ListRecentAlerts', { StartTime: 'x' }, caller)).rejects.toMatchObject({ code: 'SerializationException' });
    await expect(o.run('ListRecentAlerts', { __proto__x: 1 }, caller)).rejects.toMatchObject({ code: 'InvalidParameterException' });
    await expect(o.run('ListRecentAlerts', {}, caller)).resolves.toEqual({ Alerts: [] });
  });

  it('answers GetActivitySummary without a database with UnsupportedOperationException, and throttles', async () => {
    await expect(ops().run('GetActivitySummary', {}, caller)).rejects.toMatchObject({ code: 'UnsupportedOperationException' });
    const o = ops(1);
    await o.run('ListRecentAlerts', {}, caller);
    await expect(o.run('ListRecentAlerts', {}, caller)).rejects.toMatchObject({ code: 'ThrottlingException' });
  });

  it('handles only its own two actions', () => {
    expect(ops().handles('ListRecentAlerts')).toBe(true);
    expect(ops().handles('GetActivitySummary')).toBe(true);
    expect(ops().handles('QueryEvents')).toBe(false);
  });
});

describe('ConsoleAssets', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'console-assets-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(dir, 'assets', 'app-1.js'), 'console.log(1)');
    writeFileSync(join(dir, '.build-hash'), 'secret-ish');
    writeFileSync(join(tmpdir(), 'outside.txt'), 'outside');
    const assets = new ConsoleAssets(dir);
    server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?', 1)[0]!;
      if (assets.matches(path)) void assets.serve(req, res, path);
      else res.writeHead(418).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('serves the build with the security headers, the index for client routes', async () => {
    const index = await fetch(`${base}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(index.headers.get('x-frame-options')).toBe('DENY');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const js = await fetch(`${base}/console/assets/app-1.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect(await js.text()).toBe('console.log(1)');
    expect(await (await fetch(`${base}/console/trails/anything`)).text()).toContain('<title>console</title>');
    expect((await fetch(`${base}/console`, { redirect: 'manual' })).status).toBe(301);
    expect((await fetch(`${base}/consolex`)).status).toBe(418);
    expect((await fetch(`${base}/console/`, { method: 'POST' })).status).toBe(405);
  });

  it('serves no file outside the build nor a hidden one (fast-check over paths)', async () => {
    expect((await fetch(`${base}/console/assets/missing.js`)).status).toBe(404);
    expect(await (await fetch(`${base}/console/.build-hash`)).text()).not.toContain('secret-ish');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('..', '%2e%2e', '..%2f', 'outside.txt', '.', 'assets', '%00', '\\'), { minLength: 1, maxLength: 6 }), async (parts) => {
        const res = await fetch(`${base}/console/${parts.join('/')}`);
        const text = await res.text();
        expect(text).not.toContain('outside');
        // fetch resolves dot segments itself: such a path may leave /console (418 here) but never reaches a file outside.
        expect([200, 301, 404, 418]).toContain(res.status);
      }),
      { numRuns: 40 },
    );
  });
});
