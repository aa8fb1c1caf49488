/**
 * Every service as real processes, configured as the demo configures them (one YAML file), kept
 * running by the demo's Supervisor: a service the chaos run kills is restarted by it, as a
 * deployment's controller would restart a pod.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { freePort, type StackEndpoints } from '@opentrail/stack';
import type { Trail } from '@opentrail/trails';
import { resolveTargets } from '../services/notifier/src/targets.js';
import { demoConfig, type DemoResources } from '../packages/cli/src/demo/setup.js';
import { instanceNames, spawnService, stopService, Supervisor, type ServiceSpec } from '../packages/cli/src/demo/supervisor.js';

/** Upstream first, as the demo orders them. */
export const SERVICES = ['enricher', 'archiver', 'digester', 'notifier', 'alerter', 'history', 'api'] as const;
export type ServiceName = (typeof SERVICES)[number];

/**
 * The consumer groups of each service and the topic whose partitions they own (the defaults of
 * each service's config.ts). The notifier reads the deliveries in a group per target
 * (`opentrail-notifier.<target id>`), so its groups follow from the trails.
 */
export function consumerGroups(trails: readonly Trail[]): Partial<Record<ServiceName, { groupIds: string[]; topic: string }>> {
  return {
    enricher: { groupIds: ['opentrail-enricher'], topic: 'opentrail.events.raw' },
    archiver: { groupIds: ['opentrail-archiver'], topic: 'opentrail.events.enriched' },
    alerter: { groupIds: ['opentrail-alerter'], topic: 'opentrail.events.enriched' },
    history: { groupIds: ['opentrail-history'], topic: 'opentrail.events.enriched' },
    digester: { groupIds: ['opentrail-digester'], topic: 'opentrail.deliveries' },
    notifier: { groupIds: resolveTargets(trails).map((target) => `opentrail-notifier.${target.id}`), topic: 'opentrail.deliveries' },
  };
}

/**
 * The liveness probe, as a kubelet's: /healthz asked every 5 s; an instance that answers "failing"
 * 6 times in a row (30 s) is SIGKILLed and the supervisor restarts it. A service whose consumer
 * crashed for good (e.g. no group coordinator during a broker restart) says so on /healthz and
 * stays up, out of its group: in a cluster the kubelet restarts it, and so does the run.
 * Not answering at all (starting, or just killed) is the supervisor's business, not counted here.
 */
const LIVENESS_PERIOD_MS = 5000;
const LIVENESS_FAILURES = 6;

export interface Instance {
  name: string;
  service: ServiceName;
  port: number;
  logFile: string;
}

export interface Pipeline {
  supervisor: Supervisor;
  /** The running instances: a scale-out adds one, a scale-in removes it (the Observer reads this list). */
  instances: Instance[];
  apiUrl: string;
  /** A scale-out: one more instance of the service, named `name`, kept running by the supervisor. */
  addInstance(service: ServiceName, name: string): Promise<Instance>;
  /** A scale-in: SIGTERM, no restart; resolves when the process has exited. */
  retireInstance(name: string): Promise<void>;
  /** Instances the liveness probe restarted (their /healthz failed for LIVENESS_FAILURES polls in a row). */
  readonly livenessRestarts: string[];
  stop(): Promise<void>;
}

export async function startPipeline(options: {
  dir: string;
  endpoints: StackEndpoints;
  resources: DemoResources;
  replicas: Map<string, number>;
  overrides: Record<string, unknown>;
  say: (line: string) => void;
}): Promise<Pipeline> {
  const { dir, endpoints } = options;
  const root = join(import.meta.dirname, '..');
  await mkdir(join(dir, 'logs'), { recursive: true });
  const apiPort = await freePort();
  const configFile = join(dir, 'opentrail.yaml');
  await writeFile(configFile, toYaml(demoConfig(endpoints, { resources: options.resources, apiPort, dir }, options.overrides)));
  const instances: Instance[] = [];
  const specFor = async (service: ServiceName, name: string): Promise<ServiceSpec> => {
    const port = await freePort();
    const logFile = join(dir, 'logs', `${name}.log`);
    const env = {
      ...process.env,
      OPENTRAIL_CONFIG_FILE: configFile,
      OPENTRAIL_HTTP_PORT: String(port),
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
    };
    instances.push({ name, service, port, logFile });
    return { name, port, logFile, spawn: () => spawnService(root, service, env, logFile) };
  };
  const specs: ServiceSpec[] = [];
  for (const service of SERVICES) {
    for (const name of instanceNames(service, options.replicas.get(service) ?? 1)) specs.push(await specFor(service, name));
  }
  // Restarts come quickly (as a pod's first restart does): the run measures the services' own
  // recovery, not a controller's backoff.
  const supervisor = new Supervisor({ readyDeadlineMs: 600_000, initialRestartDelayMs: 200, maxRestartDelayMs: 2000, say: options.say });
  supervisor.start(specs);
  try {
    await supervisor.allReady();
  } catch (err) {
    // Not one of them is left running when the pipeline cannot start.
    supervisor.stop();
    await Promise.all(supervisor.children.map(({ child }) => stopService(child)));
    throw err;
  }
  const livenessRestarts: string[] = [];
  const failing = new Map<string, number>();
  const probe = setInterval(() => {
    for (const instance of instances) {
      void fetch(`http://127.0.0.1:${instance.port}/healthz`, { signal: AbortSignal.timeout(3000) })
        .then(async (res) => {
          const count = res.ok ? 0 : (failing.get(instance.name) ?? 0) + 1;
          failing.set(instance.name, count);
          if (count < LIVENESS_FAILURES) return;
          failing.set(instance.name, 0);
          const child = supervisor.child(instance.name);
          if (!instances.includes(instance) || !child || child.exitCode !== null || child.signalCode !== null) return;
          livenessRestarts.push(instance.name);
          options.say(`liveness: ${instance.name} /healthz failing for ${(LIVENESS_FAILURES * LIVENESS_PERIOD_MS) / 1000} s (${(await res.text()).slice(0, 200)}); SIGKILL, the supervisor restarts it`);
          child.kill('SIGKILL');
        })
        .catch(() => failing.set(instance.name, 0));
    }
  }, LIVENESS_PERIOD_MS);
  return {
    supervisor,
    instances,
    livenessRestarts,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    async addInstance(service, name) {
      const spec = await specFor(service, name);
      supervisor.add(spec);
      return instances.find((i) => i.name === name)!;
    },
    async retireInstance(name) {
      // Out of the observed set at once: what the remaining instances own is the hand-over.
      const at = instances.findIndex((i) => i.name === name);
      if (at >= 0) instances.splice(at, 1);
      const child = supervisor.retire(name);
      if (child && child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
    async stop() {
      clearInterval(probe);
      supervisor.stop();
      await Promise.all(supervisor.children.map(({ child }) => stopService(child)));
    },
  };
}
