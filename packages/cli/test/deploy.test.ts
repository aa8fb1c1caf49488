/**
 * docker-compose.yml, deploy/kubernetes, deploy/prometheus and deploy/grafana stay in step with
 * services/: every service that exists is deployed, probed, scraped, and the rules and the dashboard
 * only name metrics some service really exports. A new service folder fails this test until it is
 * added everywhere.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { commonBindings, loadConfig, type EnvBinding } from '@opentrail/config';

const ROOT = resolve(import.meta.dirname, '../../..');
const SERVICES = readdirSync(join(ROOT, 'services')).filter((name) => existsSync(join(ROOT, 'services', name, 'src', 'main.ts')));
const INFRASTRUCTURE = ['kafka', 'registry', 'moto', 'postgres', 'prometheus', 'trino'];

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface ComposeService {
  image?: string;
  build?: string | { context: string };
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] };
}

interface K8sObject {
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
}

interface Container {
  env?: { name: string; value?: string }[];
  readinessProbe?: { httpGet?: { path: string } };
  livenessProbe?: { httpGet?: { path: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

describe('docker-compose.yml', () => {
  // Merge keys (<<) are YAML 1.1: the services share one anchor.
  const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };

  it('runs the infrastructure from official images', () => {
    expect(compose.services.kafka?.image).toMatch(/^apache\/kafka:\d/);
    expect(compose.services.registry?.image).toMatch(/^(apicurio\/apicurio-registry|confluentinc\/cp-schema-registry):\d/);
    expect(compose.services.moto?.image).toMatch(/^motoserver\/moto:\d/);
    expect(compose.services.prometheus?.image).toMatch(/^prom\/prometheus:v\d/);
    expect(compose.services.postgres?.image).toMatch(/^postgres:\d/);
    expect(Object.keys(compose.services.history?.depends_on ?? {})).toContain('postgres');
  });

  it.each(SERVICES)('runs %s from the Dockerfile with the mounted configuration', (name) => {
    const service = compose.services[name];
    expect(service, `services/${name} is missing from docker-compose.yml`).toBeDefined();
    expect(service!.build).toBe('.');
    expect(service!.environment).toMatchObject({ OPENTRAIL_SERVICE: name, OPENTRAIL_CONFIG_FILE: '/etc/opentrail/opentrail.yaml' });
    expect(service!.volumes).toContain('./deploy/config/opentrail.yaml:/etc/opentrail/opentrail.yaml:ro');
    expect(Object.keys(service!.depends_on ?? {})).toEqual(expect.arrayContaining(['kafka', 'registry', 'moto']));
    expect(service!.healthcheck?.test.join(' ')).toContain('/readyz');
  });

  it('runs nothing that is neither infrastructure nor a service', () => {
    expect(Object.keys(compose.services).sort()).toEqual([...INFRASTRUCTURE, ...SERVICES].sort());
  });

  it('mounts files that exist', () => {
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./')) expect(existsSync(join(ROOT, source)), volume).toBe(true);
      }
    }
  });
});

describe('deploy/kubernetes', () => {
  const kustomization = parse(read('deploy/kubernetes/base/kustomization.yaml')) as { resources: string[]; configMapGenerator: { files: string[] }[] };
  const objects = kustomization.resources.flatMap((file) => parseAllDocuments(read(join('deploy/kubernetes/base', file))).map((d) => d.toJS() as K8sObject));

  it('lists only files that exist, and generates the ConfigMap from one', () => {
    for (const file of kustomization.resources) expect(existsSync(join(ROOT, 'deploy/kubernetes/base', file)), file).toBe(true);
    const configFile = kustomization.configMapGenerator[0]!.files[0]!.split('=').pop()!;
    expect(existsSync(join(ROOT, 'deploy/kubernetes/base', configFile))).toBe(true);
  });

  it.each(SERVICES)('has a probed Deployment and a Service for %s', (name) => {
    const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `opentrail-${name}`);
    expect(deployment, `deploy/kubernetes has no Deployment opentrail-${name}`).toBeDefined();
    const template = deployment!.spec.template as { metadata: { labels: Record<string, string> }; spec: { containers: Container[] } };
    const container = template.spec.containers[0]!;
    expect(container.env).toContainEqual({ name: 'OPENTRAIL_SERVICE', value: name });
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(container.resources?.requests).toHaveProperty('cpu');
    expect(container.resources?.requests).toHaveProperty('memory');
    expect(container.resources?.limits).toHaveProperty('memory');

    const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === `opentrail-${name}`);
    expect(service, `deploy/kubernetes has no Service opentrail-${name}`).toBeDefined();
    // The Service must select this Deployment's pods.
    expect(template.metadata.labels).toMatchObject(service!.spec.selector as Record<string, string>);
  });
});

describe('deploy/prometheus and deploy/grafana', () => {
  const prometheus = parse(read('deploy/prometheus/prometheus.yml')) as { rule_files: string[]; scrape_configs: { static_configs?: { targets: string[]; labels?: { service?: string } }[] }[] };
  const rules = parse(read('deploy/prometheus/rules.yml')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  const dashboard = JSON.parse(read('deploy/grafana/opentrail-dashboard.json')) as { panels: { targets?: { expr: string }[] }[] };

  it.each(SERVICES)('scrapes %s', (name) => {
    const targets = prometheus.scrape_configs.flatMap((job) => job.static_configs ?? []);
    expect(targets).toContainEqual({ targets: [`${name}:9464`], labels: { service: name } });
  });

  it('loads the rules file that docker-compose mounts', () => {
    expect(prometheus.rule_files).toEqual(['/etc/prometheus/rules.yml']);
    expect(rules.groups.flatMap((g) => g.rules).length).toBeGreaterThan(5);
  });

  // Metric names in expressions must be ones the code defines: a renamed metric would silently
  // turn a rule or a panel into one that never fires or shows nothing. Libraries that register
  // metrics on the service's registry (the runtime, the log-file store) count as the service's.
  const sources = [join(ROOT, 'packages/runtime/src'), join(ROOT, 'packages/logfiles/src'), ...SERVICES.map((name) => join(ROOT, 'services', name, 'src'))]
    .flatMap((dir) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(dir, f), 'utf8')))
    .join('\n');
  const expressions = [...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)), ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr))];
  const named = new Set(expressions.flatMap((expr) => [...expr.matchAll(/\bopentrail_([a-z]+)_([a-z_]+[a-z])\b/g)].map((m) => `${m[1]}:${m[2]}`)));

  it('names only metrics the services export', () => {
    expect(named.size).toBeGreaterThan(10);
    for (const entry of named) {
      const [service, metric] = entry.split(':') as [string, string];
      expect(SERVICES, `opentrail_${service}_${metric}: no such service`).toContain(service);
      const base = metric.replace(/_(bucket|sum|count)$/, '');
      expect(sources.includes(`'${base}'`), `opentrail_${service}_${metric}: no metric '${base}' in the code`).toBe(true);
    }
  });
});

describe('the example configurations', () => {
  const files: [string, NodeJS.ProcessEnv][] = [
    ['deploy/config/opentrail.yaml', {}],
    // Secrets come from the environment there (kustomization.yaml).
    ['deploy/kubernetes/base/config/opentrail.yaml', { OPENTRAIL_KAFKA_SASL_PASSWORD: 'secret', OPENTRAIL_API_ACCESS_KEYS: 'AKIDEXAMPLE:secret', OPENTRAIL_DATABASE_URL: 'postgres://opentrail:secret@db.example:5432/opentrail' }],
  ];
  const cases = files.flatMap(([file, env]) => SERVICES.filter((name) => existsSync(join(ROOT, 'services', name, 'src', 'config.ts'))).map((name) => [file, name, env] as const));

  it.each(cases)('%s is valid for %s', async (file, name, env) => {
    const module = (await import(join(ROOT, 'services', name, 'src', 'config.ts'))) as { configSchema: Parameters<typeof loadConfig>[0]; bindings?: EnvBinding[] };
    expect(() => loadConfig(module.configSchema, { env, file: join(ROOT, file), bindings: [...commonBindings, ...(module.bindings ?? [])] })).not.toThrow();
  });
});
