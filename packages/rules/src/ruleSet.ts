import { compileAccessor, parseDottedPath, type Accessor } from './fieldPath.js';
import { orHints, type IndexHint } from './indexHint.js';
import { locationText, type Detection, type RuleDefinition, type RuleKind, type RuleLocation, type Severity, type ThresholdSpec } from './rule.js';
import type { RuleEvent } from './ruleEvent.js';

/** A rule ready to run: its matcher, how it groups, whether it counts toward a threshold, and its counters. */
export interface CompiledRule {
  id: string;
  kind: RuleKind;
  title: string;
  description: string | null;
  severity: Severity;
  tags: string[];
  location: RuleLocation;
  matches: (event: RuleEvent) => boolean;
  hint: IndexHint;
  threshold?: ThresholdSpec;
  groupBy: string[];
  suppressionMs?: number;
  /** Incremented by evaluate(): read by the metrics at scrape time (cheaper than a labelled counter per event). */
  stats: { evaluations: number; matches: number };
  groupKey(event: RuleEvent): string;
}

export interface RuleSetProblem {
  location: RuleLocation;
  message: string;
}

export interface RuleSetOptions {
  /** Group key fields of rules that name none. @default ['recipientAccountId', 'userIdentity.arn'] */
  defaultGroupBy?: string[];
  /** The set this one replaces: rules with the same id keep their counters. */
  previous?: RuleSet;
}

const EMPTY: readonly CompiledRule[] = [];

/**
 * The rules in force, indexed by the eventName (or else eventSource) their logic requires, so an
 * event is tested only against rules that can match it: with hundreds of rules an event typically
 * meets a handful. Immutable: a reload builds a new set and swaps it in between batches.
 */
export class RuleSet {
  private readonly byName = new Map<string, CompiledRule[]>();
  private readonly bySource = new Map<string, CompiledRule[]>();
  private readonly always: CompiledRule[] = [];
  /** Candidate lists per (eventSource, eventName) as met, so the lookup is one map access per event. */
  private readonly candidateCache = new Map<string, readonly CompiledRule[]>();

  private constructor(readonly rules: readonly CompiledRule[]) {
    for (const rule of rules) {
      const { eventName, eventSource } = rule.hint;
      if (eventName) for (const n of eventName) push(this.byName, n, rule);
      else if (eventSource) for (const s of eventSource) push(this.bySource, s, rule);
      else this.always.push(rule);
    }
  }

  static empty(): RuleSet {
    return new RuleSet([]);
  }

  /**
   * Builds the set from definitions (already compiled): resolves correlation references, refuses
   * duplicate ids (the first definition wins) and names every problem with its file and line.
   */
  static build(definitions: readonly RuleDefinition[], options: RuleSetOptions = {}): { ruleSet: RuleSet; problems: RuleSetProblem[] } {
    const problems: RuleSetProblem[] = [];
    const defaultGroupBy = options.defaultGroupBy ?? ['recipientAccountId', 'userIdentity.arn'];
    const byId = new Map<string, RuleDefinition>();
    const unique: RuleDefinition[] = [];
    for (const d of definitions) {
      const seen = byId.get(d.id);
      if (seen) {
        problems.push({ location: d.location, message: `rule id '${d.id}' is already defined at ${locationText(seen.location)}; this one is ignored` });
        continue;
      }
      byId.set(d.id, d);
      unique.push(d);
    }
    const byName = new Map<string, RuleDefinition>();
    for (const d of unique) if (d.name && !byName.has(d.name)) byName.set(d.name, d);

    const silenced = new Set<string>();
    const compiled: CompiledRule[] = [];
    for (const d of unique) {
      if (d.type !== 'correlation') continue;
      const referenced: Detection[] = [];
      const missing: string[] = [];
      for (const ref of d.rules) {
        const target = byId.get(ref) ?? byName.get(ref);
        if (!target) missing.push(ref);
        else if (target.type === 'correlation') {
          problems.push({ location: d.location, message: `correlation '${d.id}' refers to the correlation '${ref}': chained correlations are not supported` });
          missing.push(ref);
        } else {
          referenced.push(target.detection);
          if (!d.generate) silenced.add(target.id);
        }
      }
      if (missing.length > 0) {
        if (!problems.some((p) => p.location === d.location)) problems.push({ location: d.location, message: `correlation '${d.id}' refers to ${missing.map((m) => `'${m}'`).join(', ')}, which no loaded rule has as id or name; the correlation is not active` });
        continue;
      }
      const detection: Detection =
        referenced.length === 1 ? referenced[0]! : { matches: (e) => referenced.some((r) => r.matches(e)), hint: referenced.map((r) => r.hint).reduce(orHints) };
      compiled.push(compileRule(d, 'THRESHOLD', detection, d.threshold, defaultGroupBy));
    }
    for (const d of unique) {
      if (d.type !== 'detection' || silenced.has(d.id)) continue;
      const kind: RuleKind = d.threshold && d.threshold.count > 1 ? 'THRESHOLD' : d.kind;
      compiled.push(compileRule(d, kind, d.detection, d.threshold, defaultGroupBy));
    }
    // Counters continue across reloads (Prometheus counters never go down).
    if (options.previous) {
      const before = new Map(options.previous.rules.map((r) => [r.id, r.stats]));
      for (const rule of compiled) rule.stats = before.get(rule.id) ?? rule.stats;
    }
    return { ruleSet: new RuleSet(compiled), problems };
  }

