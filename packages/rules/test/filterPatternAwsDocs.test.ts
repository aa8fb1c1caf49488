import { describe, expect, it } from 'vitest';
import type { CloudTrailRecord } from '@opentrail/cloudtrail';
import { compileFilterPattern, FilterPatternError } from '../src/index.js';
import { parseFilterPattern } from '../src/filterPattern/parser.js';
import { ev } from './events.js';

/**
 * Every JSON-term example of AWS's "Filter pattern syntax for metric filters, subscription filters,
 * filter log events, and Live Tail" page (CloudWatch Logs User Guide, FilterAndPatternSyntax.html,
 * sections "Supported regular expressions (regex) syntax" and "Using filter patterns to match terms in
 * JSON log events"; the same examples appear on its newer page matching-terms-json-log-events.html),
 * with the outcome the page documents. The log events are the page's own, carried as CloudTrail
 * records (their members that CloudTrail does not define travel as additional members).
 */
const LOG_EVENT = {
  eventType: 'UpdateTrail',
  sourceIPAddress: '111.111.111.111',
  arrayKey: ['value', 'another value'],
  objectList: [
    { name: 'a', id: 1 },
    { name: 'b', id: 2 },
  ],
  SomeObject: null,
  'cluster.name': 'c',
} as unknown as CloudTrailRecord;

const COMPOUND_EVENT = {
  user: { id: 1, email: 'John.Stiles@example.com' },
  users: [
    { id: 2, email: 'John.Doe@example.com' },
    { id: 3, email: 'Jane.Doe@example.com' },
  ],
  actions: ['GET', 'PUT', 'DELETE'],
  coordinates: [
    [0, 1, 2],
    [4, 5, 6],
    [7, 8, 9],
  ],
} as unknown as CloudTrailRecord;

const matches = (pattern: string, record: CloudTrailRecord) => compileFilterPattern(pattern).matches(ev(record));

function refusal(pattern: string): string {
  try {
    parseFilterPattern(pattern);
  } catch (err) {
    expect(err).toBeInstanceOf(FilterPatternError);
    return (err as FilterPatternError).reason;
  }
  throw new Error(`expected ${pattern} to be refused`);
}

describe("AWS's JSON filter pattern examples, against the page's log event", () => {
  const documented: [pattern: string, outcome: boolean, why: string][] = [
    ['{ $.eventType = "UpdateTrail" }', true, 'matches the string "UpdateTrail" in eventType'],
    ['{ $.sourceIPAddress != 123.123.* }', true, 'the address has no 123.123. prefix'],
    ['{ $.arrayKey[0] = "value" }', true, 'the first element of arrayKey'],
    ['{ $.eventType = %Trail% }', true, 'the regex finds "Trail"'],
    ['{ $.arrayKey[*] = %val.{2}% }', true, 'the wildcard selector tries every element; "value" matches'],
    ['{ $.* = %111\\.111\\.111\\.1[0-9]{1,2}% }', true, 'the wildcard selector tries every member; sourceIPAddress matches'],
    ["{ $.['cluster.name'] = \"c\" }", true, 'bracket notation selects a key with a period'],
    ['{ $.SomeObject IS NULL }', true, 'SomeObject is null'],
    ['{ $.SomeOtherObject NOT EXISTS }', true, 'SomeOtherObject is absent'],
  ];
  for (const [pattern, outcome, why] of documented) {
    it(`${pattern} → ${outcome ? 'match' : 'no match'} (${why})`, () => {
      expect(matches(pattern, LOG_EVENT)).toBe(outcome);
    });
  }

  it('near misses of the same examples do not match (the features are not vacuous)', () => {
    expect(matches('{ $.sourceIPAddress != 111.111.* }', LOG_EVENT)).toBe(false);
    expect(matches('{ $.arrayKey[1] = "value" }', LOG_EVENT)).toBe(false);
    expect(matches('{ $.arrayKey[*] = "another value" }', LOG_EVENT)).toBe(true);
    expect(matches('{ $.arrayKey[*] = %^x% }', LOG_EVENT)).toBe(false);
    expect(matches('{ $.* = %222\\.% }', LOG_EVENT)).toBe(false);
    expect(matches("{ $.['cluster.name'] = \"d\" }", LOG_EVENT)).toBe(false);
    // Without brackets the period is a step into a member "cluster", which the event does not have.
    expect(matches('{ $.cluster.name = "c" }', LOG_EVENT)).toBe(false);
    expect(matches('{ $.objectList[*].id = 2 }', LOG_EVENT)).toBe(true);
    expect(matches('{ $.objectList[*].id = 3 }', LOG_EVENT)).toBe(false);
    expect(matches('{ $.objectList[*].name NOT EXISTS }', LOG_EVENT)).toBe(false);
    expect(matches('{ $.objectList[*].colour NOT EXISTS }', LOG_EVENT)).toBe(true);
    // A selector that ends at an array still matches nothing, as the page says.
    expect(matches('{ $.arrayKey = "value" }', LOG_EVENT)).toBe(false);
    expect(matches('{ $.eventType IS NULL }', LOG_EVENT)).toBe(false);
    expect(matches('{ $.eventType NOT EXISTS }', LOG_EVENT)).toBe(false);
  });

  it('the wildcard selector quotas: one per property selector, three per pattern', () => {
    expect(refusal('{ $.objectList[*].* = 1 }')).toMatch(/at most 1 wildcard selector/);
    expect(refusal('{ $.*[*] = 1 }')).toMatch(/at most 1 wildcard selector/);
    const three = '{ $.a[*] = 1 || $.b[*] = 2 || $.* = 3 }';
    expect(() => parseFilterPattern(three)).not.toThrow();
    expect(refusal(`${three.slice(0, -1)}|| $.c[*] = 4 }`)).toMatch(/at most 3 wildcard selectors/);
  });

  it("the 'IS NOT' and 'EXISTS' variables are not supported, as the page says", () => {
    expect(refusal('{ $.SomeObject IS NOT NULL }')).toMatch(/IS NOT/);
    expect(refusal('{ $.SomeObject EXISTS }')).toMatch(/EXISTS/);
  });
});

