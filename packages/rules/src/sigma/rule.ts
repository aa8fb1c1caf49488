import { andHints, noHint, orHints, type IndexHint } from '../indexHint.js';
import { parseCondition, SigmaConditionError, type ConditionNode } from './condition.js';
import { compileFieldCondition, compileKeywords, SigmaRuleError, type EventTest } from './fieldCondition.js';

export type SigmaLevel = 'informational' | 'low' | 'medium' | 'high' | 'critical';

/** A Sigma rule compiled for CloudTrail events. */
export interface CompiledSigmaRule {
  id: string;
  name?: string;
  title: string;
  description?: string;
  level: SigmaLevel;
  tags: string[];
  matches: EventTest;
  hint: IndexHint;
}

/** A Sigma correlation rule of type event_count: at least `count` matches of the referenced rules within `timespanMs`, per group. */
export interface SigmaCorrelation {
  id: string;
  name?: string;
  title: string;
  description?: string;
  level: SigmaLevel;
  tags: string[];
  rules: string[];
  groupBy: string[];
  timespanMs: number;
  count: number;
  /** Whether the referenced rules still alert on their own. @default false (the Sigma specification's default) */
  generate: boolean;
}

const LEVELS: readonly SigmaLevel[] = ['informational', 'low', 'medium', 'high', 'critical'];

/**
 * CloudTrail's event category of a record (cloudtrail-spec.md §1.7): `eventCategory` when present;
 * records before eventVersion 1.08 have none, and there `managementEvent: false` marks a data event.
 */
function eventCategoryOf(e: Parameters<EventTest>[0]): string {
  const { eventCategory, managementEvent } = e.event;
  return (eventCategory ?? (managementEvent === false ? 'Data' : 'Management')).toLowerCase();
}

/**
 * `logsource.category` under `service: cloudtrail` (newer SigmaHQ rules write `category: management`):
 * the rule applies only to events of that CloudTrail event category.
 */
const CATEGORIES = new Map<string, EventTest>([
  ['management', (e) => eventCategoryOf(e) === 'management'],
  ['data', (e) => eventCategoryOf(e) === 'data'],
  ['networkactivity', (e) => eventCategoryOf(e) === 'networkactivity'],
  ['insight', (e) => eventCategoryOf(e) === 'insight'],
]);

type Doc = Record<string, unknown>;

/** A YAML value for a message (objects as JSON rather than [object Object]). */
function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined) return String(value);
  return JSON.stringify(value);
}

