import { afterEach, describe, expect, it } from 'vitest';
import { ServiceMetrics, startHealthServer, type HealthServer } from '../src/index.js';

let server: HealthServer | undefined;
afterEach(async () => server?.close());

describe('health server', () => {
  it('serves metrics named opentrail_<service>_… and health by checks', async () => {
    const metrics = new ServiceMetrics('demo');
    metrics.counter('events_in_total', 'events read').inc(3);
    let ready: boolean | string = 'not joined';
    server = await startHealthServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, liveness: { loop: () => true }, readiness: { group: () => ready } });

    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain('opentrail_demo_events_in_total 3');
    expect(text).toContain('process_cpu_user_seconds_total');

    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${server.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'failing', checks: { group: 'not joined' } });
    ready = true;
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
  });
});
