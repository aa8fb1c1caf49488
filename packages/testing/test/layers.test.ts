/**
 * The workspace's layers (README "Layers"): which package may import which, and whether every
 * package.json says what its code imports. It reads the package.json files and the import lines of
 * every workspace, so a new import across a layer, an undeclared dependency or a leftover one
 * fails here rather than in a fresh install or a reviewer's head.
 *
 * It lives in the testing package because it checks the whole tree, not one package.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../../..');

/**
 * Lowest first. Code in a package's src may import packages of lower layers only: never a package
 * of its own layer (no cycles, no service calling another) nor a higher one.
 */
const LAYERS: readonly (readonly string[])[] = [
  /* 0: the error base every package may extend */ ['errors'],
  /* 1: foundations */ ['config', 'observability', 'serde', 'console'],
  /* 2: the domain and the platform */ ['cloudtrail', 'aws', 'runtime'],
  /* 3: libraries over them */ ['webhooks', 'trails', 'integrity', 'history', 'rules', 'producer', 'logfiles', 'stack', 'testing'],
  /* 4: libraries over the trails: CloudTrail Lake (stores select with the trails' engine) */ ['lake'],
  /* 5: the services (processes) */ ['alerter', 'api', 'archiver', 'digester', 'enricher', 'history-service', 'lake-service', 'notifier'],
  /* 6: the opentrail command, which starts them all */ ['cli'],
];

/** Packages for the demo, tests and benches only: no service may depend on them. */
const TOOLING = new Set(['stack', 'testing']);

/**
 * Error classes that do not extend OpentrailError yet, each with why. Every other `extends Error` in
 * shipped code fails the test: code branches on `code` and `canRetry`, so every error carries them.
 */
const PLAIN_ERRORS: Record<string, string> = {
  'packages/console/app/api.ts ApiCallError': 'the browser bundle: the console build would need the errors package',
};

/** Declared dependencies that no import names, and why they are there. */
const IMPLICIT: Record<string, Record<string, string>> = {
  '@opentrail/console': {
    '@mantine/hooks': 'peer dependency of @mantine/core',
    'playwright-core': 'drives the built console in test/console',
  },
};

interface Workspace {
  dir: string;
  name: string;
  /** Short name: @opentrail/<short>. */
  short: string;
  dependencies: Set<string>;
  devDependencies: Set<string>;
  /** Packages imported by shipped code (src/, app/) and by the rest (test/, scripts/). */
  imports: { shipped: Set<string>; rest: Set<string> };
}

const SOURCE = /\.(?:ts|tsx|mts|js|mjs)$/;
// Statements that start a line (`import … from 'p'`, `export … from 'p'`, `import 'p'`), over
// several lines too, and the calls dynamic import, require and resolve with a literal name.
const SPECIFIER = /^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"\n]+)['"]|^\s*import\s*['"]([^'"\n]+)['"]|\bimport\(\s*['"]([^'"\n]+)['"]\s*\)|(?:\brequire|\)\.resolve|\b(?:require|meta)\.resolve)\(\s*['"]([^'"\n]+)['"]\s*\)/gm;

function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.includes(':') || isBuiltin(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => SOURCE.test(f) && !f.split('/').some((part) => part === 'node_modules' || part === 'dist'))
    .map((f) => join(dir, f));
}

function readWorkspaces(): Workspace[] {
  return ['packages', 'services'].flatMap((group) =>
    readdirSync(join(ROOT, group)).flatMap((folder) => {
      const dir = join(ROOT, group, folder);
      let manifest: { name: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
      try {
        manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      } catch {
        return [];
      }
      const imports = { shipped: new Set<string>(), rest: new Set<string>() };
      for (const file of sourceFiles(dir)) {
        const top = relative(dir, file).split('/')[0];
        const into = top === 'src' || top === 'app' ? imports.shipped : imports.rest;
        for (const match of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
          const name = packageOf((match[1] ?? match[2] ?? match[3] ?? match[4])!);
          if (name && name !== manifest.name) into.add(name);
        }
      }
      return [{
        dir: relative(ROOT, dir),
        name: manifest.name,
        short: manifest.name.replace('@opentrail/', ''),
        dependencies: new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]),
        devDependencies: new Set(Object.keys(manifest.devDependencies ?? {})),
        imports,
      }];
    }),
  );
}

