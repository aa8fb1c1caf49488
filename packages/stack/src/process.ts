import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';

/** A server started as a local process, in a process group of its own so that stop() leaves nothing behind. */
export interface ServerProcess {
  name: string;
  pid: number;
  logFile: string;
  stop(timeoutMs?: number): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** The signal that asks this server to stop (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
  /** Run as this user and group (a server that refuses root, e.g. PostgreSQL). */
  uid?: number;
  gid?: number;
}

/**
 * Starts a server detached from the caller (stdout and stderr to a log file). The process keeps
 * running if the caller exits, which is what `stack:up` wants; tests stop it explicitly.
 */
export function spawnServer(opts: SpawnOptions): ServerProcess {
  const fd = openSync(opts.logFile, 'a');
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    detached: true,
    stdio: ['ignore', fd, fd],
    uid: opts.uid,
    gid: opts.gid,
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${opts.name}: could not start ${opts.command}`);
  child.unref();
  const pid = child.pid;
  return { name: opts.name, pid, logFile: opts.logFile, stop: (timeoutMs) => stopProcessGroup(pid, timeoutMs, opts.stopSignal) };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `signal` (SIGTERM by default) to the whole group, wait, then SIGKILL whatever is left. */
export async function stopProcessGroup(pid: number, timeoutMs = 15_000, stopSignal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal(stopSignal);
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  signal('SIGKILL');
  while (isAlive(pid)) await sleep(50);
}

/** Asks the kernel for a free port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export function tcpReachable(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * Polls `probe` until it answers true. Readiness is checked, never slept: if the process dies
 * first, or the deadline passes, the error carries the tail of the server's log.
 */
export async function waitUntilReady(
  server: ServerProcess,
  probe: () => Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (!isAlive(server.pid)) throw new Error(`${server.name} exited during start-up:\n${tail(server.logFile)}`);
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`${server.name} not ready after ${timeoutMs} ms:\n${tail(server.logFile)}`);
    }
    await sleep(200);
  }
}

export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return res.ok;
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
