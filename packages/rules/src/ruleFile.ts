import { basename } from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node } from 'yaml';
import { z } from 'zod';
import { parseDottedPath } from './fieldPath.js';
import { compileFilterPattern } from './filterPattern/compile.js';
import { FilterPatternError } from './filterPattern/syntax.js';
import { SEVERITIES, type RuleDefinition, type RuleLocation, type Severity } from './rule.js';
import { compileSigmaRule, parseSigmaCorrelation, SigmaRuleError } from './sigma/rule.js';

/** Something wrong in a rule file: where, and what. */
export interface RuleFileProblem extends RuleLocation {
  message: string;
}

export function problemText(p: RuleFileProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.message}`;
}

/** Durations in rule files: seconds as a number, or 500ms, 30s, 5m, 1h, 1d. */
export function parseDuration(value: number | string): number | undefined {
  if (typeof value === 'number') return value > 0 ? value * 1000 : undefined;
  const match = /^(\d+)\s*(ms|s|m|h|d)$/.exec(value.trim());
  if (!match) return undefined;
  return Number(match[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
}

const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a duration: use seconds (300) or 500ms, 30s, 5m, 1h, 1d` });
    return z.NEVER;
  }
  return ms;
});

const fieldList = z.array(
  z.string().refine((f) => {
    try {
      parseDottedPath(f);
      return true;
    } catch {
      return false;
    }
  }, 'is not a field name such as userIdentity.arn'),
);

/**
 * A CloudWatch-style rule: a JSON filter pattern (the metric filter) and, optionally, the alarm
 * beside it (at least `threshold` matches within `period`), as the CIS benchmark pairs them.
 */
const filterRuleSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'may hold only letters, digits, ".", "_", ":" and "-"'),
  title: z.string().min(1),
  description: z.string().optional(),
  severity: z
    .string()
    .transform((s) => s.toUpperCase())
    .pipe(z.enum(SEVERITIES as [Severity, ...Severity[]], { message: `must be one of ${SEVERITIES.map((s) => s.toLowerCase()).join(', ')}` }))
    .default('MEDIUM'),
  tags: z.array(z.string()).default([]),
  references: z.array(z.string()).optional(),
  author: z.string().optional(),
  filterPattern: z.string(),
  groupBy: fieldList.optional(),
  alarm: z
    .strictObject({
      /** Matches (at least) within the period that raise the alarm. */
      threshold: z.number().int().min(1).default(1),
      period: duration.default(300),
    })
    .optional(),
  suppression: duration.optional(),
  enabled: z.boolean().default(true),
});

type Path = readonly (string | number)[];

/**
 * Reads one rule file: YAML, one rule per document (`---` separates several). Each document is a
 * filter-pattern rule (has `filterPattern`), a Sigma rule (has `detection`/`logsource`), or a Sigma
 * correlation (has `correlation`). Every problem names the file, the line and column, and what is
 * wrong; a file with a problem contributes no rule (the caller keeps what it had).
 */
