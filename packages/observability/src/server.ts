import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** A named check: healthy/ready when it returns true (or a string that is empty), not when it returns a reason. */
export type Check = () => boolean | string | Promise<boolean | string>;

export interface HealthServerOptions {
  port: number;
  host?: string;
  registry: Registry;
  /** /healthz: is the process working (a failed check means: restart me). A function is asked on every request. */
  liveness?: Checks;
  /** /readyz: should traffic or work be sent here (joined its group, dependencies reachable). */
  readiness?: Checks;
  /** Extra routes a service serves on the same port (e.g. an API). Return false to fall through to 404. */
  routes?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
}

export type Checks = Record<string, Check> | (() => Record<string, Check>);

export interface HealthServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Asks every check once: ok when all pass, and each one's result by name ("ok" or its reason). */
export async function evaluateChecks(given: Checks = {}): Promise<{ ok: boolean; checks: Record<string, string> }> {
  const checks = typeof given === 'function' ? given() : given;
  const results: Record<string, string> = {};
  let ok = true;
  for (const [name, check] of Object.entries(checks)) {
    try {
      const result = await check();
      const passed = result === true || result === '';
      results[name] = passed ? 'ok' : typeof result === 'string' ? result : 'failing';
      ok &&= passed;
    } catch (err) {
      results[name] = (err as Error).message;
      ok = false;
    }
  }
  return { ok, checks: results };
}

/** /metrics, /healthz and /readyz on one port: what Prometheus and Kubernetes probes read. */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server = createServer((req, res) => {
    void handle(req, res).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(err.message);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      const body = await options.registry.metrics();
      res.writeHead(200, { 'content-type': options.registry.contentType });
      res.end(body);
      return;
    }
    if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) {
      const { ok, checks } = await evaluateChecks(path === '/healthz' ? options.liveness : options.readiness);
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: ok ? 'ok' : 'failing', checks }));
      return;
    }
    if (options.routes && (await options.routes(req, res))) return;
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
