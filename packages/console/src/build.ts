import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CONSOLE_DIST_DIR, CONSOLE_ROOT } from './dist.js';

/**
 * Builds the console with Vite when the bundle is missing or stale: what `npm start` and `npm test`
 * run first. Stale means the digest of the sources (app/, src/, index.html, package.json) differs
 * from the one stamped in dist/.build-hash by the last build, so an unchanged tree costs one
 * read of ~30 small files.
 */
const STAMP = '.build-hash';
const INPUTS = ['index.html', 'package.json', 'app', 'src'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

export function sourceDigest(): string {
  const hash = createHash('sha256');
  for (const input of INPUTS) {
    const path = join(CONSOLE_ROOT, input);
    for (const file of input.includes('.') ? [path] : sourceFiles(path)) {
      hash.update(relative(CONSOLE_ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
    }
  }
  return hash.digest('hex');
}

export function consoleBuildIsFresh(): boolean {
  const stamp = join(CONSOLE_DIST_DIR, STAMP);
  return existsSync(join(CONSOLE_DIST_DIR, 'index.html')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === sourceDigest();
}

/** Mantine's global utility classes, which its provider would otherwise inject as a <style> element (refused by the CSP): rendered once here into a CSS module of the build. */
async function mantineGlobalClasses(): Promise<string> {
  const [{ createElement }, { renderToStaticMarkup }, { MantineProvider }] = await Promise.all([import('react'), import('react-dom/server'), import('@mantine/core')]);
  const html = renderToStaticMarkup(createElement(MantineProvider, { withCssVariables: false }, createElement('div')));
  return [...html.matchAll(/<style[^>]*>([^<]*)<\/style>/g)].map((m) => m[1]).join('\n');
}

export async function ensureConsoleBuild(options: { force?: boolean; log?: (line: string) => void } = {}): Promise<{ built: boolean; ms: number }> {
  const started = Date.now();
  if (!options.force && consoleBuildIsFresh()) return { built: false, ms: Date.now() - started };
  options.log?.('opentrail: building the web console (vite)…');
  const digest = sourceDigest();
  const classes = await mantineGlobalClasses();
  const { build } = await import('vite');
  const VIRTUAL = 'virtual:mantine-global-classes.css';
  await build({
    root: CONSOLE_ROOT,
    base: '/console/',
    configFile: false,
    logLevel: 'warn',
    plugins: [
      {
        name: 'opentrail-mantine-global-classes',
        resolveId: (id: string) => (id === VIRTUAL ? `\0${VIRTUAL}` : undefined),
        load: (id: string) => (id === `\0${VIRTUAL}` ? classes : undefined),
      },
    ],
    build: {
      outDir: CONSOLE_DIST_DIR,
      emptyOutDir: true,
      sourcemap: false,
      chunkSizeWarningLimit: 5000,
      modulePreload: { polyfill: false },
      assetsInlineLimit: 0,
      rollupOptions: {
        // Mantine marks its modules "use client" (for React Server Components); meaningless in a plain SPA.
        onwarn(warning, warn) {
          if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
        },
      },
    },
  });
  writeFileSync(join(CONSOLE_DIST_DIR, STAMP), digest);
  return { built: true, ms: Date.now() - started };
}
