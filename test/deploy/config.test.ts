/**
 * The configuration files deploy/ ships are read by every service: docker-compose.yml mounts
 * deploy/config/opentrail.yaml into all of them, and deploy/kubernetes's ConfigMap is one file for
 * every Deployment. Each service must accept the whole file (its own sections, the common keys, and
 * the others' sections ignored), with the environment its manifest sets. No stack is needed.
 */
import { readFileSync } from 'node:fs';
import { commonBindings, loadConfig, type EnvBinding } from '@opentrail/config';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import * as alerter from '../../services/alerter/src/config.js';
import * as api from '../../services/api/src/config.js';
import * as archiver from '../../services/archiver/src/config.js';
import * as digester from '../../services/digester/src/config.js';
import * as enricher from '../../services/enricher/src/config.js';
import * as history from '../../services/history/src/config.js';
import * as lake from '../../services/lake/src/config.js';
import * as notifier from '../../services/notifier/src/config.js';
import { ROOT } from './queries.js';

const SERVICES = ['enricher', 'archiver', 'digester', 'notifier', 'alerter', 'history', 'lake', 'api'] as const;

interface ServiceConfigModule {
  configSchema: Parameters<typeof loadConfig>[0];
  bindings: EnvBinding[];
}
const MODULES: Record<(typeof SERVICES)[number], ServiceConfigModule> = { enricher, archiver, digester, notifier, alerter, history, lake, api };

/** The plain `value:` variables of each opentrail Deployment in deploy/kubernetes/base (secrets are stood in for below). */
function kubernetesEnv(service: string): Record<string, string> {
  const text = readFileSync(`${ROOT}deploy/kubernetes/base/${service}.yaml`, 'utf8');
  for (const doc of parseAllDocuments(text)) {
    const d = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: { env?: { name: string; value?: string }[] }[] } } } };
    if (d?.kind !== 'Deployment') continue;
    const env = d.spec?.template?.spec?.containers?.[0]?.env ?? [];
    return Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
  }
  throw new Error(`no Deployment in deploy/kubernetes/base/${service}.yaml`);
}

/** What the Kubernetes secrets (and components/trino) put in the environment. */
const KUBERNETES_SECRETS: Record<string, string> = {
  OPENTRAIL_KAFKA_SASL_PASSWORD: 'from-the-secret',
  OPENTRAIL_DATABASE_URL: 'postgres://opentrail:secret@postgres.example:5432/opentrail',
  OPENTRAIL_API_ACCESS_KEYS: 'AKIADEPLOYTEST000001:deploy-test-secret-key',
  OPENTRAIL_DIGESTER_KEY_DIR: '/etc/opentrail/digest-keys',
};

function load(service: (typeof SERVICES)[number], file: string, env: Record<string, string>) {
  const m = MODULES[service];
  const { OPENTRAIL_CONFIG_FILE: _file, OPENTRAIL_SERVICE: _service, ...rest } = env;
  return loadConfig(m.configSchema, { file: `${ROOT}${file}`, env: rest, bindings: [...commonBindings, ...m.bindings] });
}

describe('deploy/: the configuration files every service reads', () => {
  it.each(SERVICES)('%s accepts deploy/config/opentrail.yaml (docker-compose.yml)', (service) => {
    const env: Record<string, string> = service === 'api' ? { OPENTRAIL_TRINO_URL: 'http://trino:8080' } : {};
    const { config } = load(service, 'deploy/config/opentrail.yaml', env);
    expect(config).toBeDefined();
  });

  it.each(SERVICES)('%s accepts deploy/kubernetes/base/config/opentrail.yaml with its manifest’s environment', (service) => {
    const { config } = load(service, 'deploy/kubernetes/base/config/opentrail.yaml', { ...KUBERNETES_SECRETS, ...kubernetesEnv(service) });
    expect(config).toBeDefined();
  });

  it('the API reads the Lake tables where the lake service writes them, and keeps query state in PostgreSQL (compose)', () => {
    const apiConfig = load('api', 'deploy/config/opentrail.yaml', { OPENTRAIL_TRINO_URL: 'http://trino:8080' }).config as { api: { lake: { bucket: string; prefix: string; databaseUrl?: string }; history: { databaseUrl?: string } } };
    const lakeConfig = load('lake', 'deploy/config/opentrail.yaml', {}).config as { lake: { bucket: string; prefix: string } };
    expect([apiConfig.api.lake.bucket, apiConfig.api.lake.prefix]).toEqual([lakeConfig.lake.bucket, lakeConfig.lake.prefix]);
    expect(apiConfig.api.lake.databaseUrl ?? apiConfig.api.history.databaseUrl).toMatch(/^postgres:\/\//);
    // deploy/trino's catalog keeps its metastore in the lake bucket.
    expect(readFileSync(`${ROOT}deploy/trino/etc/catalog/lake.properties`, 'utf8')).toContain(`hive.metastore.catalog.dir=s3://${lakeConfig.lake.bucket}/`);
  });
});
