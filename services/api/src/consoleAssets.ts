import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';

/**
 * The web console's static files (the Vite build of @opentrail/console) under `/console`, with a
 * strict Content-Security-Policy: scripts and styles only from this origin (the UI library's
 * styles are CSS files; nothing inline), no plugins, no framing, no <base>. Only files found in the
 * build directory are served (a request path is looked up, never joined onto the file system);
 * any other path under /console is the single page app's index (client-side routes).
 */
export const CONSOLE_PATH = '/console';

export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
});

const TYPES = new Map([
  ['.html', 'text/html; charset=utf-8'],
  ['.js', 'text/javascript; charset=utf-8'],
  ['.css', 'text/css; charset=utf-8'],
  ['.svg', 'image/svg+xml'],
  ['.png', 'image/png'],
  ['.ico', 'image/x-icon'],
  ['.json', 'application/json'],
  ['.woff2', 'font/woff2'],
  ['.map', 'application/json'],
]);

async function listFiles(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch {
    return files;
  }
  for (const e of entries) {
    if (!e.isFile() || e.name.startsWith('.')) continue;
    const full = join(e.parentPath, e.name);
    files.set(`/${relative(dir, full).split(sep).join('/')}`, full);
  }
  return files;
}

export class ConsoleAssets {
  private files: Map<string, string> | undefined;
  private scannedAt = 0;

  constructor(private readonly dir: string) {}

  matches(pathname: string): boolean {
    return pathname === CONSOLE_PATH || pathname.startsWith(`${CONSOLE_PATH}/`);
  }

  /** The build may appear (or be rebuilt) after the API started: look again, at most every 2 s, while it is missing. */
  private async lookup(): Promise<Map<string, string>> {
    const now = Date.now();
    if (!this.files || (!this.files.has('/index.html') && now - this.scannedAt > 2000)) {
      this.files = await listFiles(this.dir);
      this.scannedAt = now;
    }
    return this.files;
  }

  async serve(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    const headers: Record<string, string | number> = { ...CONSOLE_SECURITY_HEADERS };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return;
    }
    if (pathname === CONSOLE_PATH) {
      res.writeHead(301, { ...headers, location: `${CONSOLE_PATH}/` });
      res.end();
      return;
    }
    const files = await this.lookup();
    const sub = pathname.slice(CONSOLE_PATH.length);
    let file = files.get(sub);
    let cache = 'public, max-age=31536000, immutable'; // Vite's asset names carry their content hash
    if (!file) {
      if (sub.startsWith('/assets/')) {
        res.writeHead(404, { ...headers, 'content-type': 'text/plain; charset=utf-8' });
        res.end('not found\n');
        return;
      }
      file = files.get('/index.html');
      cache = 'no-cache';
    } else if (sub === '/index.html') cache = 'no-cache';
    if (!file) {
      res.writeHead(503, { ...headers, 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' });
      res.end('The console is not built: npm run build -w @opentrail/console\n');
      return;
    }
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      this.files = undefined; // rebuilt under us: rescan on the next request
      res.writeHead(503, { ...headers, 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' });
      res.end('The console is being rebuilt\n');
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': TYPES.get(extname(file)) ?? 'application/octet-stream', 'content-length': body.length, 'cache-control': cache });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
