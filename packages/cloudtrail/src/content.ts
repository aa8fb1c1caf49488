import { MAX_EVENT_BYTES, RECORD_LIMITS } from './record.js';

/** One thing wrong with a record: the member (a dotted path) and what is wrong with it. */
export interface RecordProblem {
  member: string;
  problem: string;
}

/**
 * What a record may hold so that it comes out of the log file exactly as it went in (README,
 * "Publishing events", and the producer's API docs): JSON data, nothing JSON would change.
 *
 * - Objects are plain (prototype Object.prototype or null) and their members data properties;
 *   a Date, Map, Set, Buffer, class instance or getter is refused, not converted (JSON.stringify
 *   would call toJSON, drop the entries, or run the getter).
 * - A member whose value is `undefined` is absent, as in JSON.stringify. Anywhere else (an array
 *   element, a hole) undefined is refused: JSON would write null.
 * - Numbers are finite and not -0 (JSON has no NaN or Infinity, and writes -0 as 0); bigint,
 *   symbol and function values are refused.
 * - Strings and member names are well-formed UTF-16: a lone surrogate has no UTF-8 form, so Avro
 *   and the log file would hold U+FFFD instead.
 * - No cycles; depth, member count and string length within RECORD_LIMITS.
 *
 * The walk keeps its own stack (no recursion, so no RangeError however deep the input) and stops
 * at the first problem in a subtree; it also stops once the strings alone exceed MAX_EVENT_BYTES,
 * so nothing huge is ever serialised just to be measured.
 */
export function checkRecordContent(record: object, limits = RECORD_LIMITS): RecordProblem[] {
  const problems: RecordProblem[] = [];
  const refuse = (frame: Frame, problem: string) => problems.push({ member: pathOf(frame), problem });
  const open = new Set<object>();
  const stack: (Frame | Exit)[] = [{ value: record, key: undefined, parent: undefined, depth: 0 }];
  let members = 0;
  // A lower bound of the record's JSON size: string and name lengths (UTF-16 units ≤ UTF-8 bytes).
  let bytes = 0;

  while (stack.length > 0 && problems.length < MAX_PROBLEMS) {
    const frame = stack.pop()!;
    if ('exit' in frame) {
      open.delete(frame.exit);
      continue;
    }
    const value = frame.value;
    switch (typeof value) {
      case 'string': {
        bytes += value.length + 2;
        if (value.length > limits.maxStringLength) refuse(frame, `is a string of ${value.length} characters; the limit is ${limits.maxStringLength}`);
        else if (!isWellFormed(value)) refuse(frame, `holds a lone UTF-16 surrogate at index ${loneSurrogateAt(value)}: it has no UTF-8 form (it would become U+FFFD)`);
        break;
      }
      case 'number':
        bytes += 1;
        if (Number.isNaN(value) || !Number.isFinite(value)) refuse(frame, `is ${value}: JSON has no such number (it would become null)`);
        else if (Object.is(value, -0)) refuse(frame, 'is -0: JSON writes it as 0');
        break;
      case 'boolean':
        bytes += 4;
        break;
      case 'undefined':
        refuse(frame, 'is undefined in an array: JSON would write null');
        break;
      case 'bigint':
        refuse(frame, 'is a bigint: JSON has no form for it (send a string or a number)');
        break;
      case 'symbol':
      case 'function':
        refuse(frame, `is a ${typeof value}: not JSON data`);
        break;
      case 'object': {
        bytes += 2;
        if (value === null) break;
        const children: Frame[] = [];
        // A Proxy's traps may throw anywhere here: a refusal of the member, not a crash.
        try {
          if (frame.depth > limits.maxDepth) {
            refuse(frame, `nests deeper than ${limits.maxDepth} levels (RECORD_LIMITS.maxDepth)`);
            break;
          }
          if (open.has(value)) {
            refuse(frame, 'refers back to an object that contains it (a cycle)');
            break;
          }
          if (Array.isArray(value)) {
            if (Object.getPrototypeOf(value) !== Array.prototype) {
              refuse(frame, `is an instance of ${className(value)}: only plain arrays are JSON data`);
              break;
            }
            members += value.length;
            if (members > limits.maxMembers) {
              refuse(frame, `takes the record past ${limits.maxMembers} members and elements (RECORD_LIMITS.maxMembers)`);
              return problems;
            }
            for (let i = 0; i < value.length; i++) {
              if (!Object.prototype.hasOwnProperty.call(value, i)) {
                refuse({ value: undefined, key: i, parent: frame, depth: frame.depth + 1 }, 'is a hole in the array: JSON would write null');
                break;
              }
              children.push({ value: value[i] as unknown, key: i, parent: frame, depth: frame.depth + 1 });
            }
          } else {
            const proto = Object.getPrototypeOf(value) as unknown;
            if (proto !== Object.prototype && proto !== null) {
              refuse(frame, `is ${describeInstance(value)}: only plain objects are JSON data (JSON.stringify would convert or empty it)`);
              break;
            }
            const keys = Object.keys(value);
            members += keys.length;
            if (members > limits.maxMembers) {
              refuse(frame, `takes the record past ${limits.maxMembers} members and elements (RECORD_LIMITS.maxMembers)`);
              return problems;
            }
            for (const key of keys) {
              const child: Frame = { value: undefined, key, parent: frame, depth: frame.depth + 1 };
              bytes += key.length + 3;
              if (key.length > limits.maxStringLength) {
                refuse(child, `has a name of ${key.length} characters; the limit is ${limits.maxStringLength}`);
                continue;
              }
              if (!isWellFormed(key)) {
                refuse(child, `has a name with a lone UTF-16 surrogate at index ${loneSurrogateAt(key)}: it has no UTF-8 form`);
                continue;
              }
              const descriptor = Object.getOwnPropertyDescriptor(value, key)!;
              if (descriptor.get !== undefined || descriptor.set !== undefined) {
                refuse(child, 'is an accessor (getter/setter), not a data member');
                continue;
              }
              // An undefined member is absent, as JSON.stringify has it.
              if (descriptor.value === undefined) continue;
              child.value = descriptor.value;
              children.push(child);
            }
          }
        } catch (err) {
          refuse(frame, `could not be read: ${err instanceof Error ? err.message : String(err)}`);
          break;
        }
        if (bytes > MAX_EVENT_BYTES) {
          problems.push({ member: '(record)', problem: `is over ${MAX_EVENT_BYTES} bytes (256 KB, CloudTrail's limit) already in its strings and names` });
          return problems;
        }
        open.add(value);
        stack.push({ exit: value });
        // Reversed, so that members are checked (and problems reported) in their order.
        for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
        break;
      }
    }
  }
  if (bytes > MAX_EVENT_BYTES && problems.length === 0) {
    problems.push({ member: '(record)', problem: `is over ${MAX_EVENT_BYTES} bytes (256 KB, CloudTrail's limit) already in its strings and names` });
  }
  return problems;
}

