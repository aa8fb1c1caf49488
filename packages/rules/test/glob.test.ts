import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ANY_CHAR, ANY_RUN, compileGlob, type GlobToken } from '../src/glob.js';
import { compileFilterPattern } from '../src/index.js';
import { sigmaStringMatcher } from '../src/sigma/fieldCondition.js';
import { ev } from './events.js';

/** The textbook dynamic-programming matcher: obviously right, O(n·m), used as the reference. */
function reference(tokens: readonly GlobToken[], value: string): boolean {
  const pattern = tokens.flatMap((t): (string | typeof ANY_RUN | typeof ANY_CHAR)[] => (typeof t === 'string' ? t.split('') : [t]));
  let row = new Array<boolean>(value.length + 1).fill(false);
  row[0] = true;
  for (const p of pattern) {
    const next = new Array<boolean>(value.length + 1).fill(false);
    if (p === ANY_RUN) {
      let seen = false;
      for (let j = 0; j <= value.length; j++) next[j] = seen ||= row[j]!;
    } else {
      for (let j = 1; j <= value.length; j++) next[j] = row[j - 1]! && (p === ANY_CHAR || value[j - 1] === p);
    }
    row = next;
  }
  return row[value.length]!;
}

// A small alphabet makes overlaps, repeats and near-misses common; surrogate halves and a
// multi-byte letter keep UTF-16 code units honest.
const letter = fc.constantFrom('a', 'b', 'c', '*', '?', 'é', '\ud83d', '\ude00');
const token: fc.Arbitrary<GlobToken> = fc.oneof(
  { weight: 3, arbitrary: fc.array(letter, { maxLength: 4 }).map((cs) => cs.join('')) },
  { weight: 2, arbitrary: fc.constant(ANY_RUN) },
  { weight: 1, arbitrary: fc.constant(ANY_CHAR) },
);
const value = fc.array(letter, { maxLength: 24 }).map((cs) => cs.join(''));

describe('the linear-time glob matcher agrees with a reference matcher', () => {
  it('on random patterns and values', () => {
    fc.assert(
      fc.property(fc.array(token, { maxLength: 8 }), value, (tokens, v) => {
        expect(compileGlob(tokens)(v)).toBe(reference(tokens, v));
      }),
      { numRuns: 5000 },
    );
  });

  it('on values built to contain the pattern (so that matches are common, not only misses)', () => {
    fc.assert(
      fc.property(fc.array(token, { maxLength: 8 }), fc.array(value, { minLength: 9, maxLength: 9 }), (tokens, fillers) => {
        // Instantiate the pattern: each wildcard becomes filler text, so the value always matches.
        const v = tokens.map((t, i) => (t === ANY_RUN ? fillers[i]! : t === ANY_CHAR ? (fillers[i]![0] ?? 'x') : t)).join('');
        expect(compileGlob(tokens)(v)).toBe(true);
        expect(reference(tokens, v)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('Sigma strings: escapes, case-insensitivity and wildcards agree with the reference', () => {
    const sigmaChar = fc.constantFrom('a', 'B', '*', '?', '\\');
    fc.assert(
      fc.property(fc.array(sigmaChar, { maxLength: 10 }).map((c) => c.join('')), fc.array(fc.constantFrom('a', 'b', 'A', '*', '?', '\\'), { maxLength: 16 }).map((c) => c.join('')), (pattern, text) => {
        // The reference reading of Sigma's escapes: \* \? \\ are literal, a lone \ is itself.
        const tokens: GlobToken[] = [];
        for (let i = 0; i < pattern.length; i++) {
          const c = pattern[i]!;
          if (c === '\\' && i + 1 < pattern.length && '*?\\'.includes(pattern[i + 1]!)) tokens.push(pattern[++i]!.toLowerCase());
          else if (c === '*') tokens.push(ANY_RUN);
          else if (c === '?') tokens.push(ANY_CHAR);
          else tokens.push(c.toLowerCase());
        }
        expect(sigmaStringMatcher(pattern, false)(text.toLowerCase())).toBe(reference(tokens, text.toLowerCase()));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('wildcards anywhere in a term', () => {
  it('match any run of characters, including none', () => {
    const m = compileGlob(['Access', ANY_RUN, 'Denied', ANY_RUN, '!']);
    expect(m('AccessDenied!')).toBe(true);
    expect(m('Access is Denied here!')).toBe(true);
    expect(m('AccessDenied')).toBe(false);
    expect(m('Denied Access!')).toBe(false);
  });

  it('the pathological shapes that made the old matcher backtrack still give the right answer', () => {
    const value = 'a'.repeat(5000);
    const tokens: GlobToken[] = [ANY_RUN, 'a', ANY_RUN, 'a', ANY_RUN, 'a', ANY_RUN, 'a', ANY_RUN, 'a', ANY_RUN, 'b'];
    expect(compileGlob(tokens)(value)).toBe(false);
    expect(compileGlob(tokens)(`${value}b`)).toBe(true);
    expect(compileFilterPattern('{ $.userAgent = "*a*a*a*a*a*a*b" }').matches(ev({ userAgent: value }))).toBe(false);
    expect(sigmaStringMatcher('*a*a*a*a*a*?*b', false)(value)).toBe(false);
  });
});
