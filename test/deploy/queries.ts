/**
 * The PromQL that deploy/ runs against the services' metrics: the Grafana dashboard's panel
 * queries, the alerting rules, the prometheus-adapter rules and KEDA's Prometheus triggers.
 * `.ci/validate-deploy` turns them into a rules file for `promtool check rules` (the parse), and
 * test/deploy/metrics.test.ts checks that every metric they name is exported by a running service.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DASHBOARD = 'deploy/grafana/opentrail-dashboard.json';
const ALERT_RULES = 'deploy/prometheus/rules.yml';
const ADAPTER_RULES = 'deploy/kubernetes/components/hpa/prometheus-adapter-rules.yaml';
const SCALED_OBJECTS = 'deploy/kubernetes/components/keda/scaledobjects.yaml';

export interface Query {
  /** Where it is: `<file>: <panel title | alert name | …>`. */
  origin: string;
  expr: string;
}

interface Panel {
  title?: string;
  panels?: Panel[];
  targets?: { expr?: string; refId?: string }[];
}

function read(path: string): string {
  return readFileSync(`${ROOT}${path}`, 'utf8');
}

/** Panels nest in rows; depth is bounded by the dashboard format (rows hold panels, not rows). */
function dashboardQueries(): Query[] {
  const dashboard = JSON.parse(read(DASHBOARD)) as { panels?: Panel[] };
  const out: Query[] = [];
  const walk = (panels: Panel[] | undefined, depth: number): void => {
    if (!panels || depth > 2) return;
    for (const p of panels) {
      walk(p.panels, depth + 1);
      for (const t of p.targets ?? []) if (t.expr) out.push({ origin: `${DASHBOARD}: ${p.title ?? '?'} (${t.refId ?? '?'})`, expr: grafanaToPromql(t.expr) });
    }
  };
  walk(dashboard.panels, 0);
  return out;
}

/**
 * Grafana's own variables are not PromQL: give each the value type Prometheus expects where it
 * stands (a duration inside a range, a regex inside a matcher), as Grafana does before it sends.
 */
export function grafanaToPromql(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$__interval|\$__range/g, (v) => (v === '$__range' ? '1h' : '1m'))
    .replace(/\$\{?[A-Za-z_]\w*\}?/g, '.*');
}

function alertQueries(): Query[] {
  const doc = parseYaml(read(ALERT_RULES)) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] };
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ origin: `${ALERT_RULES}: ${r.alert ?? r.record ?? '?'}`, expr: r.expr })));
}

/** The adapter's seriesQuery is a PromQL selector; its metricsQuery is a Go template around it. */
function adapterQueries(): Query[] {
  const out: Query[] = [];
  for (const doc of parseAllDocuments(read(ADAPTER_RULES))) {
    const cm = doc.toJS() as { data?: Record<string, string> };
    const config = parseYaml(cm.data?.['config.yaml'] ?? '{}') as { rules?: { seriesQuery: string }[]; externalRules?: { seriesQuery: string; name?: { as?: string } }[] };
    for (const r of [...(config.rules ?? []), ...(config.externalRules ?? [])]) out.push({ origin: `${ADAPTER_RULES}: ${r.seriesQuery}`, expr: r.seriesQuery });
  }
  return out;
}

function scaledObjectQueries(): Query[] {
  const out: Query[] = [];
  for (const doc of parseAllDocuments(read(SCALED_OBJECTS))) {
    const so = doc.toJS() as { kind?: string; metadata?: { name?: string }; spec?: { triggers?: { type: string; metadata: { query?: string } }[] } };
    for (const t of so.spec?.triggers ?? []) if (t.type === 'prometheus' && t.metadata.query) out.push({ origin: `${SCALED_OBJECTS}: ${so.metadata?.name ?? '?'}`, expr: t.metadata.query });
  }
  return out;
}

export function deployQueries(): Query[] {
  return [...dashboardQueries(), ...alertQueries(), ...adapterQueries(), ...scaledObjectQueries()];
}

export interface MetricReference {
  /** A plain metric name, or the regex of a `__name__=~"…"` matcher. */
  name: string;
  regex: boolean;
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'start', 'end']);

/**
 * The metrics a PromQL expression selects. A small scanner, not a parser (promtool parses): it
 * drops strings, grouping clauses, label matchers (keeping `__name__`) and ranges, then every
 * identifier that is not a function call or a keyword is a metric name. Linear in the input.
 */
export function metricReferences(expr: string): MetricReference[] {
  const refs: MetricReference[] = [];
  let rest = '';
  // Matcher blocks first: their strings may hold any character, including brackets.
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === '{') {
      const close = findClose(expr, i);
      const body = expr.slice(i + 1, close);
      for (const m of body.matchAll(/__name__\s*(=~|=)\s*"((?:[^"\\]|\\.)*)"/g)) refs.push({ name: m[2]!, regex: m[1] === '=~' });
      rest += ' {} ';
      i = close;
    } else if (c === '"' || c === "'" || c === '`') {
      const end = expr.indexOf(c, i + 1);
      rest += ' "" ';
      i = end < 0 ? expr.length : end;
    } else if (c === '[') {
      const end = expr.indexOf(']', i);
      rest += ' [] ';
      i = end < 0 ? expr.length : end;
    } else rest += c;
  }
  const withoutGrouping = rest.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  for (const m of withoutGrouping.matchAll(/[A-Za-z_:][\w:]*/g)) {
    const word = m[0];
    const after = withoutGrouping.slice(m.index + word.length).trimStart();
    const before = withoutGrouping.slice(0, m.index);
    if (/[\d.]$/.test(before) || /\d[eE]$/.test(before)) continue; // a number's exponent or unit (1e3, 5m)
    if (after.startsWith('(') || KEYWORDS.has(word.toLowerCase())) continue;
    refs.push({ name: word, regex: false });
  }
  return refs;
}

/** Index of the `}` closing the `{` at `open`, skipping quoted strings. */
function findClose(expr: string, open: number): number {
  for (let i = open + 1; i < expr.length; i++) {
    const c = expr[i];
    if (c === '}') return i;
    if (c === '"' || c === "'" || c === '`') {
      for (i++; i < expr.length && expr[i] !== c; i++) if (expr[i] === '\\') i++;
    }
  }
  return expr.length;
}

/**
 * The names a Prometheus server stores for what a /metrics page declares: a histogram `x` is
 * stored as `x_bucket`, `x_sum` and `x_count`, a summary as `x`, `x_sum` and `x_count`. Declared
 * families count even before their first sample (a labelled counter shows only its # TYPE line).
 */
export function exportedNames(metricsText: string): Set<string> {
  const names = new Set<string>();
  for (const line of metricsText.split('\n')) {
    const type = /^# TYPE ([A-Za-z_:][\w:]*) (\w+)/.exec(line);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, string];
      if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
      else if (kind === 'summary') for (const s of ['', '_sum', '_count']) names.add(name + s);
      else names.add(name);
      continue;
    }
    const sample = /^([A-Za-z_:][\w:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1]!);
  }
  return names;
}

/**
 * A `__name__` regex written as `prefix(a|b|c)suffix` names each alternative on purpose: every one
 * must exist. Any other regex (`opentrail_[a-z]+_consumer_lag`) must match at least one name.
 */
export function regexExpansions(regex: string): string[] | undefined {
  const m = /^([\w:]*)\(([\w:|]+)\)([\w:]*)$/.exec(regex);
  return m ? m[2]!.split('|').map((alt) => `${m[1]}${alt}${m[3]}`) : undefined;
}
