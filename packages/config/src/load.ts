import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { OpentrailError } from '@opentrail/errors';

/** How one environment variable feeds one configuration key. */
export interface EnvBinding {
  /** e.g. OPENTRAIL_KAFKA_BROKERS */
  env: string;
  /** dotted key path, e.g. kafka.brokers */
  path: string;
  /** how the text becomes a value; the schema then validates it @default 'string' */
  as?: 'string' | 'list' | 'number' | 'boolean' | 'json';
}

export class ConfigError extends OpentrailError<'INVALID_CONFIG'> {
  constructor(readonly problems: string[]) {
    super('INVALID_CONFIG', `invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** A YAML or JSON file; by default $OPENTRAIL_CONFIG_FILE. Environment variables override it. */
  file?: string;
  bindings: EnvBinding[];
  /** The variable that names the file. @default OPENTRAIL_CONFIG_FILE */
  fileEnv?: string;
  /**
   * Top-level sections of a file shared by several services. A section this schema does not
   * declare belongs to another service and is ignored, instead of refused as an unknown key.
   * @default CONFIG_SECTIONS
   */
  sharedSections?: readonly string[];
}

/**
 * Top-level sections of the one configuration file all services can share (the demo writes one):
 * each service reads the common keys and its own sections, and ignores the rest.
 */
export const CONFIG_SECTIONS = ['aws', 'trails', 'enricher', 'archiver', 'digester', 'notifier', 'alerter', 'api', 'history', 'lake', 'demo'] as const;

export interface Loaded<T> {
  config: T;
  /** Where each key that was set came from, for messages: `env OPENTRAIL_X` or `file /path`. */
  sources: Map<string, string>;
  /** Non-fatal findings, such as OPENTRAIL_* variables that no key reads. */
  warnings: string[];
}

/**
 * Reads the configuration from an optional file and the environment, and validates it once, at
 * start-up. Every mistake is reported at once, each naming its key and where the value came from
 * (`kafka.brokers (env OPENTRAIL_KAFKA_BROKERS): …`), and start-up stops.
 */
export function loadConfig<S extends z.ZodType>(schema: S, options: LoadOptions): Loaded<z.infer<S>> {
  const env = options.env ?? process.env;
  const fileEnv = options.fileEnv ?? 'OPENTRAIL_CONFIG_FILE';
  const file = options.file ?? env[fileEnv];
  const problems: string[] = [];
  const sources = new Map<string, string>();
  let raw: Record<string, unknown> = {};

  if (file) {
    try {
      const text = readFileSync(file, 'utf8');
      const parsed: unknown = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
      if (parsed !== null && parsed !== undefined) {
        if (typeof parsed !== 'object' || Array.isArray(parsed)) problems.push(`${file}: must hold a mapping of keys`);
        else raw = parsed as Record<string, unknown>;
      }
      for (const path of leafPaths(raw)) sources.set(path, `file ${file}`);
    } catch (err) {
      problems.push(`${fileEnv}=${file}: cannot read it: ${(err as Error).message}`);
    }
  }

  for (const binding of options.bindings) {
    const text = env[binding.env];
    if (text === undefined || text === '') continue;
    const value = convert(text, binding, problems);
    if (value !== undefined) {
      setPath(raw, binding.path, value);
      sources.set(binding.path, `env ${binding.env}`);
    }
  }

  const bound = new Set([...options.bindings.map((b) => b.env), fileEnv]);
  const warnings = Object.keys(env)
    .filter((k) => k.startsWith('OPENTRAIL_') && !bound.has(k) && !IGNORED_ENV.has(k))
    .map((k) => `environment variable ${k} is not read by this service`);

  const declared = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  for (const section of options.sharedSections ?? CONFIG_SECTIONS) {
    if (declared && !(section in declared)) delete raw[section];
  }

  const result = schema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = issue.path.join('.');
      // An unknown key has no path of its own in the issue; its source is that of the key itself.
      const keyPath = issue.code === 'unrecognized_keys' ? [path, issue.keys[0]].filter(Boolean).join('.') : path;
      const source = sources.get(keyPath) ?? sourceOfParent(sources, keyPath);
      problems.push(`${path || '(root)'}${source ? ` (${source})` : ''}: ${describe(issue)}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { config: (result as { data: z.infer<S> }).data, sources, warnings };
}

/** Endpoint variables every process sees in the demo and tests; not every service reads all of them. */
const IGNORED_ENV = new Set(['OPENTRAIL_CACHE_DIR', 'OPENTRAIL_STACK_DIR', 'OPENTRAIL_STACK_BACKEND', 'OPENTRAIL_JAVA_HOME']);

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) return 'is required';
  return issue.message;
}

function sourceOfParent(sources: Map<string, string>, path: string): string | undefined {
  for (const [key, source] of sources) if (key.startsWith(`${path}.`) || path.startsWith(`${key}.`)) return source;
  return undefined;
}

function convert(text: string, binding: EnvBinding, problems: string[]): unknown {
  switch (binding.as ?? 'string') {
    case 'string':
      return text;
    case 'list':
      return text.split(',').map((s) => s.trim()).filter(Boolean);
    case 'number': {
      const n = Number(text);
      if (Number.isNaN(n)) problems.push(`${binding.path} (env ${binding.env}): expected a number, got ${JSON.stringify(text)}`);
      return Number.isNaN(n) ? undefined : n;
    }
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(text)) return true;
      if (/^(false|0|no|off)$/i.test(text)) return false;
      problems.push(`${binding.path} (env ${binding.env}): expected true or false, got ${JSON.stringify(text)}`);
      return undefined;
    case 'json':
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        // V8's message quotes the text ('Unexpected token …, "<text>" is not valid JSON'), which may
        // hold secrets (api.principals): only the position is told.
        const at = /at position (\d+)/.exec((err as Error).message)?.[1];
        problems.push(`${binding.path} (env ${binding.env}): not valid JSON${at ? ` (at position ${at})` : ''}; the value is not shown, it may hold secrets`);
        return undefined;
      }
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown) {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function leafPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null) return prefix ? [prefix] : [];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  const paths = entries.flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
  return prefix ? [prefix, ...paths] : paths;
}
