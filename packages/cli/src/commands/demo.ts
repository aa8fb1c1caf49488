import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify as toYaml } from 'yaml';
import { Recorder, TrafficGenerator } from '@opentrail/producer';
import { endpointsFromEnv, endpointsToEnv, freePort, startStack, type Stack, type StackEndpoints } from '@opentrail/stack';
import { demoConfig, prepareDemoResources, type DemoResources } from '../demo/setup.js';
import { scenarioTraffic } from '../demo/traffic.js';
import type { Command } from './index.js';
import { sendTraffic } from './produce.js';

const ROOT = resolve(new URL('../../../../', import.meta.url).pathname);

const HELP = `usage: opentrail demo [--rate N] [--dir DIR]

The main job on its embedded default: starts the local stack (unless OPENTRAIL_KAFKA_BROKERS,
OPENTRAIL_SCHEMA_REGISTRY_URL and OPENTRAIL_AWS_ENDPOINT name one), every service, and sample
traffic; prints where to look. Ctrl-C stops everything.

  --rate N    sample events per second (default 20)
  --dir DIR   working directory for config, logs and the stack (default .demo)
`;

interface RunningService {
  name: string;
  child: ChildProcess;
  port: number;
}

/** Services are the folders under services/ with a src/main.ts: each joins the demo as it lands. */
export function discoverServices(root = ROOT): string[] {
  const dir = join(root, 'services');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, 'src', 'main.ts')))
    .sort((a, b) => SERVICE_ORDER.indexOf(a) - SERVICE_ORDER.indexOf(b));
}

// Upstream first, so that topics and schemas exist before their readers start.
const SERVICE_ORDER = ['enricher', 'archiver', 'digester', 'notifier', 'alerter', 'history', 'api'];

export const demo: Command = {
  summary: 'run the whole system locally with sample traffic (npm start)',
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { rate: { type: 'string', default: '20' }, dir: { type: 'string', default: '.demo' }, help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const dir = resolve(ROOT, values.dir);
    await mkdir(join(dir, 'logs'), { recursive: true });
    const say = (line: string) => process.stdout.write(`${line}\n`);
    const note = (line: string) => process.stderr.write(`demo: ${line}\n`);

    let stack: Stack | undefined;
    let endpoints: StackEndpoints | undefined = endpointsFromEnv();
    const services: RunningService[] = [];
    const traffic = new AbortController();
    let recorder: Recorder | undefined;
    let stopping: Promise<void> | undefined;

    const stop = () =>
      (stopping ??= (async () => {
        note('stopping…');
        traffic.abort();
        await recorder?.close().catch(() => undefined);
        // Services stop in reverse order, each given time to flush and commit.
        for (const service of [...services].reverse()) await stopChild(service.child);
        await stack?.stop();
        note('stopped');
      })());
    process.once('SIGINT', () => void stop().then(() => process.exit(0)));
    process.once('SIGTERM', () => void stop().then(() => process.exit(0)));

    try {
      if (endpoints) note(`using the stack named in the environment (${endpoints.kafkaBrokers})`);
      else {
        note('starting the local stack (Kafka, Apicurio Registry, moto); the first run downloads them once…');
        stack = await startStack({ dir: join(dir, 'stack'), log: note });
        endpoints = stack.endpoints;
      }
      say(`ready: stack kafka=${endpoints.kafkaBrokers} registry=${endpoints.schemaRegistryUrl} s3=${endpoints.awsEndpoint}`);

      const resources: DemoResources = await prepareDemoResources(endpoints);
      const configFile = join(dir, 'opentrail.yaml');
      await writeFile(configFile, `# Written by opentrail demo; every service reads it (OPENTRAIL_CONFIG_FILE).\n${toYaml(demoConfig(endpoints, resources))}`);

      const names = discoverServices();
      for (const [index, name] of names.entries()) {
        const port = await portNear(9464 + index);
        const child = startServiceProcess(name, {
          ...process.env,
          ...endpointsToEnv(endpoints),
          OPENTRAIL_CONFIG_FILE: configFile,
          OPENTRAIL_HTTP_PORT: String(port),
          AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
          AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
          AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
        }, join(dir, 'logs', `${name}.log`));
        services.push({ name, child, port });
        await waitReady(name, child, port);
        say(`ready: ${name} metrics=http://127.0.0.1:${port}/metrics`);
      }

      recorder = await Recorder.create({ kafka: { brokers: endpoints.kafkaBrokers.split(','), clientId: 'opentrail-demo' }, registry: { url: endpoints.schemaRegistryUrl }, topic: 'opentrail.events.raw' });
      const rate = Number(values.rate);
      void sendTraffic(recorder, scenarioTraffic(new TrafficGenerator({ seed: Date.now() % 100_000, accounts: 8 }), rate), { rate, durationSeconds: 0, signal: traffic.signal, log: note });
      say(`ready: traffic ${rate} events/s into opentrail.events.raw`);
      say('');
      for (const line of whereToLook(endpoints, resources, services, dir)) say(line);
      await new Promise(() => undefined); // until Ctrl-C
      return 0;
    } catch (err) {
      note((err as Error).message);
      await stop();
      return 1;
    }
  },
};

function startServiceProcess(name: string, env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'services', name, 'src', 'main.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return child;
}

async function waitReady(name: string, child: ChildProcess, port: number, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}; see its log in .demo/logs/${name}.log`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name} not ready after ${timeoutMs / 1000} s; see .demo/logs/${name}.log`);
}

async function stopChild(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

/** The wished-for port if it is free (stable URLs for a Prometheus scrape config), else any free one. */
async function portNear(wanted: number): Promise<number> {
  const { createServer } = await import('node:net');
  const free = await new Promise<boolean>((resolveFree) => {
    const server = createServer();
    server.once('error', () => resolveFree(false));
    server.listen(wanted, '127.0.0.1', () => server.close(() => resolveFree(true)));
  });
  return free ? wanted : freePort();
}

function whereToLook(endpoints: StackEndpoints, resources: DemoResources, services: RunningService[], dir: string): string[] {
  const env = `set -a; . ${join(dir, 'endpoints.env')}; set +a`;
  void writeFile(join(dir, 'endpoints.env'), `${Object.entries(endpointsToEnv(endpoints)).map(([k, v]) => `${k}=${v}`).join('\n')}\nAWS_ACCESS_KEY_ID=test\nAWS_SECRET_ACCESS_KEY=test\nAWS_REGION=us-east-1\n`);
  return [
    'Where to look:',
    `  log files     aws --endpoint-url ${endpoints.awsEndpoint} s3 ls --recursive s3://${resources.bucket}/AWSLogs/   (first files within a minute)`,
    `  metrics       ${services.map((s) => `http://127.0.0.1:${s.port}/metrics`).join('  ') || '(no services yet)'}`,
    `  topics        opentrail.events.raw → opentrail.events.enriched → opentrail.deliveries / opentrail.alerts (dead letters: opentrail.events.dlq)`,
    `  service logs  ${join(dir, 'logs')}/<service>.log (JSON lines)`,
    `  more traffic  ${env}; npm run produce -- --rate 200 --duration 30`,
    '  stop          Ctrl-C',
  ];
}
