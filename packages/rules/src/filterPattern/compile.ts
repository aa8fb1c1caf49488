import { compileAccessor } from '../fieldPath.js';
import { noHint, andHints, orHints, type IndexHint } from '../indexHint.js';
import type { RuleEvent } from '../ruleEvent.js';
import { parseFilterPattern } from './parser.js';
import type { FilterNode, FilterTest, FilterValue, StringPart } from './syntax.js';

export type EventMatcher = (event: RuleEvent) => boolean;

export interface CompiledFilterPattern {
  pattern: string;
  matches: EventMatcher;
  /** What an event must have for the pattern to match it (for the rule index). */
  hint: IndexHint;
}

/**
 * Compiles a JSON filter pattern into a matcher with CloudWatch's semantics (cloudtrail-spec.md §8.1):
 * a test on a property the event does not have is false — for != too (`NOT EXISTS` is how a pattern
 * asks for absence); a property that is an object or an array matches no comparison; string
 * comparisons are case-sensitive with `*` wildcards; `<`/`>` compare numbers.
 */
export function compileFilterPattern(pattern: string): CompiledFilterPattern {
  const tree = parseFilterPattern(pattern);
  return { pattern, matches: compileNode(tree), hint: hintOf(tree) };
}

function compileNode(node: FilterNode): EventMatcher {
  switch (node.type) {
    case 'and': {
      const left = compileNode(node.left);
      const right = compileNode(node.right);
      return (e) => left(e) && right(e);
    }
    case 'or': {
      const left = compileNode(node.left);
      const right = compileNode(node.right);
      return (e) => left(e) || right(e);
    }
    default:
      return compileTest(node);
  }
}

function isScalar(value: unknown): value is string | number | boolean {
  const t = typeof value;
  return t === 'string' || t === 'number' || t === 'boolean';
}

function compileTest(test: FilterTest): EventMatcher {
  const read = compileAccessor(test.selector.segments);
  switch (test.type) {
    case 'notExists':
      return (e) => read(e) === undefined;
    case 'is': {
      const expected = test.what === 'NULL' ? null : test.what === 'TRUE';
      return (e) => read(e) === expected;
    }
    case 'compare': {
      const equals = valueEquals(test.value);
      switch (test.op) {
        case '=':
          return (e) => {
            const v = read(e);
            return isScalar(v) && equals(v);
          };
        case '!=':
          return (e) => {
            const v = read(e);
            return isScalar(v) && !equals(v);
          };
        default: {
          const limit = (test.value as Extract<FilterValue, { kind: 'number' }>).value;
          const compare = numericComparison(test.op, limit);
          return (e) => {
            const n = asNumber(read(e));
            return n !== undefined && compare(n);
          };
        }
      }
    }
  }
}

function numericComparison(op: '<' | '>' | '<=' | '>=', limit: number): (n: number) => boolean {
  switch (op) {
    case '<':
      return (n) => n < limit;
    case '>':
      return (n) => n > limit;
    case '<=':
      return (n) => n <= limit;
    case '>=':
      return (n) => n >= limit;
  }
}

/** A JSON number, or a string that is exactly a number. */
function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(value)) return Number(value);
  return undefined;
}

/** Equality of a scalar property with a pattern value. */
function valueEquals(value: FilterValue): (v: string | number | boolean) => boolean {
  switch (value.kind) {
    case 'number': {
      const n = value.value;
      const text = value.text;
      // Numeric equality for numbers (1e3 = 1000); a string property compares as text.
      return (v) => (typeof v === 'number' ? v === n : String(v) === text || asNumber(v) === n);
    }
    case 'regex': {
      const re = new RegExp(value.source);
      return (v) => re.test(String(v));
    }
    case 'string': {
      const test = globMatcher(value.parts);
      return (v) => test(typeof v === 'string' ? v : String(v));
    }
  }
}

/** Case-sensitive glob over parts; the common shapes get a direct string test. */
export function globMatcher(parts: readonly StringPart[]): (s: string) => boolean {
  const literal = (p: StringPart | undefined): p is string => typeof p === 'string';
  if (parts.length === 0) return (s) => s === '';
  if (parts.length === 1) {
    const only = parts[0]!;
    return literal(only) ? (s) => s === only : () => true;
  }
  if (parts.length === 2) {
    const [a, b] = parts;
    if (literal(a) && !literal(b)) return (s) => s.startsWith(a);
    if (!literal(a) && literal(b)) return (s) => s.endsWith(b);
  }
  if (parts.length === 3 && !literal(parts[0]) && literal(parts[1]) && !literal(parts[2])) {
    const middle = parts[1];
    return (s) => s.includes(middle);
  }
  const source = parts.map((p) => (literal(p) ? escapeRegExp(p) : '.*')).join('');
  const re = new RegExp(`^${source}$`, 's');
  return (s) => re.test(s);
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** The index hint of a pattern: which eventName/eventSource values it requires. */
function hintOf(node: FilterNode): IndexHint {
  switch (node.type) {
    case 'and':
      return andHints(hintOf(node.left), hintOf(node.right));
    case 'or':
      return orHints(hintOf(node.left), hintOf(node.right));
    case 'compare': {
      const field = node.selector.segments.length === 1 ? node.selector.segments[0] : undefined;
      if ((field === 'eventName' || field === 'eventSource') && node.op === '=' && node.value.kind === 'string' && node.value.parts.every((p) => typeof p === 'string')) {
        return { [field]: new Set([node.value.text.toLowerCase()]) };
      }
      return noHint;
    }
    default:
      return noHint;
  }
}
