/**
 * JSON text of a value taken from a record, for the columns that hold JSON text (map values,
 * eventjson). Records reach the table as parsed JSON that upstream checks have bounded
 * (RECORD_LIMITS in @opentrail/cloudtrail), but this layer does not rely on them: the writer
 * keeps its own stack (no recursion, so no RangeError however deep the input), refuses nesting
 * deeper than LAKE_MAX_JSON_DEPTH, and visits each object once (a shared or cyclic object, which
 * JSON.parse never produces, is refused rather than written twice), so its work is linear in the
 * size of what it writes.
 *
 * For JSON data (what JSON.parse returns) the text is exactly JSON.stringify's: members in their
 * own order, `undefined` and functions left out of objects and written as null in arrays,
 * non-finite numbers as null. Beyond JSON data it is stricter: only own enumerable data members are
 * read (no getter runs, an array hole is null rather than Array.prototype[i]), and no toJSON method
 * is called (a Date is `{}`).
 */

/** Depth allowed, counting the outermost object or array as 1: RECORD_LIMITS.maxDepth's value. */
export const LAKE_MAX_JSON_DEPTH = 64;

type Frame =
  | { readonly kind: 'value'; readonly value: unknown; readonly depth: number }
  /** Literal text to append (separators, closing brackets, member names). */
  | { readonly kind: 'text'; readonly text: string };

/**
 * The JSON text of `value`, or undefined when it cannot be written within the limits (too deep, a
 * shared or cyclic object, a bigint, or undefined/function at the top).
 */
export function jsonText(value: unknown, maxDepth: number = LAKE_MAX_JSON_DEPTH): string | undefined {
  const out: string[] = [];
  const seen = new Set<object>();
  const stack: Frame[] = [{ kind: 'value', value, depth: 0 }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.kind === 'text') {
      out.push(frame.text);
      continue;
    }
    const v = frame.value;
    switch (typeof v) {
      case 'string':
        out.push(JSON.stringify(v));
        continue;
      case 'number':
        out.push(Number.isFinite(v) ? JSON.stringify(v) : 'null');
        continue;
      case 'boolean':
        out.push(v ? 'true' : 'false');
        continue;
      case 'object':
        break;
      default:
        // undefined, function, symbol at the top, or bigint anywhere: JSON has no text for them.
        // (Members and elements of these kinds are handled where the container is opened.)
        return undefined;
    }
    if (v === null) {
      out.push('null');
      continue;
    }
    if (frame.depth >= maxDepth || seen.has(v)) return undefined;
    seen.add(v);
    const depth = frame.depth + 1;
    // Children are pushed in reverse so that they pop in order.
    if (Array.isArray(v)) {
      stack.push({ kind: 'text', text: ']' });
      for (let i = v.length - 1; i >= 0; i--) {
        // A hole reads as undefined here (JSON.stringify writes null), never as Array.prototype[i].
        const element = ownValue(v, String(i));
        const skipped = element === undefined || typeof element === 'function' || typeof element === 'symbol';
        stack.push(skipped ? { kind: 'text', text: 'null' } : { kind: 'value', value: element, depth });
        if (i > 0) stack.push({ kind: 'text', text: ',' });
      }
      out.push('[');
      continue;
    }
    // Own enumerable string keys, in JSON.stringify's order. `__proto__` parsed from JSON is an own
    // member like any other and is written as such.
    const keys = Object.keys(v);
    const members: Frame[] = [];
    for (const key of keys) {
      const member = ownValue(v, key);
      if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
      members.push({ kind: 'text', text: `${members.length > 0 ? ',' : ''}${JSON.stringify(key)}:` }, { kind: 'value', value: member, depth });
    }
    stack.push({ kind: 'text', text: '}' });
    for (let i = members.length - 1; i >= 0; i--) stack.push(members[i]!);
    out.push('{');
  }
  return out.join('');
}

/**
 * An own data member's value, or undefined. Reads through the property descriptor so that a name
 * taken from data never reaches the prototype chain (`constructor`, a polluted prototype) and a
 * getter is never run.
 */
export function ownValue(object: object, name: string): unknown {
  const descriptor = Object.getOwnPropertyDescriptor(object, name);
  return descriptor !== undefined && 'value' in descriptor ? (descriptor.value as unknown) : undefined;
}
