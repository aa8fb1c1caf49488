import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceFailure, Supervisor, type ServiceSpec } from '../src/demo/supervisor.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/**
 * A real process standing in for a service: it exits with `failCode` the first `failures` times it
 * is started (counted in a file), then serves /readyz.
 */
function flakyService(name: string, port: number, failures: number, failCode = 1): ServiceSpec {
  const counter = join(mkdtempSync(join(tmpdir(), 'supervisor-')), 'starts');
  const script = `
    const fs = require('node:fs');
    const n = fs.existsSync(${JSON.stringify(counter)}) ? Number(fs.readFileSync(${JSON.stringify(counter)}, 'utf8')) : 0;
    fs.writeFileSync(${JSON.stringify(counter)}, String(n + 1));
    if (n < ${failures}) process.exit(${failCode});
    require('node:http').createServer((req, res) => res.end('ok')).listen(${port}, '127.0.0.1');
    process.on('SIGTERM', () => process.exit(0));`;
  return { name, port, logFile: `${name}.log`, spawn: () => spawn(process.execPath, ['-e', script], { stdio: 'ignore' }) };
}

let supervisor: Supervisor | undefined;
afterEach(() => {
  supervisor?.stop();
  for (const { child } of supervisor?.children ?? []) child.kill('SIGKILL');
});

describe('the demo supervisor', () => {
  it('restarts a service that exits, with backoff, shows the restarts, and reports all ready', async () => {
    const lines: string[] = [];
    supervisor = new Supervisor({ readyDeadlineMs: 60_000, initialRestartDelayMs: 50, say: (l) => lines.push(l), pollIntervalMs: 100 });
    supervisor.start([flakyService('steady', await freePort(), 0), flakyService('flaky', await freePort(), 3)]);
    await supervisor.allReady();
    expect(supervisor.restartCount).toEqual({ steady: 0, flaky: 3 });
    expect(lines.filter((l) => l.startsWith('restarted: flaky (exit code 1; restart '))).toHaveLength(3);
    expect(lines).toContainEqual(expect.stringMatching(/^ready: flaky .*\(after 3 restarts\)$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ready: steady /));
  });

  it('fails, naming the service, when it stops on its start deadline or a configuration error (no restart)', async () => {
    for (const [code, reason] of [
      [75, /could not start within its start deadline/],
      [78, /configuration error/],
    ] as const) {
      const lines: string[] = [];
      supervisor = new Supervisor({ readyDeadlineMs: 60_000, initialRestartDelayMs: 50, say: (l) => lines.push(l), pollIntervalMs: 100 });
      supervisor.start([flakyService('steady', await freePort(), 0), flakyService('archiver', await freePort(), 1, code)]);
      const err = await supervisor.allReady().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ServiceFailure);
      expect((err as ServiceFailure).service).toBe('archiver');
      expect((err as Error).message).toMatch(reason);
      expect(supervisor.restartCount.archiver).toBe(0);
      supervisor.stop();
      for (const { child } of supervisor.children) child.kill('SIGKILL');
    }
  });

  it('fails, naming the service, when one crash-loops past the ready deadline', async () => {
    supervisor = new Supervisor({ readyDeadlineMs: 1500, initialRestartDelayMs: 50, maxRestartDelayMs: 200, say: () => undefined, pollIntervalMs: 100 });
    supervisor.start([flakyService('steady', await freePort(), 0), flakyService('notifier', await freePort(), 1000)]);
    const err = await supervisor.allReady().catch((e: unknown) => e);
    expect((err as ServiceFailure).service).toBe('notifier');
    expect((err as Error).message).toMatch(/not ready within 2 s \(\d+ restarts\)/);
    expect(supervisor.restartCount.notifier).toBeGreaterThan(1);
  });

  it('keeps an added instance running like the others, and neither restarts nor waits for a retired one (scale-out, scale-in)', async () => {
    const lines: string[] = [];
    supervisor = new Supervisor({ readyDeadlineMs: 60_000, initialRestartDelayMs: 50, say: (l) => lines.push(l), pollIntervalMs: 100 });
    supervisor.start([flakyService('archiver-1', await freePort(), 0)]);
    await supervisor.allReady();
    supervisor.add(flakyService('archiver-2', await freePort(), 0));
    await supervisor.allReady();
    expect(lines).toContainEqual(expect.stringMatching(/^ready: archiver-2 /));
    // A SIGKILL of the added one: restarted, as a pod would be.
    const first = supervisor.child('archiver-2')!;
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    await expect.poll(() => supervisor!.child('archiver-2') !== first, { timeout: 5000 }).toBe(true);
    await supervisor.allReady();
    const retired = supervisor.retire('archiver-2')!;
    const exit = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => retired.once('exit', (code, signal) => resolve([code, signal])));
    expect(exit).toEqual([0, null]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(supervisor.child('archiver-2')).toBe(retired);
    expect(supervisor.restartCount).toEqual({ 'archiver-1': 0, 'archiver-2': 1 });
    await supervisor.allReady();
    expect(supervisor.retire('archiver-2')).toBeUndefined();
  });
});
