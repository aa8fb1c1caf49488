import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  /** Base URL of the service's /metrics, /healthz, /readyz port. */
  url: string;
  /** Everything the process wrote so far (JSON log lines). */
  output(): string;
  /** Parsed JSON log lines so far. */
  logs(): Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL (a crash: no shutdown of any kind) and wait for the exit. */
  kill(): Promise<void>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

/**
 * Starts `services/<name>/src/main.ts` as a real process (node + tsx) with the given environment,
 * and waits until its /readyz answers 200. OPENTRAIL_HTTP_PORT=0 lets the kernel pick the port; the
 * service logs it.
 */
export async function startService(name: string, env: Record<string, string>, options: { ready?: boolean; timeoutMs?: number; script?: string } = {}): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', options.script ?? `services/${name}/src/main.ts`], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let dead = false;
  void exited.then(() => (dead = true));

  const logs = () =>
    output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  const url = await Promise.race([
    waitFor(
      () => {
        const line = logs().find((l) => typeof l.metrics === 'string');
        return line ? (line.metrics as string).replace(/\/metrics$/, '') : undefined;
      },
      `${name} to log its metrics URL`,
      options.timeoutMs ?? 60_000,
    ),
    exited.then(({ code, signal }) => {
      throw new Error(`${name} exited during start-up (code ${code}, signal ${signal}):\n${output.slice(-4000)}`);
    }),
  ]).catch((err: Error) => {
    child.kill('SIGKILL');
    throw err.message.includes(output.slice(-200)) ? err : new Error(`${err.message}\n${output.slice(-4000)}`);
  });

  const service: ServiceProcess = {
    name,
    child,
    url,
    output: () => output,
    logs,
    exited,
    stop: async () => {
      if (!dead) child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (!dead) child.kill('SIGKILL');
      await exited;
    },
    metric: async (metric, labels = {}) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return sumMetric(text, metric, labels);
    },
  };
  if (options.ready !== false) {
    await waitFor(
      async () => {
        if (dead) throw new Error(`${name} exited:\n${output.slice(-4000)}`);
        return (await fetch(`${url}/readyz`)).ok;
      },
      `${name} /readyz`,
      options.timeoutMs ?? 60_000,
    ).catch((err: Error) => {
      child.kill('SIGKILL');
      throw new Error(`${err.message}\n${output.slice(-4000)}`);
    });
  }
  return service;
}

/** Sum of a metric's samples whose labels include `labels` (Prometheus text format). */
export function sumMetric(text: string, metric: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== metric) continue;
    const found = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) sum += Number(match[4]);
  }
  return sum;
}
