import { IDENTITY_TYPED_MEMBERS, JSON_TEXT_MEMBERS, TYPED_MEMBERS, isObject, ownValue, type RuleEvent } from './ruleEvent.js';

/** A path into the CloudTrail record: property names and array indexes. */
export type Segment = string | number;

/** A filter pattern's wildcard selector (`$.*`, `$.list[*]`): any array element or object member. */
export const ANY_MEMBER: unique symbol = Symbol('any member');
export type SelectorSegment = Segment | typeof ANY_MEMBER;

/** What a filter pattern's selector reads: every value it reaches (one, none, or several through a wildcard). */
export type SelectorReader = (event: RuleEvent) => unknown[];

/** Reads one value (undefined when absent). */
export type Accessor = (event: RuleEvent) => unknown;

/**
 * Reads every value a path reaches, fanning out over arrays met on the way and at its end (Sigma's
 * field semantics). Returns NOTHING_FOUND (compare by identity) when the path reaches no member at
 * all, and an empty list of its own when it only reaches empty arrays: `field: null` asks for the
 * former, and an empty array matches nothing (cloudtrail-spec.md §9).
 */
export type MultiAccessor = (event: RuleEvent) => readonly unknown[];

/** What a MultiAccessor returns when the field is absent. */
export const NOTHING_FOUND: readonly unknown[] = Object.freeze([]);

/**
 * A dotted field name as Sigma and group-by keys write it (`userIdentity.sessionContext.sessionIssuer.type`),
 * optionally with `$.` in front and `[n]` indexes, as filter patterns write it.
 */
export function parseDottedPath(text: string): Segment[] {
  const body = text.startsWith('$.') ? text.slice(2) : text;
  const segments: Segment[] = [];
  for (const part of body.split('.')) {
    const match = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!match || (match[1] === '' && match[2] === '')) throw new Error(`invalid field name ${JSON.stringify(text)}`);
    if (match[1]) segments.push(match[1]);
    for (const index of match[2]!.matchAll(/\[(\d+)\]/g)) segments.push(Number(index[1]));
  }
  return segments;
}

/** The value at the root member of a path, read the cheapest way for its kind. */
function rootReader(first: string, second: Segment | undefined): { read: Accessor; consumed: number } {
  if (first === 'enrichment') return { read: (e) => nullToUndefined(e.enrichment), consumed: 1 };
  if (first === 'userIdentity') {
    if (typeof second === 'string') return { read: (e) => e.identityMember(second), consumed: 2 };
    return { read: (e) => e.record().userIdentity, consumed: 1 };
  }
  if (first === 'resources') return { read: (e) => e.resources(), consumed: 1 };
  if (TYPED_MEMBERS.has(first)) return { read: (e) => e.typed(first), consumed: 1 };
  if (JSON_TEXT_MEMBERS.has(first)) return { read: (e) => e.jsonMember(first), consumed: 1 };
  return { read: (e) => e.extraMember(first), consumed: 1 };
}

function nullToUndefined(value: unknown): unknown {
  return value === null ? undefined : value;
}

/** Walks the rest of a path without fanning out: `[n]` indexes arrays, names index objects. */
export function step(value: unknown, segment: Segment, enrichment: boolean): unknown {
  if (typeof segment === 'number') return Array.isArray(value) ? value[segment] : undefined;
  if (!isObject(value)) return undefined;
  const next = ownValue(value, segment);
  // Avro nulls in the enrichment record mean "not known", not an explicit null.
  return enrichment ? nullToUndefined(next) : next;
}

/** A compiled single-value accessor for a path. */
export function compileAccessor(segments: readonly Segment[]): Accessor {
  const [first, second] = segments;
  if (typeof first !== 'string') throw new Error('a field path starts with a property name');
  const { read, consumed } = rootReader(first, second);
  const rest = segments.slice(consumed);
  const enrichment = first === 'enrichment';
  if (rest.length === 0) return read;
  if (rest.length === 1) {
    const only = rest[0]!;
    return (e) => step(read(e), only, enrichment);
  }
  return (e) => {
    let value = read(e);
    for (const segment of rest) {
      if (value === undefined) return undefined;
      value = step(value, segment, enrichment);
    }
    return value;
  };
}

