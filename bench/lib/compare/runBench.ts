/**
 * One run of one bench in one tree: its own process, started in the tree's root so that `tsx` and
 * every import resolve to that tree's code and node_modules, on the same node and the same stack
 * as the other tree's runs. Its stdout is kept for the extractor; both streams are saved per run.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { BenchSpec } from './benches.js';
import type { Tree } from './trees.js';

export interface BenchRun {
  stdout: string;
  code: number | null;
  seconds: number;
  timedOut: boolean;
}

export async function runBench(
  spec: BenchSpec,
  tree: Tree,
  env: Record<string, string | undefined>,
  outputDir: string,
  runName: string,
  timeoutMs: number,
): Promise<BenchRun> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', join(tree.dir, spec.file), ...spec.args], {
    cwd: tree.dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a bench that outlives the timeout is stopped with what it spawned.
    detached: true,
  });
  const stdoutFile = createWriteStream(join(outputDir, `${runName}.stdout`));
  const stderrFile = createWriteStream(join(outputDir, `${runName}.stderr`));
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    stdoutFile.write(chunk);
  });
  child.stderr.pipe(stderrFile);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  stdoutFile.end();
  return { stdout, code, seconds: (Date.now() - started) / 1000, timedOut };
}
