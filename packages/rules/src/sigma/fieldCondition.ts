import { BlockList, isIP } from 'node:net';
import { OpentrailError } from '@opentrail/errors';
import { compileAccessor, compileMultiAccessor, isScalarPath, NOTHING_FOUND, parseDottedPath, type MultiAccessor, type Segment } from '../fieldPath.js';
import { ANY_CHAR, ANY_RUN, compileGlob, type GlobToken } from '../glob.js';
import { compileLinearRegex, RegexRefusedError, type RegexTest } from '../linearRegex.js';
import type { IndexHint } from '../indexHint.js';
import type { RuleEvent } from '../ruleEvent.js';

/** A detection item that cannot be compiled: why, and where below the item (for the file's line). */
export class SigmaRuleError extends OpentrailError<'INVALID_SIGMA_RULE'> {
  constructor(
    reason: string,
    readonly path: readonly (string | number)[] = [],
  ) {
    super('INVALID_SIGMA_RULE', reason);
  }
}

export type EventTest = (event: RuleEvent) => boolean;

const SUPPORTED = ['contains', 'startswith', 'endswith', 'all', 're', 'i', 'm', 's', 'cased', 'fieldref', 'exists', 'cidr', 'gt', 'gte', 'lt', 'lte'];
/** Modifiers of the Sigma specification that encode Windows command lines and binary data; CloudTrail fields never need them. */
/** A Map: the modifier names looked up come from the rule file. */
const REFUSED = new Map<string, string>([
  ['base64', 'it matches base64-encoded payloads, which CloudTrail fields do not carry'],
  ['base64offset', 'it matches base64-encoded payloads, which CloudTrail fields do not carry'],
  ['utf16le', 'it is a companion of base64 for Windows payloads'],
  ['utf16be', 'it is a companion of base64 for Windows payloads'],
  ['utf16', 'it is a companion of base64 for Windows payloads'],
  ['wide', 'it is a companion of base64 for Windows payloads'],
  ['windash', 'it expands Windows command-line dashes'],
  ['expand', 'it needs placeholder values configured for a SIEM backend'],
]);

/** A field value as text for string matching: numbers and booleans stringified, objects as their JSON text. */
function toText(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
      return String(value);
    case 'object':
      return value === null ? undefined : JSON.stringify(value);
    default:
      return undefined;
  }
}

/**
 * A compiled Sigma string value: `*` any run, `?` one character, a backslash escapes them and itself.
 * Linear in the text's length whatever the pattern (glob.ts); case-insensitive values are
 * lower-cased here and the caller lower-cases the text.
 */
export function sigmaStringMatcher(pattern: string, cased: boolean): (text: string) => boolean {
  const tokens: GlobToken[] = [];
  let literal = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length && '*?\\'.includes(pattern[i + 1]!)) {
      literal += pattern[++i];
    } else if (c === '*' || c === '?') {
      if (literal) tokens.push(cased ? literal : literal.toLowerCase());
      literal = '';
      tokens.push(c === '*' ? ANY_RUN : ANY_CHAR);
    } else {
      literal += c;
    }
  }
  if (literal) tokens.push(cased ? literal : literal.toLowerCase());
  return compileGlob(tokens);
}

function checkModifiers(field: string, modifiers: string[], path: readonly (string | number)[]): void {
  for (const m of modifiers) {
    const refused = REFUSED.get(m);
    if (refused) throw new SigmaRuleError(`the modifier '${m}' of '${field}' is not supported: ${refused}`, path);
    if (!SUPPORTED.includes(m)) throw new SigmaRuleError(`unknown modifier '${m}' on '${field}' (supported: ${SUPPORTED.join(', ')})`, path);
  }
  const transforms = modifiers.filter((m) => m === 'contains' || m === 'startswith' || m === 'endswith');
  if (transforms.length > 1) throw new SigmaRuleError(`'${field}' combines ${transforms.join(' and ')}; use one of them`, path);
  for (const flag of ['i', 'm', 's']) {
    if (modifiers.includes(flag) && !modifiers.includes('re')) throw new SigmaRuleError(`the modifier '${flag}' is a flag of 're' and needs it`, path);
  }
  const exclusive = ['re', 'fieldref', 'exists', 'cidr', 'gt', 'gte', 'lt', 'lte'].filter((m) => modifiers.includes(m));
  if (exclusive.length > 1) throw new SigmaRuleError(`'${field}' combines ${exclusive.join(' and ')}, which cannot go together`, path);
  if ((modifiers.includes('re') || modifiers.includes('cidr') || modifiers.some((m) => m.startsWith('gt') || m.startsWith('lt'))) && transforms.length > 0) {
    throw new SigmaRuleError(`'${field}' combines ${exclusive[0]} with ${transforms[0]}, which cannot go together`, path);
  }
}

type Scalar = string | number | boolean | null;

