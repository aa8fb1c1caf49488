import { ANY_MEMBER, compileAccessor, compileSelectorReader, type Segment } from '../fieldPath.js';
import { ANY_RUN, compileGlob, type GlobMatcher } from '../glob.js';
import { compileLinearRegex } from '../linearRegex.js';
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
 *
 * A wildcard selector (`$.list[*]`, `$.*`) reads several values; the test holds when it holds for
 * any of them (NOT EXISTS: when there is none). Wildcards in values and `%regex%` terms run in time
 * linear in the value's length (glob.ts, linearRegex.ts).
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
  const { segments } = test.selector;
  if (segments.includes(ANY_MEMBER)) return compileWildcardTest(test);
  const read = compileAccessor(segments as Segment[]);
  const holds = valueTest(test);
  if (test.type === 'notExists') return (e) => read(e) === undefined;
  return (e) => holds(read(e));
}

/** The test on one value the selector read (undefined: absent). */
function valueTest(test: FilterTest): (v: unknown) => boolean {
  switch (test.type) {
    case 'notExists':
      return (v) => v === undefined;
    case 'is': {
      const expected = test.what === 'NULL' ? null : test.what === 'TRUE';
      return (v) => v === expected;
    }
    case 'compare': {
      const equals = valueEquals(test.value);
      switch (test.op) {
        case '=':
          return (v) => isScalar(v) && equals(v);
        case '!=':
          return (v) => isScalar(v) && !equals(v);
        default: {
          const limit = (test.value as Extract<FilterValue, { kind: 'number' }>).value;
          const compare = numericComparison(test.op, limit);
          return (v) => {
            const n = asNumber(v);
            return n !== undefined && compare(n);
          };
        }
      }
    }
  }
}

/** A test through a wildcard selector: any value read satisfies it; NOT EXISTS when none is read. */
function compileWildcardTest(test: FilterTest): EventMatcher {
  const read = compileSelectorReader(test.selector.segments);
  if (test.type === 'notExists') return (e) => read(e).length === 0;
  const holds = valueTest(test);
  return (e) => {
    for (const v of read(e)) if (holds(v)) return true;
    return false;
  };
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
      const search = compileLinearRegex(value.source);
      return (v) => search(String(v));
    }
    case 'string': {
      const test = globMatcher(value.parts);
      return (v) => test(typeof v === 'string' ? v : String(v));
    }
  }
}

/** Case-sensitive glob over parts: `*` is any run of characters, wherever it stands in the value. */
export function globMatcher(parts: readonly StringPart[]): GlobMatcher {
  return compileGlob(parts.map((p) => (typeof p === 'string' ? p : ANY_RUN)));
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