describe("AWS's numeric examples", () => {
  const event = { bandwidth: 100, latency: 20, refreshRate: 60, responseTime: 5, errorCode: '400', number: [1000] } as unknown as CloudTrailRecord;
  const documented: [string, boolean][] = [
    ['{ $.bandwidth > 75 }', true],
    ['{ $.latency < 50 }', true],
    ['{ $.refreshRate >= 60 }', true],
    ['{ $.responseTime <= 5 }', true],
    ['{ $.errorCode = 400}', true],
    ['{ $.errorCode != 500 }', true],
    ['{ $.number[0] = 1e+3 }', true],
    ['{ $.number[0] != 1e-3 }', true],
  ];
  for (const [pattern, outcome] of documented) {
    it(`${pattern} → ${outcome ? 'match' : 'no match'}`, () => {
      expect(matches(pattern, event)).toBe(outcome);
      // Each comparison is falsifiable: the same pattern misses a record where the value differs.
      expect(matches(pattern, { bandwidth: 75, latency: 50, refreshRate: 59, responseTime: 6, errorCode: '500', number: [0.001] })).toBe(false);
    });
  }
});

describe('the asterisk as a wild card inside a term ("Use the asterisk as a wild card to match text / numbers")', () => {
  it('stands for any run of characters wherever it is placed: start, middle, end, several', () => {
    expect(matches('{ $.eventType = Update*l }', LOG_EVENT)).toBe(true);
    expect(matches('{ $.eventType = "U*d*T*l" }', LOG_EVENT)).toBe(true);
    expect(matches('{ $.eventType = Update*Trail }', LOG_EVENT)).toBe(true);
    expect(matches('{ $.eventType = Update*x }', LOG_EVENT)).toBe(false);
    expect(matches('{ $.sourceIPAddress = 111.*.111 }', LOG_EVENT)).toBe(true);
    expect(matches('{ $.sourceIPAddress = 111.*.112 }', LOG_EVENT)).toBe(false);
    expect(matches('{ $.eventType = * }', LOG_EVENT)).toBe(true);
  });

  it('matches numbers by their text (4* and 4*0 match 400)', () => {
    const event = { errorCode: '400', bytes: 4010 } as unknown as CloudTrailRecord;
    expect(matches('{ $.errorCode = 4* }', event)).toBe(true);
    expect(matches('{ $.errorCode = 4*0 }', event)).toBe(true);
    expect(matches('{ $.bytes = 4*0 }', event)).toBe(true);
    expect(matches('{ $.bytes = 5* }', event)).toBe(false);
  });

  it('is a literal star when escaped in a quoted string', () => {
    expect(matches('{ $.eventType = "Update\\*Trail" }', LOG_EVENT)).toBe(false);
    expect(matches('{ $.eventType = "Update\\*Trail" }', { ...LOG_EVENT, eventType: 'Update*Trail' })).toBe(true);
  });
});