export function parseRuleFile(file: string, text: string): { definitions: RuleDefinition[]; problems: RuleFileProblem[] } {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const definitions: RuleDefinition[] = [];
  const problems: RuleFileProblem[] = [];
  const at = (offset: number): RuleLocation => {
    const pos = lineCounter.linePos(offset);
    return { file, line: pos.line, column: pos.col };
  };
  if (!Array.isArray(docs)) return { definitions, problems };
  const base = basename(file).replace(/\.ya?ml$/, '');

  docs.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) problems.push({ ...at(e.pos[0]), message: `YAML: ${e.message.split('\n')[0]}` });
      return;
    }
    if (doc.contents === null) return; // an empty document, e.g. after a trailing ---
    const value: unknown = doc.toJS();
    const start = at(doc.contents.range?.[0] ?? 0);
    const locate = (path: Path) => at(offsetOf(doc, path));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push({ ...start, message: 'a rule is a mapping of keys (filterPattern, or a Sigma rule with logsource and detection)' });
      return;
    }
    const record = value as Record<string, unknown>;
    const fallbackId = docs.length > 1 ? `${base}#${index + 1}` : base;
    try {
      if ('correlation' in record) {
        const c = parseSigmaCorrelation(record, fallbackId);
        definitions.push({
          type: 'correlation',
          id: c.id,
          ...(c.name ? { name: c.name } : {}),
          title: c.title,
          ...(c.description ? { description: c.description } : {}),
          severity: c.level.toUpperCase() as Severity,
          tags: c.tags,
          location: start,
          ...(c.groupBy.length > 0 ? { groupBy: c.groupBy } : {}),
          rules: c.rules,
          threshold: { count: c.count, windowMs: c.timespanMs },
          generate: c.generate,
        });
      } else if ('detection' in record || 'logsource' in record) {
        const rule = compileSigmaRule(record, fallbackId);
        definitions.push({
          type: 'detection',
          kind: 'SIGMA',
          id: rule.id,
          ...(rule.name ? { name: rule.name } : {}),
          title: rule.title,
          ...(rule.description ? { description: rule.description } : {}),
          severity: rule.level.toUpperCase() as Severity,
          tags: rule.tags,
          location: start,
          detection: { matches: rule.matches, hint: rule.hint },
          source: 'sigma',
        });
      } else if ('filterPattern' in record) {
        const parsed = filterRuleSchema.safeParse(record);
        if (!parsed.success) {
          for (const issue of parsed.error.issues) {
            const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
            const name = path.join('.');
            problems.push({ ...locate(path as Path), message: issue.code === 'unrecognized_keys' ? `unknown key ${issue.keys.join(', ')}` : `${name || 'rule'}: ${issue.message === 'Invalid input: expected string, received undefined' ? 'is required' : issue.message}` });
          }
          return;
        }
        const r = parsed.data;
        if (!r.enabled) return;
        let detection;
        try {
          detection = compileFilterPattern(r.filterPattern);
        } catch (err) {
          if (!(err instanceof FilterPatternError)) throw err;
          problems.push({ ...patternLocation(doc, lineCounter, file, err.column), message: `filterPattern: ${err.reason} (column ${err.column} of the pattern)` });
          return;
        }
        definitions.push({
          type: 'detection',
          kind: 'FILTER_PATTERN',
          id: r.id,
          title: r.title,
          ...(r.description ? { description: r.description.trim() } : {}),
          severity: r.severity,
          tags: r.tags,
          location: start,
          detection: { matches: detection.matches, hint: detection.hint },
          source: r.filterPattern,
          ...(r.groupBy ? { groupBy: r.groupBy } : {}),
          ...(r.alarm ? { threshold: { count: r.alarm.threshold, windowMs: r.alarm.period } } : {}),
          ...(r.suppression !== undefined ? { suppressionMs: r.suppression } : {}),
        });
      } else {
        problems.push({ ...start, message: 'not a rule: expected filterPattern (a CloudWatch filter pattern), logsource and detection (a Sigma rule), or correlation (a Sigma correlation)' });
      }
    } catch (err) {
      if (err instanceof SigmaRuleError) {
        problems.push({ ...locate(err.path), message: err.message });
        return;
      }
      throw err;
    }
  });
  return { definitions, problems: problems.length > 0 ? problems : [] };
}

function keyText(node: unknown): unknown {
  return isScalar(node) ? node.value : node;
}

/** The offset of the node a path names (for a mapping entry: its key), as deep as the path exists. */
function offsetOf(doc: Document, path: Path): number {
  let node: unknown = doc.contents;
  let offset = (doc.contents)?.range?.[0] ?? 0;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String(keyText(p.key)) === String(segment));
      if (!pair) break;
      offset = (pair.key as Node | null)?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

/** Line and column of a pattern column: exact for single-line values, else the value's first line. */
function patternLocation(doc: Document, lineCounter: LineCounter, file: string, column: number): RuleLocation {
  const node = doc.get('filterPattern', true) as Node | undefined;
  const range = node?.range;
  if (!node || !range) return { file, line: 1, column: 1 };
  const startPos = lineCounter.linePos(range[0]);
  const endPos = lineCounter.linePos(range[1]);
  if (isScalar(node) && startPos.line === endPos.line && (node.type === 'PLAIN' || node.type === 'QUOTE_SINGLE' || node.type === 'QUOTE_DOUBLE')) {
    const opening = node.type === 'PLAIN' ? 0 : 1;
    return { file, line: startPos.line, column: startPos.col + opening + column - 1 };
  }
  return { file, line: startPos.line, column: startPos.col };
}
