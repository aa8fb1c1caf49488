/**
 * Wildcard matching in time linear in the value's length (issue 19, class 7).
 *
 * Values come from event producers, so a pattern such as `*a*a*a*a*b` must not take time
 * exponential (or polynomial of high degree) in the value's length, as the backtracking regular
 * expression this replaces did. The pattern is cut at its `*`s into segments of fixed length
 * (literal text and `?`); the first segment is anchored at the start, the last at the end, and
 * each middle one is placed at its leftmost occurrence after the previous one. Leftmost placement
 * is always safe for fixed-length segments (a later placement leaves less room for the rest), so
 * nothing is ever retried: the cost is at most O(value length × pattern length).
 */

/** Any run of characters, including none (`*`). */
export const ANY_RUN: unique symbol = Symbol('*');
/** Exactly one UTF-16 code unit (Sigma's `?`). */
export const ANY_CHAR: unique symbol = Symbol('?');

export type GlobToken = string | typeof ANY_RUN | typeof ANY_CHAR;

export type GlobMatcher = (value: string) => boolean;

/** A stretch of the pattern between two `*`: literal texts and runs of `?` (their count). */
interface Segment {
  items: (string | number)[];
  length: number;
}

function segmentsOf(tokens: readonly GlobToken[]): Segment[] {
  const segments: Segment[] = [{ items: [], length: 0 }];
  for (const token of tokens) {
    const current = segments[segments.length - 1]!;
    if (token === ANY_RUN) {
      segments.push({ items: [], length: 0 });
    } else if (token === ANY_CHAR) {
      const last = current.items[current.items.length - 1];
      if (typeof last === 'number') current.items[current.items.length - 1] = last + 1;
      else current.items.push(1);
      current.length += 1;
    } else if (token !== '') {
      const last = current.items[current.items.length - 1];
      if (typeof last === 'string') current.items[current.items.length - 1] = last + token;
      else current.items.push(token);
      current.length += token.length;
    }
  }
  return segments;
}

/** Whether a segment matches at `at` (the caller has checked that it fits). */
function matchesAt(segment: Segment, value: string, at: number): boolean {
  let p = at;
  for (const item of segment.items) {
    if (typeof item === 'number') {
      p += item;
    } else {
      if (!value.startsWith(item, p)) return false;
      p += item.length;
    }
  }
  return true;
}

/** The leftmost start ≥ from where the segment matches and ends by `end`, or -1. */
function findFrom(segment: Segment, value: string, from: number, end: number): number {
  const last = end - segment.length;
  if (from > last) return -1;
  // Candidates come from the segment's first literal (indexOf), shifted back by the `?`s before it.
  let offset = 0;
  let anchor: string | undefined;
  for (const item of segment.items) {
    if (typeof item === 'string') {
      anchor = item;
      break;
    }
    offset += item;
  }
  if (anchor === undefined) return from;
  for (let hit = value.indexOf(anchor, from + offset); hit !== -1 && hit - offset <= last; hit = value.indexOf(anchor, hit + 1)) {
    if (matchesAt(segment, value, hit - offset)) return hit - offset;
  }
  return -1;
}

/**
 * Compiles a wildcard pattern. Matching is exact and case-sensitive over UTF-16 code units (callers
 * lower-case both sides for case-insensitive matching); the whole value must match.
 */
export function compileGlob(tokens: readonly GlobToken[]): GlobMatcher {
  const segments = segmentsOf(tokens);
  const literalOnly = (s: Segment) => s.items.every((i) => typeof i === 'string');
  const text = (s: Segment) => s.items.join('');
  if (segments.length === 1) {
    const only = segments[0]!;
    if (literalOnly(only)) {
      const expected = text(only);
      return (v) => v === expected;
    }
    return (v) => v.length === only.length && matchesAt(only, v, 0);
  }
  const first = segments[0]!;
  const final = segments[segments.length - 1]!;
  const middle = segments.slice(1, -1).filter((s) => s.length > 0);
  // The shapes rules use most, as direct string tests.
  if (middle.length === 0 && literalOnly(first) && literalOnly(final)) {
    const prefix = text(first);
    const suffix = text(final);
    if (suffix === '') return (v) => v.startsWith(prefix);
    if (prefix === '') return (v) => v.endsWith(suffix);
    return (v) => v.length >= prefix.length + suffix.length && v.startsWith(prefix) && v.endsWith(suffix);
  }
  if (middle.length === 1 && first.length === 0 && final.length === 0 && literalOnly(middle[0]!)) {
    const inner = text(middle[0]!);
    return (v) => v.includes(inner);
  }
  const fixed = first.length + final.length;
  return (v) => {
    if (v.length < fixed) return false;
    if (!matchesAt(first, v, 0)) return false;
    const end = v.length - final.length;
    if (!matchesAt(final, v, end)) return false;
    let pos = first.length;
    for (const segment of middle) {
      const at = findFrom(segment, v, pos, end);
      if (at < 0) return false;
      pos = at + segment.length;
    }
    return true;
  };
}