describe("AWS's compound expression examples", () => {
  const documented: [string, boolean][] = [
    ['{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', true],
    ['{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch" && $.actions[2] = "nonmatch" }', true],
    ['{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch") && $.actions[2] = "nonmatch" }', false],
    ['{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', false],
  ];
  for (const [pattern, outcome] of documented) {
    it(`${pattern} → ${outcome ? 'match' : 'no match'}`, () => {
      expect(matches(pattern, COMPOUND_EVENT)).toBe(outcome);
    });
  }
  it('wildcard selectors in a compound expression', () => {
    expect(matches('{ $.users[*].email = "Jane.Doe@example.com" && $.actions[*] = DELETE }', COMPOUND_EVENT)).toBe(true);
    expect(matches('{ $.users[*].email = "Jim*" || $.actions[*] = PATCH }', COMPOUND_EVENT)).toBe(false);
    expect(matches('{ $.coordinates[*][2] = 9 }', COMPOUND_EVENT)).toBe(true);
  });
});

describe('the regular expression examples of "Supported regular expressions (regex) syntax"', () => {
  const m = (regex: string, value: string) => matches(`{ $.message = %${regex}% }`, { message: value });
  const documented: [regex: string, matching: string[], notMatching: string[]][] = [
    ['^[hc]at', ['hat', 'cat', 'cat food'], ['a hat', 'bat']],
    ['[hc]at$', ['hat', 'that cat'], ['cats']],
    ['colou?r', ['color', 'colour'], ['colr']],
    ['[abc]', ['a', 'b', 'c'], ['xyz']],
    ['[a-z]', ['q'], ['Q9']],
    ['[abcx-z]', ['a', 'b', 'c', 'x', 'y', 'z'], ['d', 'w']],
    ['a{3,5}', ['aaa', 'aaaa', 'aaaaa'], ['aa', 'a a a']],
    ['gra|ey', ['gray', 'grey'], ['gr']],
    // The example with a space in the expression.
    ['^starting|^initializing|^shutting down', ['starting up', 'initializing disks', 'shutting down'], ['skipping initializing disks', 'shutting  down']],
    ['abcc|ab[^c]$', ['abcc', 'aba'], ['aac']],
    ['\\[.\\]', ['[a]', '[b]', '[7]', '[@]', '[]]', '[ ]'], ['[]', 'a']],
    ['10\\.10\\.0\\.1', ['10.10.0.1'], ['10010,051']],
    ['10.10.0.1', ['10.10.0.1', '10010,051'], ['10.10.0']],
    ['ab*c', ['ac', 'abc', 'abbbc'], ['ab']],
    ['ab[0-9]*', ['ab', 'ab0', 'ab129'], ['a0']],
    ['ab+c', ['abc', 'abbc', 'abbbc'], ['ac']],
    ['.at', ['hat', 'cat', 'bat', '4at', '#at', ' at'], ['at']],
    ['\\d', ['7'], ['x']],
    ['\\D', ['x'], ['7']],
    ['\\s', ['a b', 'a\tb', 'a\nb'], ['ab']],
    ['\\S', ['a'], [' ']],
    ['\\w', ['a', '_', '9'], ['-']],
    ['\\W', ['-'], ['a_9']],
    ['\\x3A', [':'], [';']],
    ['\\x28', ['('], [')']],
  ];
  for (const [regex, yes, no] of documented) {
    it(`%${regex}% matches ${yes.map((v) => JSON.stringify(v)).join(', ')} and not ${no.map((v) => JSON.stringify(v)).join(', ')}`, () => {
      for (const v of yes) expect(m(regex, v), v).toBe(true);
      for (const v of no) expect(m(regex, v), v).toBe(false);
    });
  }

  it('refuses what the page refuses: unsupported symbols, ( ), multi-byte characters, more than two regexes', () => {
    expect(refusal('{ $.a = %something!% }')).toMatch(/'!' is not supported/);
    expect(refusal('{ $.a = %(ab)+% }')).toMatch(/'\(' and '\)' are not supported/);
    expect(refusal('{ $.a = %é% }')).toMatch(/multi-byte/);
    expect(refusal('{ $.a = %x% || $.b = %y% || $.c = %z% }')).toMatch(/at most 2 regular expressions/);
  });

  it('unstructured and space-delimited patterns are not JSON patterns and are refused with the reason', () => {
    for (const pattern of ['ERROR', '?ERROR ?ARGUMENTS', '[w1=ERROR, w2]', '%AUTHORIZED%']) {
      expect(refusal(pattern)).toMatch(/wrapped in \{ \}/);
    }
  });
});
