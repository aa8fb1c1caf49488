/** The archiver as a real process for the benchmark: started with tsx, its metrics read over HTTP. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ArchiverProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  /** Sum of a metric's samples (Prometheus text format). */
  metric(name: string): Promise<number>;
  stop(): Promise<void>;
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

export async function startArchiver(env: Record<string, string>): Promise<ArchiverProcess> {
  // BENCH_NODE_ARGS passes node flags to the archiver alone, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'services/archiver/src/main.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const url = await until(
    () => {
      if (child.exitCode !== null) throw new Error(`archiver exited:\n${output.slice(-3000)}`);
      const match = /"metrics":"(http:[^"]+)\/metrics"/.exec(output);
      return match?.[1];
    },
    'the archiver to start',
    60_000,
  );
  await until(async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined), 'the archiver to be ready', 60_000);
  return {
    child,
    url,
    output: () => output,
    async metric(name) {
      const text = await (await fetch(`${url}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
        if (match && match[1] === name) sum += Number(match[3]);
      }
      return sum;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export { until };