/**
 * A compiled accessor that fans out (cloudtrail-spec.md §9): where the path meets an array, before
 * a property name or at its end, each element is followed (`requestParameters.containerDefinitions.command`
 * reaches the command of every container; `requestParameters.layers` reaches each layer, and nothing
 * at all for `layers: []`). Arrays of arrays are flattened. The walk keeps its own stack rather than
 * recursing, so no nesting of the input can overflow the call stack.
 */
export function compileMultiAccessor(segments: readonly Segment[]): MultiAccessor {
  const [first, second] = segments;
  if (typeof first !== 'string') throw new Error('a field path starts with a property name');
  const { read, consumed } = rootReader(first, second);
  const rest = segments.slice(consumed);
  const enrichment = first === 'enrichment';
  return (e) => collect(read(e), rest, enrichment);
}

function collect(root: unknown, rest: readonly Segment[], enrichment: boolean): readonly unknown[] {
  if (root === undefined) return NOTHING_FOUND;
  const out: unknown[] = [];
  let metArray = false;
  const values: unknown[] = [root];
  const depths: number[] = [0];
  while (values.length > 0) {
    const value = values.pop();
    const index = depths.pop()!;
    if (value === undefined) continue;
    const segment = rest[index];
    if (Array.isArray(value) && typeof segment !== 'number') {
      // Any element may match: push them in reverse so they come out in order.
      metArray = true;
      for (let i = value.length - 1; i >= 0; i--) {
        values.push(value[i]);
        depths.push(index);
      }
      continue;
    }
    if (segment === undefined) {
      out.push(value);
      continue;
    }
    values.push(step(value, segment, enrichment));
    depths.push(index + 1);
  }
  return out.length === 0 && !metArray ? NOTHING_FOUND : out;
}

/**
 * A filter pattern's selector (cloudtrail-spec.md §8.1): without a wildcard it reads one value and
 * never fans out (a selector that ends at an array or object matches nothing); with the wildcard
 * selector it reads each element or member value where the wildcard stands, then the rest of the
 * path from each. `$.*` stands for the members of the whole record.
 */
export function compileSelectorReader(segments: readonly SelectorSegment[]): SelectorReader {
  const at = segments.indexOf(ANY_MEMBER);
  if (at < 0) {
    const read = compileAccessor(segments as readonly Segment[]);
    return (e) => {
      const value = read(e);
      return value === undefined ? [] : [value];
    };
  }
  const prefix = segments.slice(0, at) as Segment[];
  const suffix = segments.slice(at + 1) as Segment[];
  if (suffix.includes(ANY_MEMBER as never)) throw new Error('a selector holds at most one wildcard');
  const readContainer: Accessor = prefix.length === 0 ? (e) => e.record() : compileAccessor(prefix);
  const enrichment = prefix[0] === 'enrichment';
  return (e) => {
    const container = readContainer(e);
    const children = Array.isArray(container) ? container : isObject(container) ? Object.keys(container).map((k) => container[k]) : [];
    const out: unknown[] = [];
    for (const child of children) {
      let value: unknown = child;
      for (const segment of suffix) {
        if (value === undefined) break;
        value = step(value, segment, enrichment);
      }
      if (value !== undefined) out.push(value);
    }
    return out;
  };
}

/**
 * Whether a path ends at a typed string or boolean member (eventName, userIdentity.arn, …), where
 * no array can sit on the way: a single-value accessor then serves Sigma without the fan-out's lists.
 */
export function isScalarPath(segments: readonly Segment[]): boolean {
  const [first, second] = segments;
  if (segments.length === 1) return typeof first === 'string' && TYPED_MEMBERS.has(first);
  return segments.length === 2 && first === 'userIdentity' && typeof second === 'string' && IDENTITY_TYPED_MEMBERS.has(second);
}
