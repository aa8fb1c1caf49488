/**
 * The offline helpers `.ci/validate-deploy` runs (npx tsx test/deploy/render.ts <command> …):
 *
 *   crd-schemas <out dir> <crd.yaml…>   KEDA's CustomResourceDefinitions → JSON schemas named as
 *                                      kubeconform looks them up (<kind>-<group>-<version>.json)
 *   dashboard-rules <out.yml>          the dashboard's queries as recording rules, for promtool to parse
 *   consistency <rendered.yaml…>       what the autoscalers read agrees with what the services run
 *   alert-coverage <rules.yml> <tests.yml>  every alert has a promtool unit test that fires it
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml, stringify } from 'yaml';
import { deployQueries } from './queries.js';

type Json = Record<string, unknown>;

interface Crd {
  kind: string;
  spec: { group: string; names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: Json } }[] };
}

/**
 * kubeconform validates strictly: like the Kubernetes schemas (kubernetes-validate's -strict
 * flavour), an object with declared properties accepts no others, unless the CRD says it
 * preserves unknown fields. Depth is bounded by the CRD, which the API server already limits.
 */
function strict(schema: Json, depth = 0): Json {
  if (depth > 64) throw new Error('CRD schema nested deeper than 64 levels');
  const out: Json = { ...schema };
  if (out.properties && typeof out.properties === 'object' && out['x-kubernetes-preserve-unknown-fields'] !== true && out.additionalProperties === undefined) out.additionalProperties = false;
  for (const key of ['properties', 'patternProperties'] as const) {
    const props = out[key] as Record<string, Json> | undefined;
    if (props) out[key] = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, strict(v, depth + 1)]));
  }
  for (const key of ['items', 'additionalProperties'] as const) {
    const v = out[key];
    if (v && typeof v === 'object' && !Array.isArray(v)) out[key] = strict(v as Json, depth + 1);
  }
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    const v = out[key];
    if (Array.isArray(v)) out[key] = v.map((s: Json) => strict(s, depth + 1));
  }
  return out;
}

function crdSchemas(outDir: string, files: string[]): void {
  mkdirSync(outDir, { recursive: true });
  let count = 0;
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const crd = doc.toJS() as Crd;
      if (!crd?.spec?.versions) continue;
      for (const v of crd.spec.versions) {
        // kubeconform's KindSuffix: "-" + the group's first label + "-" + the version.
        const name = `${crd.spec.names.kind.toLowerCase()}-${crd.spec.group.split('.')[0]}-${v.name}.json`;
        writeFileSync(join(outDir, name), JSON.stringify(strict(v.schema.openAPIV3Schema)));
        count++;
      }
    }
  }
  console.log(`crd-schemas: ${count} schemas from ${files.length} CRD files`);
}

function dashboardRules(out: string): void {
  const queries = deployQueries().filter((q) => q.origin.startsWith('deploy/grafana/'));
  const rules = queries.map((q, i) => ({ record: `dashboard_query_${i + 1}`, expr: q.expr, labels: { origin: q.origin } }));
  writeFileSync(out, stringify({ groups: [{ name: 'dashboard-queries', rules }] }));
  console.log(`dashboard-rules: ${rules.length} dashboard queries written as recording rules to ${out}`);
}

interface Container {
  env?: { name: string; value?: string }[];
  readinessProbe?: { httpGet?: { path?: string } };
  livenessProbe?: { httpGet?: { path?: string } };
  resources?: { requests?: Json; limits?: Json };
}
interface K8s {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: Json;
  data?: Record<string, string>;
}

/** The topic each service's consumer group reads (its README; packages/config's topicName). */
const SOURCE_TOPIC: Record<string, string> = {
  enricher: 'events.raw',
  archiver: 'events.enriched',
  digester: 'deliveries',
  notifier: 'deliveries',
  alerter: 'events.enriched',
  history: 'events.enriched',
  lake: 'events.enriched',
};
/** Services stop within 30 s of SIGTERM (the runtime's shutdown budget); the grace must cover it. */
const CLEAN_STOP_SECONDS = 30;
/** Services with a longer budget of their own (their main()'s stopTimeoutMs). */
const CLEAN_STOP_SECONDS_OF: Record<string, number> = { lake: 45 };

