import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as fromYaml, stringify as toYaml } from 'yaml';
import { Recorder } from '@opentrail/producer';
import { confluentLoadable } from '@opentrail/runtime';
import { TrafficGenerator } from '@opentrail/testing';
import { CloudTrailApiClient, CloudTrailApiError } from '@opentrail/integrity';
import { endpointsFromEnv, endpointsToEnv, freePort, givenEndpoints, startStack, startTrino, type Stack, type StackEndpoints, type TrinoServer } from '@opentrail/stack';
import { DEMO_ACCESS_KEY, DEMO_ACCOUNT, DEMO_EVENT_DATA_STORE, DEMO_READ_ONLY_KEY, DEMO_REGION, DEMO_TRAIL, DEMO_WRITES_PREFIX, demoConfig, prepareDemoResources, type DemoResources } from '../demo/setup.js';
import { instanceNames, parseReplicas, ServiceFailure, spawnService, stopService, Supervisor, type ServiceSpec } from '../demo/supervisor.js';
import { scenarioTraffic } from '../demo/traffic.js';
import type { Command } from './index.js';
import { sendTraffic } from './produce.js';

const ROOT = resolve(new URL('../../../../', import.meta.url).pathname);

const HELP = `usage: opentrail demo [--rate N] [--dir DIR] [--config FILE] [--replicas SERVICE=N,…]

The main job on its embedded default: starts the local stack (unless OPENTRAIL_KAFKA_BROKERS,
OPENTRAIL_SCHEMA_REGISTRY_URL and OPENTRAIL_AWS_ENDPOINT name one), every service, and sample
traffic with alert scenarios woven in; prints where to look. Ctrl-C stops everything.

  --rate N       sample events per second (default 20)
  --dir DIR      working directory for config, logs and the stack (default .demo)
  --config FILE  YAML merged over the generated configuration (objects key by key, lists replaced)
  --replicas S=N instances per service, e.g. archiver=3,enricher=2 (each with its own metrics
                 port and log file archiver-1.log …); in the config file: demo: { replicas: { archiver: 3 } }
  --no-lake      no Trino (CloudTrail Lake's queries are then UnsupportedOperationException)
`;

/** The topics of the demo (the default prefix). */
const PREFIX = 'opentrail.';

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

// Upstream first: the order of the ports, and (reversed) of stopping, so that what is downstream
// stops first. They start all at once: each waits for the topics and schemas it reads.
const SERVICE_ORDER = ['enricher', 'archiver', 'digester', 'notifier', 'alerter', 'history', 'api', 'lake'];

