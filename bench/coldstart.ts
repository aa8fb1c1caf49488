/**
 * `npm run coldstart`: the whole system started cold, again and again, on a loaded machine (issue 21).
 *
 * Each run starts, all together, a stack of its own (Kafka, Apicurio Registry, moto on ports the
 * kernel picks, under --dir, never the shared one) and every service, through `opentrail demo`, while
 * two CPU-burning processes load the machine. Even runs start on fresh state (the directory
 * removed), odd runs reuse the previous run's. A run passes when every service is ready and events
 * produced after the start reach S3 as CloudTrail log files. It prints `cold start: N/M` and exits
 * non-zero unless every run passed.
 *
 *   npm run coldstart                    # 20 runs
 *   npm run coldstart -- --runs 3        # the short form CI runs (npm test)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { AwsClients } from '@opentrail/aws';
import { DEMO_ACCOUNT, DEMO_BUCKET } from '../packages/cli/src/demo/setup.js';
import { ENDPOINT_ENV } from '@opentrail/stack';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    dir: { type: 'string', default: '.coldstart' },
    burners: { type: 'string', default: '2' },
    'ready-timeout': { type: 'string', default: '480' },
    's3-timeout': { type: 'string', default: '180' },
  },
});
const runs = Number(values.runs);
// moto takes any credentials; the demo hands its services the same.
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
const dir = resolve(ROOT, values.dir);
const readyTimeoutMs = Number(values['ready-timeout']) * 1000;
const s3TimeoutMs = Number(values['s3-timeout']) * 1000;

interface RunResult {
  pass: boolean;
  state: 'fresh' | 'reused';
  seconds: number;
  readySeconds?: number;
  s3Seconds?: number;
  restarts: number;
  errorLines: number;
  reason?: string;
}

/** A process that keeps one core busy: the load of a machine that also does other work. */
function burner(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}

/** Log sizes before a run: only what this run appended is searched for error lines. */
function logSizes(): Map<string, number> {
  const logs = join(dir, 'logs');
  const sizes = new Map<string, number>();
  if (existsSync(logs)) for (const f of readdirSync(logs)) sizes.set(f, statSync(join(logs, f)).size);
  return sizes;
}

function errorLinesSince(before: Map<string, number>): string[] {
  const logs = join(dir, 'logs');
  if (!existsSync(logs)) return [];
  const found: string[] = [];
  for (const f of readdirSync(logs)) {
    const text = readFileSync(join(logs, f)).subarray(before.get(f) ?? 0).toString();
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as { level?: string; msg?: string };
        if (entry.level === 'error' || entry.level === 'fatal') found.push(`${f}: ${entry.msg}`);
      } catch {
        /* a partial line */
      }
    }
  }
  return found;
}

/** CloudTrail log files (not digests) of the demo account written to the demo bucket since `since`. */
async function logFilesSince(awsEndpoint: string, since: Date): Promise<number> {
  const aws = new AwsClients({ endpoint: awsEndpoint, region: 'us-east-1' });
  try {
    let count = 0;
    let token: string | undefined;
    do {
      const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: DEMO_BUCKET, Prefix: `AWSLogs/${DEMO_ACCOUNT}/CloudTrail/`, ContinuationToken: token }));
      count += (listed.Contents ?? []).filter((o) => o.Key?.endsWith('.json.gz') && (o.LastModified ?? new Date(0)) >= since).length;
      token = listed.NextContinuationToken;
    } while (token && count === 0);
    return count;
  } catch (err) {
    console.log(`  listing s3://${DEMO_BUCKET}: ${(err as Error).message}`);
    return 0;
  } finally {
    aws.destroy();
  }
}