/** Problems reported at most: a record with thousands of bad values gets a readable error. */
const MAX_PROBLEMS = 20;

interface Frame {
  value: unknown;
  key: string | number | undefined;
  parent: Frame | undefined;
  depth: number;
}

interface Exit {
  exit: object;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `requestParameters.items[3]["odd.name"]`: dotted where a name allows it, bracketed otherwise. */
function pathOf(frame: Frame): string {
  const parts: string[] = [];
  for (let f: Frame | undefined = frame; f?.key !== undefined; f = f.parent) {
    const key = f.key;
    if (typeof key === 'number') parts.push(`[${key}]`);
    else if (IDENTIFIER.test(key)) parts.push(f.parent?.key === undefined ? key : `.${key}`);
    else parts.push(`[${JSON.stringify(key)}]`);
  }
  return parts.length === 0 ? '(record)' : parts.reverse().join('');
}

/** String.prototype.isWellFormed (Node 20; not yet in TypeScript's ES2023 lib). */
const isWellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

function loneSurrogateAt(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return i;
    } else if (c >= 0xdc00 && c <= 0xdfff) return i;
  }
  return -1;
}

function className(value: object): string {
  try {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    return typeof name === 'string' && name !== '' ? name : 'an unnamed class';
  } catch {
    return 'an unknown class';
  }
}

function describeInstance(value: object): string {
  const name = className(value);
  return name === 'Date' ? 'a Date (send date.toISOString(), or formatEventTime for eventTime)' : `an instance of ${name}`;
}

/** A value as an error message shows it: its JSON type, and a short excerpt. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing (absent)';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return value.length > 60 ? `the string ${JSON.stringify(value.slice(0, 57))}…` : `the string ${JSON.stringify(value)}`;
    case 'number':
    case 'boolean':
      return `the ${typeof value} ${String(value)}`;
    case 'object':
      return 'an object';
    default:
      return `a ${typeof value}`;
  }
}