const workspaces = readWorkspaces();
const rootManifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
const rootDependencies = new Set([...Object.keys(rootManifest.dependencies ?? {}), ...Object.keys(rootManifest.devDependencies ?? {})]);
const layerOf = new Map(LAYERS.flatMap((names, layer) => names.map((name) => [name, layer] as const)));

describe('layers', () => {
  it('finds the workspaces and their imports', () => {
    expect(workspaces.length).toBeGreaterThan(20);
    expect(workspaces.find((w) => w.short === 'archiver')?.imports.shipped).toContain('@opentrail/logfiles');
  });

  it('places every workspace in a layer', () => {
    expect(workspaces.map((w) => w.short).filter((short) => !layerOf.has(short))).toEqual([]);
  });

  it('imports only downwards: shipped code never imports its own layer or a higher one', () => {
    const violations = workspaces.flatMap((w) =>
      [...w.imports.shipped]
        .filter((name) => name.startsWith('@opentrail/'))
        .map((name) => name.replace('@opentrail/', ''))
        .filter((target) => !(layerOf.get(target)! < layerOf.get(w.short)!))
        .map((target) => `${w.short} (layer ${layerOf.get(w.short)}) imports ${target} (layer ${layerOf.get(target)})`),
    );
    expect(violations).toEqual([]);
  });

  it('keeps test tooling out of the services', () => {
    const services = workspaces.filter((w) => w.dir.startsWith('services/'));
    const violations = services.flatMap((w) => [...w.imports.shipped].filter((name) => TOOLING.has(name.replace('@opentrail/', ''))).map((name) => `${w.short} imports ${name}`));
    expect(violations).toEqual([]);
  });

  it('extends OpentrailError in every error class', () => {
    const classes = workspaces.flatMap((w) =>
      sourceFiles(join(ROOT, w.dir))
        .filter((file) => /\/(?:src|app)\//.test(relative(ROOT, file)))
        .flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/\bclass (\w+) extends (\w+)/g)].map((m) => ({ entry: `${relative(ROOT, file)} ${m[1]}`, base: m[2] }))),
    );
    expect(classes.filter((c) => c.base === 'OpentrailError').length).toBeGreaterThan(20);
    expect(classes.filter((c) => c.base === 'Error' && !(c.entry in PLAIN_ERRORS)).map((c) => c.entry)).toEqual([]);
  });

  it('declares what shipped code imports in dependencies', () => {
    const undeclared = workspaces.flatMap((w) => [...w.imports.shipped].filter((name) => !w.dependencies.has(name) && !name.startsWith('virtual:')).map((name) => `${w.dir}: ${name}`));
    expect(undeclared).toEqual([]);
  });

  it('declares what tests and scripts import, in the package or at the root', () => {
    const undeclared = workspaces.flatMap((w) =>
      [...w.imports.rest].filter((name) => !w.dependencies.has(name) && !w.devDependencies.has(name) && !rootDependencies.has(name)).map((name) => `${w.dir}: ${name}`),
    );
    expect(undeclared).toEqual([]);
  });

  it('declares nothing it does not use, and test-only packages as devDependencies', () => {
    const problems = workspaces.flatMap((w) => {
      const implicit = IMPLICIT[w.name] ?? {};
      const used = (name: string) => name.startsWith('@types/') || name in implicit;
      return [
        ...[...w.dependencies].filter((name) => !w.imports.shipped.has(name) && !used(name)).map((name) => `${w.dir}: dependency ${name} is not imported by src/${w.imports.rest.has(name) ? ' (only by tests or scripts: a devDependency)' : ''}`),
        ...[...w.devDependencies].filter((name) => !w.imports.rest.has(name) && !w.imports.shipped.has(name) && !used(name)).map((name) => `${w.dir}: devDependency ${name} is not imported`),
      ];
    });
    expect(problems).toEqual([]);
  });
});