async function stopDemo(demo: ChildProcess): Promise<void> {
  if (demo.exitCode !== null || demo.signalCode !== null) return;
  const exited = new Promise((r) => demo.once('exit', r));
  demo.kill('SIGTERM');
  const timer = setTimeout(() => {
    // The demo's group: the demo, its stack and its services.
    try {
      process.kill(-demo.pid!, 'SIGKILL');
    } catch {
      demo.kill('SIGKILL');
    }
  }, 90_000);
  await exited;
  clearTimeout(timer);
}

async function oneRun(index: number): Promise<RunResult> {
  const state = index % 2 === 0 ? 'fresh' : 'reused';
  if (state === 'fresh') await rm(dir, { recursive: true, force: true });
  const before = logSizes();
  const started = Date.now();
  const burners = Array.from({ length: Number(values.burners) }, burner);
  // The demo starts its own stack only when no endpoint is named in the environment.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !(Object.values(ENDPOINT_ENV) as string[]).includes(k)));
  const demo = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'packages/cli/src/bin.ts'), 'demo', '--dir', dir, '--rate', '20'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let restarts = 0;
  let awsEndpoint: string | undefined;
  let failed: string | undefined;
  let readyAt: number | undefined;
  let out = '';
  demo.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    let nl;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      if (line.startsWith('restarted: ')) {
        restarts++;
        console.log(`  ${line}`);
      }
      if (line.startsWith('failed: ')) failed = line;
      const s3 = /^ready: stack .* s3=(\S+)/.exec(line);
      if (s3) awsEndpoint = s3[1];
      // Traffic starts once every service is ready.
      if (line.startsWith('ready: traffic')) readyAt = Date.now();
    }
  });
  let stderr = '';
  demo.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const result = (pass: boolean, reason?: string): RunResult => ({
    pass,
    state,
    reason,
    restarts,
    seconds: Math.round((Date.now() - started) / 1000),
    readySeconds: readyAt && Math.round((readyAt - started) / 1000),
    errorLines: 0,
  });

  let outcome: RunResult;
  try {
    while (readyAt === undefined && !failed && demo.exitCode === null && Date.now() - started < readyTimeoutMs) await new Promise((r) => setTimeout(r, 500));
    if (failed) outcome = result(false, failed);
    else if (readyAt === undefined) outcome = result(false, demo.exitCode !== null ? `demo exited (${demo.exitCode}): ${stderr.trim().split('\n').slice(-3).join(' | ')}` : `not every service ready within ${readyTimeoutMs / 1000} s`);
    else {
      const trafficFrom = new Date(readyAt - 2000);
      let files = 0;
      while (!failed && demo.exitCode === null && Date.now() - readyAt < s3TimeoutMs && (files = await logFilesSince(awsEndpoint!, trafficFrom)) === 0) await new Promise((r) => setTimeout(r, 2000));
      outcome = files > 0 ? { ...result(true), s3Seconds: Math.round((Date.now() - readyAt) / 1000) } : result(false, failed ?? `no log file in S3 within ${s3TimeoutMs / 1000} s of the traffic starting`);
    }
  } finally {
    for (const b of burners) b.kill('SIGKILL');
    await stopDemo(demo);
  }
  const errors = errorLinesSince(before);
  outcome.errorLines = errors.length;
  for (const line of errors.slice(0, 5)) console.log(`  error line: ${line}`);
  return outcome;
}

const results: RunResult[] = [];
for (let i = 0; i < runs; i++) {
  const r = await oneRun(i);
  results.push(r);
  console.log(
    `run ${i + 1}/${runs} (${r.state}): ${r.pass ? 'pass' : 'FAIL'} in ${r.seconds} s` +
      ` (all ready ${r.readySeconds ?? '-'} s, first log file in S3 ${r.s3Seconds ?? '-'} s after; ${r.restarts} restarts, ${r.errorLines} error lines)` +
      (r.reason ? `: ${r.reason}` : ''),
  );
}
const passed = results.filter((r) => r.pass).length;
console.log(`cold start: ${passed}/${runs}`);
process.exit(passed === runs ? 0 : 1);
