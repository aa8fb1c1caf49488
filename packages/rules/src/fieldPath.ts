import { IDENTITY_TYPED_MEMBERS, JSON_TEXT_MEMBERS, TYPED_MEMBERS, isObject, ownValue, type RuleEvent } from './ruleEvent.js';

/** A path into the CloudTrail record: property names and array indexes. */
export type Segment = string | number;

/** Reads one value (undefined when absent). */
export type Accessor = (event: RuleEvent) => unknown;

/** Reads every value a path reaches, fanning out over arrays met on the way (Sigma's field semantics). */
export type MultiAccessor = (event: RuleEvent) => unknown[];

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
function step(value: unknown, segment: Segment, enrichment: boolean): unknown {
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
 * A compiled accessor that fans out: where a property name meets an array, each element is
 * followed (`requestParameters.containerDefinitions.command` reaches the command of every
 * container). Returns the values found; an empty list when the field is absent.
 */
export function compileMultiAccessor(segments: readonly Segment[]): MultiAccessor {
  const single = compileAccessor(segments);
  const [first, second] = segments;
  const { read, consumed } = rootReader(first as string, second);
  const rest = segments.slice(consumed);
  const enrichment = first === 'enrichment';
  if (rest.length === 0) {
    return (e) => {
      const value = single(e);
      return value === undefined ? [] : [value];
    };
  }
  return (e) => {
    const out: unknown[] = [];
    collect(read(e), rest, 0, enrichment, out);
    return out;
  };
}

function collect(value: unknown, rest: readonly Segment[], index: number, enrichment: boolean, out: unknown[]): void {
  if (value === undefined) return;
  if (index === rest.length) {
    out.push(value);
    return;
  }
  const segment = rest[index]!;
  if (typeof segment === 'string' && Array.isArray(value)) {
    for (const element of value) collect(element, rest, index, enrichment, out);
    return;
  }
  collect(step(value, segment, enrichment), rest, index + 1, enrichment, out);
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

/** The text of a path for messages: `$.a.b[0]` style. */
export function pathText(segments: readonly Segment[]): string {
  return segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}