function consistency(files: string[]): void {
  const problems: string[] = [];
  let checked = 0;
  for (const file of files) {
    const objects = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as K8s).filter(Boolean);
    const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('opentrail-config'));
    const config = (parseYaml(configMap?.data?.['opentrail.yaml'] ?? '{}') ?? {}) as { topics?: { prefix?: string; partitions?: number } } & Record<string, { groupId?: string } | undefined>;
    // The API's Lake queries read the tables the lake service writes: the same bucket and prefix
    // (defaults opentrail-lake and lake). The environment overrides the file: OPENTRAIL_LAKE_BUCKET and
    // OPENTRAIL_LAKE_PREFIX set lake.* in the lake service and api.lake.* in the API.
    const envOf = (service: string): Map<string, string> => {
      const d = objects.find((o) => o.kind === 'Deployment' && (o.spec.template as { spec: { containers: Container[] } }).spec.containers[0]?.env?.some((e) => e.name === 'OPENTRAIL_SERVICE' && e.value === service));
      const env = d ? (d.spec.template as { spec: { containers: Container[] } }).spec.containers[0]!.env ?? [] : [];
      return new Map(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
    };
    const [lakeEnv, apiEnv] = [envOf('lake'), envOf('api')];
    const lakeFile = (config as { lake?: { bucket?: string; prefix?: string } }).lake ?? {};
    const apiFile = (config as { api?: { lake?: { bucket?: string; prefix?: string } } }).api?.lake ?? {};
    for (const [key, fallback] of [['bucket', 'opentrail-lake'], ['prefix', 'lake']] as const) {
      const variable = `OPENTRAIL_LAKE_${key.toUpperCase()}`;
      const writes = lakeEnv.get(variable) ?? lakeFile[key] ?? fallback;
      const reads = apiEnv.get(variable) ?? apiFile[key] ?? fallback;
      if (writes !== reads) problems.push(`${file}: the lake service writes ${key} ${writes}, the API's Lake queries read ${key} ${reads} (api.lake.${key})`);
    }
    const scaledObjects = objects.filter((o) => o.kind === 'ScaledObject');
    const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler');
    const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget');
    for (const d of objects.filter((o) => o.kind === 'Deployment')) {
      checked++;
      const pod = (d.spec.template as { spec: { containers: Container[]; terminationGracePeriodSeconds?: number } }).spec;
      const c = pod.containers[0]!;
      const env = new Map((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
      const where = `${file}: ${d.metadata.name}`;
      const service = env.get('OPENTRAIL_SERVICE');
      if (!service) {
        // Not an opentrail service (Trino, components/trino): no /readyz or consumer group of ours, and
        // a fixed size; it still needs probes, requests and a memory limit, and a disruption budget.
        if (!c.readinessProbe || !c.livenessProbe) problems.push(`${where}: no readiness or liveness probe`);
        if (!c.resources?.requests?.cpu || !c.resources.requests.memory || !c.resources.limits?.memory) problems.push(`${where}: no cpu/memory requests and memory limit`);
        if (!pdbs.some((p) => matches((p.spec.selector as { matchLabels: Json }).matchLabels, d))) problems.push(`${where}: no PodDisruptionBudget selects it`);
        continue;
      }
      // The environment overrides the file (README, Configuration); a later entry wins, as in Kubernetes.
      const prefix = env.get('OPENTRAIL_TOPIC_PREFIX') ?? config.topics?.prefix ?? 'opentrail.';
      const partitions = Number(env.get('OPENTRAIL_TOPIC_PARTITIONS') ?? config.topics?.partitions ?? 6);
      const groupId = env.get(`OPENTRAIL_${service.toUpperCase()}_GROUP_ID`) ?? config[service]?.groupId ?? `opentrail-${service}`;
      if (c.readinessProbe?.httpGet?.path !== '/readyz') problems.push(`${where}: readiness is not /readyz`);
      if (c.livenessProbe?.httpGet?.path !== '/healthz') problems.push(`${where}: liveness is not /healthz`);
      const cleanStop = CLEAN_STOP_SECONDS_OF[service] ?? CLEAN_STOP_SECONDS;
      if ((pod.terminationGracePeriodSeconds ?? 30) <= cleanStop) problems.push(`${where}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} does not exceed the ${cleanStop} s clean stop`);
      if (!c.resources?.requests?.cpu || !c.resources.requests.memory || !c.resources.limits?.memory) problems.push(`${where}: no cpu/memory requests and memory limit`);
      if (!pdbs.some((p) => matches((p.spec.selector as { matchLabels: Json }).matchLabels, d))) problems.push(`${where}: no PodDisruptionBudget selects it`);

      const so = scaledObjects.find((o) => (o.spec.scaleTargetRef as { name: string }).name === d.metadata.name);
      const hpa = hpas.find((o) => (o.spec.scaleTargetRef as { name: string }).name === d.metadata.name);
      if (scaledObjects.length + hpas.length > 0 && !so && !hpa) problems.push(`${where}: no autoscaler targets it`);
      const source = SOURCE_TOPIC[service];
      if (so) {
        const max = so.spec.maxReplicaCount as number;
        if (source && max > partitions) problems.push(`${where}: KEDA maxReplicaCount ${max} exceeds the ${partitions} partitions (idle instances)`);
        for (const t of so.spec.triggers as { type: string; metadata: Record<string, string> }[]) {
          if (t.type !== 'kafka') continue;
          if (t.metadata.consumerGroup !== groupId) problems.push(`${where}: KEDA consumerGroup ${t.metadata.consumerGroup}, the service's group is ${groupId}`);
          if (t.metadata.topic !== `${prefix}${source}`) problems.push(`${where}: KEDA topic ${t.metadata.topic}, the service reads ${prefix}${source}`);
        }
      }
      if (hpa && source && (hpa.spec.maxReplicas as number) > partitions) problems.push(`${where}: HPA maxReplicas ${String(hpa.spec.maxReplicas)} exceeds the ${partitions} partitions`);
    }
  }
  for (const p of problems) console.error(`consistency: ${p}`);
  console.log(`consistency: ${checked} Deployments in ${files.length} renderings checked (probes, grace period, resources, disruption budget, autoscaler group/topic/partitions): ${problems.length} problems`);
  if (problems.length > 0) process.exitCode = 1;
}

function matches(selector: Json, d: K8s): boolean {
  const labels = ((d.spec.template as { metadata: { labels: Json } }).metadata.labels ?? {});
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/**
 * promtool test rules passes with a test file that tests nothing: require, for every alert, a case
 * that expects it to fire (promtool then checks its exact labels and rendered annotations, and that
 * no other series of that case fires it).
 */
function alertCoverage(rulesFile: string, testsFile: string): void {
  const rules = parseYaml(readFileSync(rulesFile, 'utf8')) as { groups: { rules: { alert?: string }[] }[] };
  const tests = parseYaml(readFileSync(testsFile, 'utf8')) as { tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] };
  const alerts = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
  const firing = new Set(tests.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
  const quiet = new Set(tests.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length === 0).map((a) => a.alertname)));
  const missing = alerts.filter((a) => !firing.has(a));
  console.log(`alert-coverage: ${alerts.length} alerts, ${alerts.length - missing.length} with a case that fires them, ${[...quiet].filter((a) => alerts.includes(a)).length} also with an all-quiet case`);
  for (const a of missing) console.error(`alert-coverage: ${a} has no test that expects it to fire`);
  if (missing.length > 0) process.exitCode = 1;
}

const [command, ...args] = process.argv.slice(2);
switch (command) {
  case 'crd-schemas':
    crdSchemas(args[0]!, args.slice(1));
    break;
  case 'dashboard-rules':
    dashboardRules(args[0]!);
    break;
  case 'consistency':
    consistency(args);
    break;
  case 'alert-coverage':
    alertCoverage(args[0]!, args[1]!);
    break;
  default:
    console.error('usage: render.ts crd-schemas|dashboard-rules|consistency|alert-coverage …');
    process.exitCode = 2;
}
