import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpProxy } from '../archiver/proxy.js';
import { serviceEnv, stackEndpoints, uniquePrefix } from '../helpers/env.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Services that start together with their infrastructure, or with each other (issue 21): each
 * transient class on the real stack. A broker "not up yet" is a port that refuses connections and
 * later forwards to the shared broker; a registry "still booting" answers 503 and later forwards.
 */
const running: ServiceProcess[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.kill();
  for (const close of closers.splice(0)) await close();
});

/** The registry behind a switch: 503 while "booting", then every request forwarded as it is. */
async function bootingRegistry(target: string): Promise<{ url: string; up(): void; served503: () => number }> {
  let booting = true;
  let refused = 0;
  const base = new URL(target);
  const server: Server = createServer((req, res) => {
    if (booting) {
      refused++;
      res.writeHead(503, { 'content-type': 'text/plain' }).end('registry starting');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = `${base.origin}${req.url}`;
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      fetch(url, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? 'application/json', accept: req.headers.accept ?? '*/*' }, body })
        .then(async (answer) => {
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await answer.arrayBuffer()));
        })
        .catch(() => res.writeHead(502).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  closers.push(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}${base.pathname}`, up: () => (booting = false), served503: () => refused };
}

async function readyz(service: ServiceProcess): Promise<{ status: number; body: { checks?: Record<string, string> } }> {
  const answer = await fetch(`${service.url}/readyz`);
  return { status: answer.status, body: (await answer.json()) as { checks?: Record<string, string> } };
}

const errorLines = (service: ServiceProcess) => service.logs().filter((l) => l.level === 'error' || l.level === 'fatal');

describe('cold start', () => {
  it('a service started before the broker and the registry are up waits for them, says what for, and becomes ready', async () => {
    const prefix = uniquePrefix('cold');
    const broker = await TcpProxy.start(`http://${stackEndpoints().kafkaBrokers.split(',')[0]}`);
    await broker.down(); // connection refused, as while a broker starts
    closers.push(() => broker.down());
    const registry = await bootingRegistry(stackEndpoints().schemaRegistryUrl);

    const service = await startService(
      'enricher',
      serviceEnv(prefix, {
        OPENTRAIL_KAFKA_BROKERS: `127.0.0.1:${broker.port}`,
        OPENTRAIL_SCHEMA_REGISTRY_URL: registry.url,
        OPENTRAIL_ENRICHER_GROUP_ID: `${prefix}enricher`,
        OPENTRAIL_START_DEADLINE_SECONDS: '240',
      }),
      { ready: false },
    );
    running.push(service);

    // Not ready, alive, and saying what it waits for: the broker (topics first).
    const waiting = await waitFor(async () => {
      const r = await readyz(service);
      return r.status === 503 && /waiting for topics/.test(r.body.checks?.started ?? '') ? r : undefined;
    }, 'readyz naming the topics step', 60_000);
    expect(waiting.body.checks?.started).toMatch(/ECONNREFUSED|Connection|retries/i);
    expect(service.child.exitCode).toBeNull();

    await broker.up();
    // Then the registry answers 503 for a while.
    await waitFor(() => registry.served503() > 0, 'the registry to be asked', 90_000, 250);
    // Registration retried against the 503s, and /readyz then says the start waits for the registry.
    await waitFor(
      async () => {
        const r = await readyz(service);
        return r.status === 503 && /registering .*-value: .*503/.test(r.body.checks?.started ?? '');
      },
      '/readyz naming the registration',
      90_000,
      250,
    );
    registry.up();

    await waitFor(async () => (await readyz(service)).status === 200, 'enricher ready', 180_000, 500);
    expect(errorLines(service)).toEqual([]);
    // Once per step, not per attempt.
    const waits = service.logs().filter((l) => typeof l.msg === 'string' && /^waiting for /.test(l.msg));
    expect(waits.length).toBeGreaterThan(0);
    expect(new Set(waits.map((l) => l.step)).size).toBe(waits.length);
    // Registration of the declared topics' schemas is a step of its own: it waits for the registry
    // in place (logged once), instead of failing the whole start and starting it again.
    expect(waits.filter((l) => /^schema registration of .*events\.enriched-value$/.test(String(l.step)))).toHaveLength(1);
    expect(service.logs().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('enricher start met REGISTRY_UNAVAILABLE'))).toHaveLength(0);
    expect(await service.metric('opentrail_enricher_transient_conditions_total')).toBeGreaterThan(0);
  });

  it('a service that cannot start within its deadline exits with code 75 naming what it waited for', async () => {
    const broker = await TcpProxy.start(`http://${stackEndpoints().kafkaBrokers.split(',')[0]}`);
    await broker.down();
    const prefix = uniquePrefix('deadline');
    const service = await startService('enricher', serviceEnv(prefix, { OPENTRAIL_KAFKA_BROKERS: `127.0.0.1:${broker.port}`, OPENTRAIL_START_DEADLINE_SECONDS: '8' }), { ready: false });
    running.push(service);
    const exit = await service.exited;
    expect(exit.code).toBe(75);
    const fatal = service.logs().filter((l) => l.level === 'fatal');
    expect(fatal).toHaveLength(1);
    expect(String(fatal[0]!.msg)).toMatch(/not started within 8 s: still waiting for topics .*events\.raw/);
    // Connection refusals on the way were transient: no error-level line for them.
    expect(service.logs().filter((l) => l.level === 'error')).toEqual([]);
  });

  it('services started together on new topics (one creates what the other starts on) all become ready', async () => {
    const prefix = uniquePrefix('together');
    // The enricher creates events.enriched while the alerter sizes its state topic after it and
    // subscribes to it; both register the EnrichedEvent subject at the same moment.
    const [enricher, alerter] = await Promise.all([
      startService('enricher', serviceEnv(prefix, { OPENTRAIL_ENRICHER_GROUP_ID: `${prefix}enricher` }), { timeoutMs: 150_000 }),
      startService('alerter', serviceEnv(prefix, { OPENTRAIL_ALERTER_GROUP_ID: `${prefix}alerter`, OPENTRAIL_ALERTER_INSIGHTS_ENABLED: 'false' }), { timeoutMs: 150_000 }),
    ]);
    running.push(enricher, alerter);
    expect(errorLines(enricher)).toEqual([]);
    expect(errorLines(alerter)).toEqual([]);
  });
});