export const demo: Command = {
  summary: 'run the whole system locally with sample traffic (npm start)',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { rate: { type: 'string', default: '20' }, dir: { type: 'string', default: '.demo' }, config: { type: 'string' }, replicas: { type: 'string' }, 'no-lake': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const dir = resolve(ROOT, values.dir);
    await mkdir(join(dir, 'logs'), { recursive: true });
    const say = (line: string) => process.stdout.write(`${line}\n`);
    const note = (line: string) => process.stderr.write(`demo: ${line}\n`);

    let stack: Stack | undefined;
    let trino: TrinoServer | undefined;
    let trinoStarting: Promise<TrinoServer | undefined> | undefined;
    let endpoints: StackEndpoints | undefined = endpointsFromEnv();
    let supervisor: Supervisor | undefined;
    const traffic = new AbortController();
    let recorder: Recorder | undefined;
    let stopping: Promise<void> | undefined;

    const stop = () =>
      (stopping ??= (async () => {
        note('stopping…');
        traffic.abort();
        await recorder?.close().catch(() => undefined);
        supervisor?.stop();
        // Services stop in reverse order, each given time to flush and commit.
        for (const service of [...(supervisor?.children ?? [])].reverse()) await stopService(service.child);
        await (trino ?? (await trinoStarting?.catch(() => undefined)))?.stop();
        await stack?.stop();
        note('stopped');
      })());
    // Ctrl-C reaches the demo more than once (the terminal signals the whole process group, and
    // npm and tsx relay it too), so only a signal well after the first means "stop waiting": the
    // services are then killed at once.
    let stopSignalAt = 0;
    const onSignal = () => {
      if (stopping) {
        if (Date.now() - stopSignalAt > 3000) for (const service of supervisor?.children ?? []) service.child.kill('SIGKILL');
        return;
      }
      stopSignalAt = Date.now();
      void stop().then(() => process.exit(0));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    try {
      if (endpoints) note(`using the stack named in the environment (${endpoints.kafkaBrokers})`);
      else {
        note('starting the local stack (Kafka, Apicurio Registry, moto, PostgreSQL); the first run downloads them once…');
        // Servers the environment already names (e.g. a shared Kafka without PostgreSQL) are reused.
        stack = await startStack({ dir: join(dir, 'stack'), log: note, given: givenEndpoints() });
        endpoints = stack.endpoints;
      }
      say(`ready: stack kafka=${endpoints.kafkaBrokers} registry=${endpoints.schemaRegistryUrl} s3=${endpoints.awsEndpoint} postgres=${endpoints.databaseUrl}`);

      const resources: DemoResources = await prepareDemoResources(endpoints);
      const { demo: demoSection, ...overrides } = values.config ? ((fromYaml(await readFile(resolve(values.config), 'utf8')) ?? {}) as Record<string, unknown>) : {};
      // The default client is a native build (npm start's prestart makes it); where it could not be
      // built, the demo still runs, on kafkajs, unless a client was chosen: services and tools inherit it.
      const clientChosen = process.env.OPENTRAIL_KAFKA_CLIENT || (overrides as { kafka?: { client?: unknown } }).kafka?.client !== undefined;
      if (!clientChosen && !confluentLoadable()) {
        process.env.OPENTRAIL_KAFKA_CLIENT = 'kafkajs';
        note('the Kafka client @confluentinc/kafka-javascript is not built here: running on kafkajs');
      }
      // The demo's own section (not a service's) says how many instances of each service run; --replicas wins.
      const replicas = parseReplicas(values.replicas ?? ((demoSection as { replicas?: Record<string, unknown> } | undefined)?.replicas), discoverServices());
      const apiPort = await portNear(8090);
      // Trino (CloudTrail Lake's engine) starts beside the services and is not waited for: its JVM
      // takes 15-30 s, and nothing but Lake queries needs it.
      let trinoUrl: string | undefined;
      if (!values['no-lake']) {
        const trinoPort = await portNear(8095);
        trinoUrl = `http://127.0.0.1:${trinoPort}`;
        trinoStarting = startTrino({ dir: join(dir, 'trino'), port: trinoPort, awsEndpoint: endpoints.awsEndpoint, region: DEMO_REGION, accessKeyId: 'test', secretAccessKey: 'test', metastoreDir: 's3://opentrail-lake/_metastore' }).then(
          (server) => {
            trino = server;
            say(`ready: trino ${server.url} (CloudTrail Lake queries) in ${(server.startupMs / 1000).toFixed(1)} s`);
            return server;
          },
          (err: unknown) => {
            note(`Trino did not start: Lake queries will fail (${(err as Error).message.split('\n')[0]})`);
            return undefined;
          },
        );
      }
      const configFile = join(dir, 'opentrail.yaml');
      await writeFile(configFile, `# Written by opentrail demo; every service reads it (OPENTRAIL_CONFIG_FILE).\n${toYaml(demoConfig(endpoints, { resources, apiPort, dir, ...(trinoUrl ? { trinoUrl } : {}) }, overrides))}`);

      // Every service at once, as a deployment starts them after an upgrade or a node drain: each
      // waits for what it needs (topics, schemas) within its start deadline.
      const deadlineSeconds = Number(process.env.OPENTRAIL_START_DEADLINE_SECONDS ?? 300);
      supervisor = new Supervisor({ readyDeadlineMs: (deadlineSeconds + 30) * 1000, say });
      const specs: ServiceSpec[] = [];
      // The first instance of each service keeps its usual port (9464 + its place); more instances
      // take ports from 9480 up, so the single-instance URLs stay what a scrape config expects.
      let extraPort = 9480;
      for (const [index, service] of discoverServices().entries()) {
        for (const [replica, name] of instanceNames(service, replicas.get(service) ?? 1).entries()) {
          const port = replica === 0 ? await portNear(9464 + index) : await portNear(extraPort++);
          const logFile = join(dir, 'logs', `${name}.log`);
          const env = {
            // The configuration file names the stack; the endpoint variables would only repeat it
            // (and warn in services that read no AWS endpoint). Other OPENTRAIL_* variables pass.
            ...withoutKeys(process.env, Object.keys(endpointsToEnv(endpoints))),
            OPENTRAIL_CONFIG_FILE: configFile,
            OPENTRAIL_HTTP_PORT: String(port),
            AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
            AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
            AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
          };
          specs.push({ name, port, logFile, spawn: () => spawnService(ROOT, service, env, logFile) });
        }
      }
      supervisor.start(specs);
      try {
        await supervisor.allReady();
      } catch (err) {
        if (!(err instanceof ServiceFailure)) throw err;
        say(`failed: ${err.message}`);
        await stop();
        return 1;
      }
      if (stopping) {
        await stopping;
        return 0;
      }
      // A service that later keeps failing stops the demo too: traffic into a pipeline with a dead
      // stage would only pile up.
      void supervisor.failures.then(async (failure) => {
        if (stopping) return;
        say(`failed: ${failure.message}`);
        await stop();
        process.exit(1);
      });

      recorder = await Recorder.create({ kafka: { brokers: endpoints.kafkaBrokers.split(','), clientId: 'opentrail-demo' }, registry: { url: endpoints.schemaRegistryUrl }, topic: `${PREFIX}events.raw` });
      const rate = Number(values.rate);
      if (!(rate > 0)) throw new Error('--rate must be > 0');
      // The demo account first: the scenes that trip the alert rules take turns over the accounts.
      const generator = new TrafficGenerator({ seed: Date.now() % 100_000, accountIds: [DEMO_ACCOUNT, ...new TrafficGenerator({ seed: 42, accounts: 7 }).accountIds] });
      void sendTraffic(recorder, scenarioTraffic(generator, rate), { rate, durationSeconds: 0, signal: traffic.signal, log: note });
      say(`ready: traffic ${rate} events/s into ${PREFIX}events.raw`);
      const storeId = supervisor.children.some((s) => s.name === 'lake') && supervisor.children.some((s) => s.name === 'api') ? await demoEventDataStore(apiPort).catch((err: unknown) => void note(`the demo event data store could not be made: ${(err as Error).message}`)) : undefined;
      say('');
      for (const line of await whereToLook(endpoints, resources, supervisor.children, dir, apiPort, storeId ?? undefined)) say(line);
      await new Promise(() => undefined); // until Ctrl-C
      return 0;
    } catch (err) {
      note((err as Error).message);
      await stop();
      return 1;
    }
  },
};

function withoutKeys(env: NodeJS.ProcessEnv, keys: string[]): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !keys.includes(key)));
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