  /** The rules that can match this event. */
  candidates(event: RuleEvent): readonly CompiledRule[] {
    const name = event.event.eventName ?? '';
    const source = event.event.eventSource ?? '';
    const key = `${source}\u0000${name}`;
    let list = this.candidateCache.get(key);
    if (list === undefined) {
      const byName = this.byName.get(name.toLowerCase()) ?? EMPTY;
      const bySource = this.bySource.get(source.toLowerCase()) ?? EMPTY;
      list = byName.length + bySource.length + this.always.length === 0 ? EMPTY : [...byName, ...bySource, ...this.always];
      // Bounded: eventSource × eventName pairs are a fixed vocabulary, but a producer could invent names.
      if (this.candidateCache.size > 50_000) this.candidateCache.clear();
      this.candidateCache.set(key, list);
    }
    return list;
  }

  /** Tests the event against its candidate rules; calls onMatch for each rule that matches. */
  evaluate(event: RuleEvent, onMatch: (rule: CompiledRule) => void): void {
    const candidates = this.candidates(event);
    for (let i = 0; i < candidates.length; i++) {
      const rule = candidates[i]!;
      rule.stats.evaluations++;
      if (rule.matches(event)) {
        rule.stats.matches++;
        onMatch(rule);
      }
    }
  }

  get size(): number {
    return this.rules.length;
  }

  countsByKind(): Record<RuleKind, number> {
    const counts: Record<RuleKind, number> = { FILTER_PATTERN: 0, SIGMA: 0, THRESHOLD: 0 };
    for (const r of this.rules) counts[r.kind]++;
    return counts;
  }
}

function push(map: Map<string, CompiledRule[]>, key: string, rule: CompiledRule) {
  const list = map.get(key);
  if (list) list.push(rule);
  else map.set(key, [rule]);
}

/** A group-key component: absent as '-', scalars as text, objects as JSON. */
function keyPart(v: unknown): string {
  if (v === undefined || v === null) return '-';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function compileRule(d: RuleDefinition, kind: RuleKind, detection: Detection, threshold: ThresholdSpec | undefined, defaultGroupBy: string[]): CompiledRule {
  const groupBy = d.groupBy ?? defaultGroupBy;
  const accessors: Accessor[] = groupBy.map((f) => compileAccessor(parseDottedPath(f)));
  const groupKey =
    accessors.length === 0
      ? () => ''
      : (event: RuleEvent) => {
          let key = '';
          for (let i = 0; i < accessors.length; i++) {
            const v = accessors[i]!(event);
            key += (i ? '|' : '') + keyPart(v);
          }
          return key;
        };
  return {
    id: d.id,
    kind,
    title: d.title,
    description: d.description ?? null,
    severity: d.severity,
    tags: d.tags,
    location: d.location,
    matches: detection.matches,
    hint: detection.hint,
    ...(threshold ? { threshold } : {}),
    groupBy,
    ...(d.suppressionMs !== undefined ? { suppressionMs: d.suppressionMs } : {}),
    stats: { evaluations: 0, matches: 0 },
    groupKey,
  };
}