/**
 * One `field|modifiers: value(s)` item of a selection (sigma-rules-specification.md): list values are
 * OR-ed (AND-ed with `all`), strings compare case-insensitively (unless `cased`) with wildcards,
 * `null` means the field is absent or null, `re` is a case-sensitive regular-expression search,
 * `fieldref` compares with another field's value.
 */
export function compileFieldCondition(key: string, raw: unknown, path: readonly (string | number)[]): { test: EventTest; hint: IndexHint } {
  const [field = '', ...modifiers] = key.split('|');
  if (field === '') throw new SigmaRuleError(`'${key}': keyword searches with modifiers are not supported; name a field`, path);
  checkModifiers(field, modifiers, path);
  let access: MultiAccessor;
  let segments: Segment[];
  try {
    segments = parseDottedPath(field);
    access = compileMultiAccessor(segments);
  } catch (err) {
    throw new SigmaRuleError((err as Error).message, path);
  }
  const values: Scalar[] = Array.isArray(raw) ? (raw as unknown[]).map((v, i) => scalar(v, field, [...path, i])) : [scalar(raw, field, path)];
  if (values.length === 0) throw new SigmaRuleError(`'${key}' has an empty list of values`, path);
  const all = modifiers.includes('all');
  const has = (m: string) => modifiers.includes(m);

  let matchers: ((value: unknown, event: RuleEvent) => boolean)[];
  if (has('exists')) {
    if (values.length !== 1 || typeof values[0] !== 'boolean') throw new SigmaRuleError(`'${key}' takes true or false`, path);
    const wanted = values[0];
    // An empty array is a field that exists (with no element to match).
    return { test: (e) => access(e) !== NOTHING_FOUND === wanted, hint: {} };
  } else if (has('re')) {
    matchers = values.map((v, i) => {
      if (typeof v !== 'string') throw new SigmaRuleError(`'${key}' needs a regular expression (a string)`, Array.isArray(raw) ? [...path, i] : path);
      // RE2 syntax, which reads PCRE's leading (?i) itself; linear in the text's length.
      let search: RegexTest;
      try {
        search = compileLinearRegex(v, { caseInsensitive: has('i'), multiline: has('m'), dotAll: has('s') });
      } catch (err) {
        if (err instanceof RegexRefusedError) throw new SigmaRuleError(`'${key}': ${err.message}`, Array.isArray(raw) ? [...path, i] : path);
        throw err;
      }
      return (value: unknown) => {
        const text = toText(value);
        return text !== undefined && search(text);
      };
    });
  } else if (has('cidr')) {
    matchers = values.map((v, i) => {
      const list = new BlockList();
      const [address, prefix] = String(v).split('/');
      const family = isIP(address ?? '');
      if (!family || !/^\d+$/.test(prefix ?? '')) throw new SigmaRuleError(`'${key}': ${JSON.stringify(v)} is not a CIDR block`, Array.isArray(raw) ? [...path, i] : path);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      list.addSubnet(address!, Number(prefix), type);
      return (value: unknown) => {
        const text = toText(value);
        if (!text) return false;
        const f = isIP(text);
        return f !== 0 && list.check(text, f === 4 ? 'ipv4' : 'ipv6');
      };
    });
  } else if (modifiers.some((m) => ['gt', 'gte', 'lt', 'lte'].includes(m))) {
    const op = modifiers.find((m) => ['gt', 'gte', 'lt', 'lte'].includes(m))!;
    matchers = values.map((v, i) => {
      if (typeof v !== 'number') throw new SigmaRuleError(`'${key}' compares numbers; ${JSON.stringify(v)} is not one`, Array.isArray(raw) ? [...path, i] : path);
      return (value: unknown) => {
        const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
        if (Number.isNaN(n)) return false;
        return op === 'gt' ? n > v : op === 'gte' ? n >= v : op === 'lt' ? n < v : n <= v;
      };
    });
  } else if (has('fieldref')) {
    const cased = has('cased');
    const norm = (s: string) => (cased ? s : s.toLowerCase());
    const how = has('contains') ? 'contains' : has('startswith') ? 'startswith' : has('endswith') ? 'endswith' : 'equals';
    matchers = values.map((v, i) => {
      if (typeof v !== 'string') throw new SigmaRuleError(`'${key}' needs the name of another field`, Array.isArray(raw) ? [...path, i] : path);
      let other: MultiAccessor;
      try {
        other = compileMultiAccessor(parseDottedPath(v));
      } catch (err) {
        throw new SigmaRuleError(`'${key}': ${(err as Error).message}`, Array.isArray(raw) ? [...path, i] : path);
      }
      return (value: unknown, event: RuleEvent) => {
        const text = toText(value);
        if (text === undefined) return false;
        const left = norm(text);
        return other(event).some((o) => {
          const t = toText(o);
          if (t === undefined) return false;
          const right = norm(t);
          return how === 'equals' ? left === right : how === 'contains' ? left.includes(right) : how === 'startswith' ? left.startsWith(right) : left.endsWith(right);
        });
      };
    });
  } else {
    const cased = has('cased');
    if (!all) return { test: plainStringTest(segments, access, values, modifiers, cased), hint: hintFor(field, modifiers, values) };
    matchers = values.map((v) => {
      if (v === null) return (value: unknown) => value === null;
      let pattern = String(v);
      if (has('contains')) pattern = `*${pattern}*`;
      else if (has('startswith')) pattern = `${pattern}*`;
      else if (has('endswith')) pattern = `*${pattern}`;
      const test = sigmaStringMatcher(pattern, cased);
      return (value: unknown) => {
        const text = toText(value);
        return text !== undefined && test(cased ? text : text.toLowerCase());
      };
    });
  }

  const nullWanted = values.includes(null) && !has('fieldref');
  if (isScalarPath(segments)) {
    // A typed member holds one value: no fan-out list to build.
    const single = compileAccessor(segments);
    const test: EventTest = all
      ? (e) => {
          const v = single(e);
          return v !== undefined && matchers.every((m) => m(v, e));
        }
      : (e) => {
          const v = single(e);
          if (v === undefined) return nullWanted;
          for (const m of matchers) if (m(v, e)) return true;
          return false;
        };
    return { test, hint: hintFor(field, modifiers, values) };
  }
  const test: EventTest = all
    ? (e) => {
        const found = access(e);
        return matchers.every((m) => found.some((v) => m(v, e)));
      }
    : (e) => {
        const found = access(e);
        if (found === NOTHING_FOUND) return nullWanted;
        for (const v of found) for (const m of matchers) if (m(v, e)) return true;
        return false;
      };
  return { test, hint: hintFor(field, modifiers, values) };
}

