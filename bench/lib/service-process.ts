/** A service as a real process for the benchmarks: started with tsx, its metrics read over HTTP. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** A service's start-up (tsx compiling it, loading its state) took minutes on a machine loaded 20x over its cores. */
const START_TIMEOUT_MS = Number(process.env.BENCH_START_TIMEOUT_SECONDS ?? 300) * 1000;

export interface ServiceProcess {
  child: ChildProcess;
  /** The service's own process (node runs main.ts itself: no wrapper in between), for /proc. */
  pid: number;
  url: string;
  output(): string;
  /** Sum of a metric's samples (Prometheus text format). */
  metric(name: string): Promise<number>;
  /** Every metric's sum of samples, from one scrape. */
  metrics(): Promise<Map<string, number>>;
  /** SIGTERM, and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL (a crash: no shutdown of any kind), and wait for the exit. */
  kill(): Promise<void>;
}

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await Promise.resolve(probe()).catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function startArchiver(env: Record<string, string>): Promise<ServiceProcess> {
  return startServiceProcess('archiver', env);
}

/** Starts services/<service>/src/main.ts and waits until its /readyz answers 200. */
export async function startServiceProcess(service: string, env: Record<string, string>): Promise<ServiceProcess> {
  // BENCH_NODE_ARGS passes node flags to the service alone, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', `services/${service}/src/main.ts`], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  let url: string;
  try {
    url = await until(
      () => {
        if (child.exitCode !== null) throw new Error(`${service} exited:\n${output.slice(-3000)}`);
        const match = /"metrics":"(http:[^"]+)\/metrics"/.exec(output);
        return match?.[1];
      },
      `${service} to start`,
      START_TIMEOUT_MS,
    );
    await until(async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined), `${service} to be ready`, START_TIMEOUT_MS);
  } catch (err) {
    // Not left running (nor keeping the benchmark's process alive through its pipes).
    child.kill('SIGKILL');
    throw err;
  }
  const instance: ServiceProcess = {
    child,
    pid: child.pid!,
    url,
    output: () => output,
    async metric(name) {
      return (await instance.metrics()).get(name) ?? 0;
    },
    async metrics() {
      const text = await (await fetch(`${url}/metrics`)).text();
      const sums = new Map<string, number>();
      for (const line of text.split('\n')) {
        const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
        if (match) sums.set(match[1]!, (sums.get(match[1]!) ?? 0) + Number(match[3]));
      }
      return sums;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      // The services stop within 30 s (their clean-stop budget); past that the bench must not hang on one.
      const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
  return instance;
}

export { until };
