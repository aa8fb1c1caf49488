/**
 * Every metric that deploy/ queries (the Grafana dashboard, the alerting rules, the
 * prometheus-adapter rules, KEDA's Prometheus triggers) is exported by a running service: the
 * eight services start against the shared stack and their /metrics pages are read.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv, uniquePrefix } from '../helpers/env.js';
import { startService, sumMetric, type ServiceProcess } from '../helpers/service.js';
import { freshDatabase } from '../history/ingest-helpers.js';
import { deployQueries, exportedNames, metricReferences, regexExpansions } from './queries.js';

const SERVICES = ['enricher', 'archiver', 'digester', 'notifier', 'alerter', 'history', 'lake', 'api'] as const;
/** Series Prometheus writes itself for every scrape target; no service exports them. */
const WRITTEN_BY_PROMETHEUS = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

const running: ServiceProcess[] = [];
const pages = new Map<string, string>();

beforeAll(async () => {
  const prefix = uniquePrefix('deploy');
  const databaseUrl = await freshDatabase('deploy');
  const extra: Record<(typeof SERVICES)[number], Record<string, string>> = {
    enricher: {},
    archiver: {},
    digester: { OPENTRAIL_DIGESTER_KEY_DIR: mkdtempSync(join(tmpdir(), 'deploy-digest-keys-')) },
    // The notifier starts a consumer group per notification target: without one it has no lag to report.
    notifier: { OPENTRAIL_TRAILS: JSON.stringify([{ name: 'deploy-trail', accountId: '111122223333', homeRegion: 'us-east-1', bucket: 'deploy-trail-bucket', notifications: { kafka: true } }]) },
    alerter: {},
    history: { OPENTRAIL_DATABASE_URL: databaseUrl },
    // A bucket of its own (created at start); no event data store exists, so it stores only segment manifests.
    lake: { OPENTRAIL_LAKE_BUCKET: `deploy-lake-${prefix.slice(7, 15)}` },
    api: { OPENTRAIL_DATABASE_URL: databaseUrl, OPENTRAIL_API_PORT: '0', OPENTRAIL_API_ACCESS_KEYS: 'AKIADEPLOYTEST000001:deploy-test-secret-key' },
  };
  // One after another: eight tsx compilations at once starve a two-core machine shared with others.
  for (const name of SERVICES) running.push(await startService(name, serviceEnv(prefix, extra[name]), { timeoutMs: 180_000 }));
  for (const s of running) pages.set(s.name, await (await fetch(`${s.url}/metrics`)).text());
}, 900_000);

afterAll(async () => {
  await Promise.all(running.map((s) => s.stop()));
});

describe('deploy/: the metrics its queries name', () => {
  it('every query names at least one metric (the scanner finds them)', () => {
    const queries = deployQueries();
    expect(queries.length).toBeGreaterThan(40);
    for (const q of queries) expect(metricReferences(q.expr), q.origin).not.toHaveLength(0);
  });

  it('every metric the dashboard, the alerts, the adapter and KEDA query is on a service’s /metrics', () => {
    const exported = new Set<string>();
    for (const page of pages.values()) for (const n of exportedNames(page)) exported.add(n);
    const missing: string[] = [];
    let checked = 0;
    for (const q of deployQueries()) {
      for (const ref of metricReferences(q.expr)) {
        checked++;
        if (!ref.regex) {
          if (!exported.has(ref.name) && !WRITTEN_BY_PROMETHEUS.has(ref.name)) missing.push(`${q.origin}: ${ref.name}`);
          continue;
        }
        const expanded = regexExpansions(ref.name);
        if (expanded) for (const n of expanded.filter((n) => !exported.has(n))) missing.push(`${q.origin}: ${n} (from ${ref.name})`);
        else {
          // Prometheus anchors __name__ regexes at both ends.
          const re = new RegExp(`^(?:${ref.name})$`);
          if (![...exported].some((n) => re.test(n))) missing.push(`${q.origin}: nothing matches ${ref.name}`);
        }
      }
    }
    console.log(`deploy metrics: ${checked} metric references in ${deployQueries().length} queries checked against ${exported.size} exported names of ${pages.size} services; ${missing.length} missing`);
    expect(missing).toEqual([]);
  });

  it('each consumer service exports the lag and partition gauges the autoscalers read', () => {
    for (const name of SERVICES.filter((s) => s !== 'api')) {
      const names = exportedNames(pages.get(name)!);
      expect(names, name).toContain(`opentrail_${name}_consumer_lag`);
      expect(names, name).toContain(`opentrail_${name}_assigned_partitions`);
    }
  });

  it('reports each service’s resident memory and CPU after start (the figures behind deploy/’s requests)', () => {
    const rows = running.map((s) => {
      const page = pages.get(s.name)!;
      const rss = sumMetric(page, 'process_resident_memory_bytes') / 2 ** 20;
      const cpu = sumMetric(page, 'process_cpu_seconds_total');
      return `${s.name} rss=${rss.toFixed(0)}MiB cpu=${cpu.toFixed(1)}s`;
    });
    console.log(`deploy idle footprint: ${rows.join(', ')}`);
    for (const s of running) expect(sumMetric(pages.get(s.name)!, 'process_resident_memory_bytes'), s.name).toBeGreaterThan(0);
  });
});