/**
 * The common case, written for speed: plain string values (with wildcards, contains, startswith,
 * endswith), OR-ed. The field's text is lower-cased once, not once per value, and typed members are
 * read without the fan-out's lists.
 */
function plainStringTest(segments: Segment[], access: MultiAccessor, values: Scalar[], modifiers: string[], cased: boolean): EventTest {
  const nullWanted = values.includes(null);
  const tests = values
    .filter((v) => v !== null)
    .map((v) => {
      const text = String(v);
      const pattern = modifiers.includes('contains') ? `*${text}*` : modifiers.includes('startswith') ? `${text}*` : modifiers.includes('endswith') ? `*${text}` : text;
      return sigmaStringMatcher(pattern, cased);
    });
  const matchesValue = (value: unknown, e: RuleEvent): boolean => {
    if (value === null) return nullWanted;
    const text = typeof value === 'object' ? e.objectText(value) : toText(value);
    if (text === undefined) return false;
    const subject = cased ? text : e.lower(text);
    for (let i = 0; i < tests.length; i++) if (tests[i]!(subject)) return true;
    return false;
  };
  if (isScalarPath(segments)) {
    const single = compileAccessor(segments);
    return (e) => {
      const value = single(e);
      return value === undefined ? nullWanted : matchesValue(value, e);
    };
  }
  return (e) => {
    const found = access(e);
    if (found === NOTHING_FOUND) return nullWanted;
    for (const v of found) if (matchesValue(v, e)) return true;
    return false;
  };
}

function scalar(value: unknown, field: string, path: readonly (string | number)[]): Scalar {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  throw new SigmaRuleError(`the value of '${field}' must be a string, number, boolean or null (or a list of them), not ${Array.isArray(value) ? 'a nested list' : 'a mapping'}`, path);
}

/** eventName/eventSource tests with plain values narrow the events a rule can match. */
function hintFor(field: string, modifiers: string[], values: Scalar[]): IndexHint {
  if (field !== 'eventName' && field !== 'eventSource') return {};
  if (modifiers.some((m) => m !== 'cased')) return {};
  if (!values.every((v) => typeof v === 'string' && !/[*?\\]/.test(v))) return {};
  return { [field]: new Set((values as string[]).map((v) => v.toLowerCase())) };
}

/** Keyword searches: a list of values looked for anywhere in the record's JSON text. */
export function compileKeywords(raw: unknown, path: readonly (string | number)[]): EventTest {
  const list = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  const tests = list.map((v, i) => {
    if (typeof v !== 'string' && typeof v !== 'number') throw new SigmaRuleError('keyword values must be strings or numbers', Array.isArray(raw) ? [...path, i] : path);
    return sigmaStringMatcher(`*${String(v)}*`, false);
  });
  return (e) => {
    const text = e.lower(e.recordJson());
    for (let i = 0; i < tests.length; i++) if (tests[i]!(text)) return true;
    return false;
  };
}