function isMap(value: unknown): value is Doc {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function common(doc: Doc, fallbackId: string) {
  if (typeof doc.title !== 'string' || doc.title.trim() === '') throw new SigmaRuleError('a Sigma rule needs a title', ['title']);
  if (doc.id !== undefined && typeof doc.id !== 'string') throw new SigmaRuleError('id must be a string (a UUID in SigmaHQ rules)', ['id']);
  if (doc.name !== undefined && typeof doc.name !== 'string') throw new SigmaRuleError('name must be a string', ['name']);
  const level = doc.level === undefined ? 'medium' : show(doc.level).toLowerCase();
  if (!LEVELS.includes(level as SigmaLevel)) throw new SigmaRuleError(`level must be one of ${LEVELS.join(', ')}`, ['level']);
  if (doc.tags !== undefined && !(Array.isArray(doc.tags) && doc.tags.every((t) => typeof t === 'string'))) throw new SigmaRuleError('tags must be a list of strings', ['tags']);
  if (doc.status === 'unsupported') throw new SigmaRuleError("the rule's status is 'unsupported': SigmaHQ marks rules that no backend can express this way", ['status']);
  return {
    id: (doc.id) ?? fallbackId,
    ...(typeof doc.name === 'string' ? { name: doc.name } : {}),
    title: doc.title,
    ...(typeof doc.description === 'string' ? { description: doc.description.trim() } : {}),
    level: level as SigmaLevel,
    tags: (doc.tags) ?? [],
  };
}

/**
 * Compiles a rule in SigmaHQ's format (sigma-rules-specification.md) for `product: aws,
 * service: cloudtrail`. Anything opentrail cannot evaluate faithfully is refused with the reason
 * and the path of the offending item, never silently approximated.
 */
export function compileSigmaRule(doc: Doc, fallbackId: string): CompiledSigmaRule {
  const meta = common(doc, fallbackId);
  const logsource = doc.logsource;
  if (!isMap(logsource)) throw new SigmaRuleError('a Sigma rule needs a logsource (product: aws, service: cloudtrail)', ['logsource']);
  const product = show(logsource.product ?? '').toLowerCase();
  const service = show(logsource.service ?? '').toLowerCase();
  if (product !== 'aws') throw new SigmaRuleError(`logsource product '${show(logsource.product ?? '(none)')}' is not supported: opentrail evaluates AWS CloudTrail events (product: aws)`, ['logsource', 'product']);
  if (service !== 'cloudtrail') throw new SigmaRuleError(`logsource service '${show(logsource.service ?? '(none)')}' is not supported: opentrail evaluates CloudTrail events (service: cloudtrail)`, ['logsource', 'service']);
  const category = logsource.category === undefined ? undefined : show(logsource.category).toLowerCase();
  const inCategory = category === undefined ? undefined : CATEGORIES.get(category);
  if (category !== undefined && !inCategory) {
    throw new SigmaRuleError(`logsource category '${show(logsource.category)}' is not supported with service: cloudtrail (supported: ${[...CATEGORIES.keys()].join(', ')}, CloudTrail's event categories)`, ['logsource', 'category']);
  }

  const detection = doc.detection;
  if (!isMap(detection)) throw new SigmaRuleError('a Sigma rule needs a detection with search identifiers and a condition', ['detection']);
  if (detection.timeframe !== undefined) throw new SigmaRuleError("'timeframe' is deprecated in Sigma and not supported: use a correlation rule with a timespan", ['detection', 'timeframe']);

  const selections = new Map<string, { test: EventTest; hint: IndexHint }>();
  for (const [name, value] of Object.entries(detection)) {
    if (name === 'condition') continue;
    selections.set(name, compileSelection(value, ['detection', name]));
  }
  if (selections.size === 0) throw new SigmaRuleError('the detection defines no search identifier', ['detection']);

  const rawCondition = detection.condition;
  const conditions = typeof rawCondition === 'string' ? [rawCondition] : Array.isArray(rawCondition) && rawCondition.every((c) => typeof c === 'string') ? (rawCondition) : undefined;
  if (!conditions || conditions.length === 0) throw new SigmaRuleError('the detection needs a condition (a string, or a list of strings)', ['detection', 'condition']);
  const names = [...selections.keys()];
  const compiled = conditions.map((text, i) => {
    try {
      return compileCondition(parseCondition(text, names), selections);
    } catch (err) {
      if (err instanceof SigmaConditionError) throw new SigmaRuleError(`condition: ${err.message}`, conditions.length > 1 ? ['detection', 'condition', i] : ['detection', 'condition']);
      throw err;
    }
  });
  const detect = anyOf(compiled.map((c) => c.test));
  const matches: EventTest = inCategory ? (e) => inCategory(e) && detect(e) : detect;
  const hint = compiled.map((c) => c.hint).reduce(orHints);
  return { ...meta, matches, hint };
}

/**
 * AND / OR of tests as plain loops over a fixed array (no closure per call, as every()/some()
 * with an arrow would make): these run for every candidate rule of every event.
 */
function everyOf(tests: readonly EventTest[]): EventTest {
  if (tests.length === 1) return tests[0]!;
  if (tests.length === 2) {
    const [a, b] = tests as [EventTest, EventTest];
    return (e) => a(e) && b(e);
  }
  return (e) => {
    for (let i = 0; i < tests.length; i++) if (!tests[i]!(e)) return false;
    return true;
  };
}

function anyOf(tests: readonly EventTest[]): EventTest {
  if (tests.length === 1) return tests[0]!;
  if (tests.length === 2) {
    const [a, b] = tests as [EventTest, EventTest];
    return (e) => a(e) || b(e);
  }
  return (e) => {
    for (let i = 0; i < tests.length; i++) if (tests[i]!(e)) return true;
    return false;
  };
}

function compileSelection(value: unknown, path: (string | number)[]): { test: EventTest; hint: IndexHint } {
  if (isMap(value)) return compileMap(value, path);
  if (Array.isArray(value)) {
    if (value.length === 0) throw new SigmaRuleError('a search identifier holds an empty list', path);
    if (value.every(isMap)) {
      const maps = value.map((m, i) => compileMap(m, [...path, i]));
      return { test: anyOf(maps.map((m) => m.test)), hint: maps.map((m) => m.hint).reduce(orHints) };
    }
    if (value.some(isMap)) throw new SigmaRuleError('a search identifier is a mapping, a list of mappings, or a list of keywords, not a mix', path);
    return { test: compileKeywords(value, path), hint: noHint };
  }
  if (typeof value === 'string' || typeof value === 'number') return { test: compileKeywords(value, path), hint: noHint };
  throw new SigmaRuleError('a search identifier must be a mapping of fields to values, a list of them, or keywords', path);
}

function compileMap(map: Doc, path: (string | number)[]): { test: EventTest; hint: IndexHint } {
  const items = Object.entries(map).map(([key, value]) => compileFieldCondition(key, value, [...path, key]));
  if (items.length === 0) throw new SigmaRuleError('a search identifier holds an empty mapping', path);
  const tests = items.map((i) => i.test);
  return { test: everyOf(tests), hint: items.map((i) => i.hint).reduce(andHints) };
}

function compileCondition(node: ConditionNode, selections: Map<string, { test: EventTest; hint: IndexHint }>): { test: EventTest; hint: IndexHint } {
  switch (node.type) {
    case 'ref':
      return selections.get(node.name)!;
    case 'not': {
      const inner = compileCondition(node.operand, selections).test;
      return { test: (e) => !inner(e), hint: noHint };
    }
    case 'and': {
      const parts = node.operands.map((o) => compileCondition(o, selections));
      return { test: everyOf(parts.map((p) => p.test)), hint: parts.map((p) => p.hint).reduce(andHints) };
    }
    case 'or': {
      const parts = node.operands.map((o) => compileCondition(o, selections));
      return { test: anyOf(parts.map((p) => p.test)), hint: parts.map((p) => p.hint).reduce(orHints) };
    }
    case 'of': {
      const parts = node.names.map((n) => selections.get(n)!);
      if (node.quantity === 'all') return { test: everyOf(parts.map((p) => p.test)), hint: parts.map((p) => p.hint).reduce(andHints) };
      const needed = node.quantity;
      const hint = parts.map((p) => p.hint).reduce(orHints);
      if (needed === 1) return { test: anyOf(parts.map((p) => p.test)), hint };
      return {
        test: (e) => {
          let n = 0;
          for (const p of parts) if (p.test(e) && ++n >= needed) return true;
          return false;
        },
        hint,
      };
    }
  }
}

/** Sigma timespans: 30s, 5m, 1h, 1d (correlation specification). */
export function parseTimespan(text: unknown): number | undefined {
  const match = /^(\d+)\s*(s|m|h|d)$/.exec(show(text).trim());
  if (!match) return undefined;
  return Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

/** A Sigma correlation rule (sigma-correlation-rules-specification.md); only event_count with gte/gt is supported. */
export function parseSigmaCorrelation(doc: Doc, fallbackId: string): SigmaCorrelation {
  const meta = common(doc, fallbackId);
  const c = doc.correlation;
  if (!isMap(c)) throw new SigmaRuleError('correlation must be a mapping', ['correlation']);
  if (c.type !== 'event_count') {
    throw new SigmaRuleError(`correlation type '${show(c.type)}' is not supported: opentrail evaluates event_count (at least N matching events within the timespan)`, ['correlation', 'type']);
  }
  const rules = typeof c.rules === 'string' ? [c.rules] : c.rules;
  if (!Array.isArray(rules) || rules.length === 0 || !rules.every((r) => typeof r === 'string')) throw new SigmaRuleError('correlation.rules must list the ids or names of the rules it counts', ['correlation', 'rules']);
  const groupBy = c['group-by'] === undefined ? [] : typeof c['group-by'] === 'string' ? [c['group-by']] : c['group-by'];
  if (!Array.isArray(groupBy) || !groupBy.every((g) => typeof g === 'string')) throw new SigmaRuleError('correlation.group-by must be a list of field names', ['correlation', 'group-by']);
  const timespanMs = parseTimespan(c.timespan);
  if (!timespanMs) throw new SigmaRuleError('correlation.timespan must be a duration such as 60s, 5m, 1h or 1d', ['correlation', 'timespan']);
  const condition = c.condition;
  if (!isMap(condition)) throw new SigmaRuleError('correlation.condition must be a mapping such as {gte: 5}', ['correlation', 'condition']);
  const ops = Object.keys(condition);
  let count: number;
  if (ops.length === 1 && ops[0] === 'gte' && Number.isInteger(condition.gte) && (condition.gte as number) >= 1) count = condition.gte as number;
  else if (ops.length === 1 && ops[0] === 'gt' && Number.isInteger(condition.gt) && (condition.gt as number) >= 0) count = (condition.gt as number) + 1;
  else {
    throw new SigmaRuleError(`correlation.condition ${JSON.stringify(condition)} is not supported: use gte or gt with a whole number (a threshold that fires as soon as it is reached)`, ['correlation', 'condition']);
  }
  // The specification puts generate at the top level; some tools write it inside correlation.
  const generate = doc.generate ?? c.generate;
  if (generate !== undefined && typeof generate !== 'boolean') throw new SigmaRuleError('generate must be true or false', [doc.generate !== undefined ? 'generate' : 'correlation']);
  return { ...meta, rules: rules, groupBy: groupBy, timespanMs, count, generate: generate === true };
}

export { SigmaRuleError };
