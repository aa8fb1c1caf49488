/**
 * npm run stack:up | stack:down | stack:install | stack:status
 *
 * `up` starts the real local stack in the background, records it in .stack/ (or $OPENTRAIL_STACK_DIR),
 * and prints the endpoints as KEY=value lines on stdout (everything else goes to stderr), so that
 * `eval "$(npm run -s stack:up)"` or `set -a; . .stack/endpoints.env` gives services and tests their
 * endpoints (Kafka, the registry, moto/AWS, PostgreSQL). `down` stops every process it started.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { endpointsToEnv, givenEndpoints, installStack, startStack, type StackEndpoints } from './index.js';
import { isAlive, stopProcessGroup } from './process.js';

interface StackState {
  backend: string;
  endpoints: StackEndpoints;
  pids: Record<string, number>;
  dir: string;
  startedAt: string;
}

const stackDir = resolve(process.env.OPENTRAIL_STACK_DIR ?? '.stack');
const stateFile = join(stackDir, 'stack.json');
const log = (line: string) => process.stderr.write(`stack: ${line}\n`);

async function readState(): Promise<StackState | undefined> {
  if (!existsSync(stateFile)) return undefined;
  return JSON.parse(await readFile(stateFile, 'utf8')) as StackState;
}

function printEndpoints(endpoints: StackEndpoints) {
  for (const [key, value] of Object.entries(endpointsToEnv(endpoints))) process.stdout.write(`${key}=${value}\n`);
}

async function up() {
  const existing = await readState();
  if (existing && Object.values(existing.pids).every(isAlive)) {
    log(`already running (started ${existing.startedAt}); 'npm run stack:down' stops it`);
    printEndpoints(existing.endpoints);
    return;
  }
  if (existing) await down();
  await mkdir(stackDir, { recursive: true });
  const started = Date.now();
  // Servers whose endpoint the environment already names (e.g. a shared Kafka) are not started:
  // `. shared/endpoints.env; OPENTRAIL_STACK_DIR=.stack-pg npm run stack:up` adds only PostgreSQL.
  const stack = await startStack({ dir: join(stackDir, 'servers'), log, given: givenEndpoints() });
  if (stack.backend === 'docker') {
    log('the docker backend lives as long as this process; use it from tests (startStack) rather than stack:up');
  }
  const state: StackState = { backend: stack.backend, endpoints: stack.endpoints, pids: stack.pids, dir: stack.dir, startedAt: new Date().toISOString() };
  await writeFile(stateFile, JSON.stringify(state, null, 2));
  const env = Object.entries(endpointsToEnv(stack.endpoints)).map(([k, v]) => `${k}=${v}`).join('\n');
  await writeFile(join(stackDir, 'endpoints.env'), `${env}\n`);
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s; endpoints also in ${join(stackDir, 'endpoints.env')}`);
  printEndpoints(stack.endpoints);
}

async function down() {
  const state = await readState();
  if (!state) {
    log('no stack recorded; nothing to stop');
    return;
  }
  await Promise.all(Object.entries(state.pids).map(async ([name, pid]) => {
    if (isAlive(pid)) log(`stopping ${name} (pid ${pid})`);
    // PostgreSQL's SIGTERM waits for every client to leave; SIGINT is its fast shutdown.
    await stopProcessGroup(pid, 15_000, name === 'postgres' ? 'SIGINT' : 'SIGTERM');
  }));
  await rm(stackDir, { recursive: true, force: true });
  log('stopped');
}

async function status() {
  const state = await readState();
  if (!state) {
    log('not running');
    process.exitCode = 1;
    return;
  }
  for (const [name, pid] of Object.entries(state.pids)) log(`${name} pid ${pid} ${isAlive(pid) ? 'running' : 'NOT RUNNING'}`);
  printEndpoints(state.endpoints);
}

const commands: Record<string, () => Promise<void>> = {
  up,
  down,
  status,
  install: async () => {
    await installStack(log);
    log('installed');
  },
};

const command = commands[process.argv[2] ?? ''];
if (!command) {
  process.stderr.write('usage: stack <up|down|status|install>\n');
  process.exit(2);
}
command().catch((err: unknown) => {
  process.stderr.write(`stack: ${(err as Error).message}\n`);
  process.exit(1);
});