/**
 * The demo's CloudTrail Lake event data store (every management event of the demo account), made
 * through the API like any caller would: its ID, or that of the one an earlier run made.
 */
async function demoEventDataStore(apiPort: number): Promise<string> {
  const api = new CloudTrailApiClient({ endpoint: `http://127.0.0.1:${apiPort}`, region: DEMO_REGION, credentials: DEMO_ACCESS_KEY });
  const idOf = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);
  try {
    const created = await api.callTarget<{ EventDataStoreArn: string }>('CloudTrail_20131101.CreateEventDataStore', { Name: DEMO_EVENT_DATA_STORE, RetentionPeriod: 7, TerminationProtectionEnabled: false });
    return idOf(created.EventDataStoreArn);
  } catch (err) {
    if (!(err instanceof CloudTrailApiError && err.code === 'EventDataStoreAlreadyExistsException')) throw err;
    const listed = await api.callTarget<{ EventDataStores: { EventDataStoreArn: string; Name: string }[] }>('CloudTrail_20131101.ListEventDataStores', {});
    const found = listed.EventDataStores.find((s) => s.Name === DEMO_EVENT_DATA_STORE);
    if (!found) throw err;
    return idOf(found.EventDataStoreArn);
  }
}

async function whereToLook(endpoints: StackEndpoints, resources: DemoResources, services: RunningService[], dir: string, apiPort: number, storeId?: string): Promise<string[]> {
  const envFile = join(dir, 'endpoints.env');
  // The AWS CLI and SDKs read service-specific endpoints from AWS_ENDPOINT_URL_<SERVICE>: with this
  // file sourced, plain `aws s3 …` reaches moto and `aws cloudtrail …` the demo's API.
  const awsEnv = {
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_DEFAULT_REGION: DEMO_REGION,
    AWS_REGION: DEMO_REGION,
    AWS_ENDPOINT_URL_S3: endpoints.awsEndpoint,
    AWS_ENDPOINT_URL_SNS: endpoints.awsEndpoint,
    AWS_ENDPOINT_URL_SQS: endpoints.awsEndpoint,
    AWS_ENDPOINT_URL_CLOUDTRAIL: `http://127.0.0.1:${apiPort}`,
  };
  await writeFile(envFile, `${Object.entries({ ...endpointsToEnv(endpoints), ...awsEnv }).map(([k, v]) => `${k}=${v}`).join('\n')}\n`);
  const env = `set -a; . ${envFile}; set +a`;
  const aws = `aws --endpoint-url ${endpoints.awsEndpoint}`;
  const watch = 'npx tsx packages/cli/src/demo/watch.ts';
  const api = services.find((s) => s.name === 'api');
  const trailArn = `arn:aws:cloudtrail:${DEMO_REGION}:${DEMO_ACCOUNT}:trail/${DEMO_TRAIL}`;
  const started = new Date().toISOString().slice(0, 19) + 'Z';
  return [
    `Where to look (first: ${env}):`,
    `  log files      ${aws} s3 ls --recursive s3://${resources.bucket}/AWSLogs/   (every 20 s; the write-only trail under s3://${resources.bucket}/${DEMO_WRITES_PREFIX}/)`,
    `  digests        ${aws} s3 ls --recursive s3://${resources.bucket}/AWSLogs/ | grep CloudTrail-Digest   (every minute, when the digester runs)`,
    `  notifications  ${aws} sqs receive-message --queue-url ${resources.deliveryQueueUrl} --max-number-of-messages 10   (SNS ${resources.deliveryTopicArn}); ${watch} ${PREFIX}notifications`,
    `  alerts         ${watch} ${PREFIX}alerts   (first ones within a minute: root use, failed sign-ins, security group changes)`,
    `  deliveries     ${watch} ${PREFIX}deliveries      dead letters: ${watch} ${PREFIX}events.dlq`,
    `  metrics        ${services.map((s) => `${s.name} http://127.0.0.1:${s.port}/metrics`).join('  ') || '(no services yet)'}`,
    ...(api ? [`  CloudTrail API aws --endpoint-url http://127.0.0.1:${apiPort} cloudtrail describe-trails   (also get-trail-status, list-public-keys, …)`] : []),
    // The web console (packages/console), served by the API; it signs its requests with the key entered at sign-in.
    ...(api ? [`  web console    http://127.0.0.1:${apiPort}/console/   sign in with access key ID ${DEMO_ACCESS_KEY.accessKeyId}, secret ${DEMO_ACCESS_KEY.secretAccessKey}, region ${DEMO_REGION} (read-only: ${DEMO_READ_ONLY_KEY.accessKeyId}/${DEMO_READ_ONLY_KEY.secretAccessKey})`] : []),
    ...(api
      ? [
          // Event history (services/history into PostgreSQL, served by the API): the demo's sign-in scenes.
          `  event history  aws --endpoint-url http://127.0.0.1:${apiPort} --region ${DEMO_REGION} cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=ConsoleLogin --max-items 10`,
          `                 npm run opentrail -- lookup --event-name ConsoleLogin --endpoint-url http://127.0.0.1:${apiPort} --max-items 10   (any filters combined: --username, --source-ip CIDR, --access-denied, …)`,
          `                 npm run opentrail -- resource-history <bucket, instance id, sg-…, ARN> --last --endpoint-url http://127.0.0.1:${apiPort}`,
          // Two callers (DEMO_PRINCIPALS): the CLI's key may do anything, the read-only one is refused changes.
          `  trails         npm run opentrail -- trails list --endpoint-url http://127.0.0.1:${apiPort}   (read-only caller: AWS_ACCESS_KEY_ID=${DEMO_READ_ONLY_KEY.accessKeyId} AWS_SECRET_ACCESS_KEY=${DEMO_READ_ONLY_KEY.secretAccessKey}; its create gets AccessDeniedException)`,
        ]
      : []),
    ...(api && storeId
      ? [
          // CloudTrail Lake (services/lake writes the store's Parquet table, Trino answers): rows within about 20 s.
          `  Lake SQL       aws --endpoint-url http://127.0.0.1:${apiPort} cloudtrail start-query --query-statement "SELECT eventName, COUNT(*) AS n FROM ${storeId} GROUP BY eventName ORDER BY n DESC LIMIT 10"`,
          `                 aws --endpoint-url http://127.0.0.1:${apiPort} cloudtrail get-query-results --query-id <QueryId from start-query>`,
          `                 npm run opentrail -- query "SELECT eventSource, COUNT(*) AS n FROM ${storeId} WHERE errorCode IS NOT NULL GROUP BY eventSource" --endpoint-url http://127.0.0.1:${apiPort}`,
        ]
      : []),
    api
      ? // The CLI does not apply --endpoint-url to the S3 reads of validate-logs; AWS_ENDPOINT_URL_S3 points them at moto.
        `  validate-logs  AWS_ENDPOINT_URL_S3=${endpoints.awsEndpoint} aws --endpoint-url http://127.0.0.1:${apiPort} cloudtrail validate-logs --trail-arn ${trailArn} --start-time ${started} --verbose   (after the first digest, about a minute)`
      : `  validate-logs  aws --endpoint-url <api> cloudtrail validate-logs --trail-arn ${trailArn} --start-time ${started}   (when services/api runs)`,
    `  service logs   ${join(dir, 'logs')}/<service>.log (JSON lines); configuration ${join(dir, 'opentrail.yaml')}`,
    `  more traffic   npm run produce -- --rate 200 --duration 30`,
    '  stop           Ctrl-C',
  ];
}
