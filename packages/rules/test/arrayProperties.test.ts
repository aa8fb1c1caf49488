import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileFilterPattern, compileSigmaRule } from '../src/index.js';
import { ev } from './events.js';

/**
 * Array semantics on arbitrary values: a filter pattern's wildcard selector and a Sigma field both
 * match an array exactly when some element matches on its own (cloudtrail-spec.md §8.1, §9).
 */
const word = fc.array(fc.constantFrom('a', 'b', 'A', '.', ' ', 'é'), { maxLength: 6 }).map((c) => c.join(''));
const element = fc.oneof(word, fc.integer({ min: -3, max: 3 }), fc.boolean(), fc.constant(null));
const globChar = fc.constantFrom('a', 'b', '*', '.');
const glob = fc.array(globChar, { minLength: 1, maxLength: 5 }).map((c) => c.join(''));

const rp = (requestParameters: Record<string, unknown>) => ev({ eventSource: 'ec2.amazonaws.com', eventName: 'X', requestParameters });

describe('arrays match when an element does', () => {
  it('filter pattern $.requestParameters.list[*] = glob ⇔ some element = glob', () => {
    fc.assert(
      fc.property(fc.array(element, { maxLength: 6 }), glob, (list, pattern) => {
        const quoted = `"${pattern}"`;
        const whole = compileFilterPattern(`{ $.requestParameters.list[*] = ${quoted} }`);
        const one = compileFilterPattern(`{ $.requestParameters.x = ${quoted} }`);
        const expected = list.some((x) => one.matches(rp({ x })));
        expect(whole.matches(rp({ list }))).toBe(expected);
        // Without the wildcard, a selector ending at an array matches nothing.
        expect(compileFilterPattern(`{ $.requestParameters.list = ${quoted} }`).matches(rp({ list }))).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('Sigma requestParameters.list|modifier: value ⇔ some element matches; nested arrays too; [] matches nothing', () => {
    const modifier = fc.constantFrom('', '|contains', '|startswith', '|endswith');
    fc.assert(
      fc.property(fc.array(fc.oneof(element, fc.array(element, { maxLength: 3 })), { maxLength: 5 }), modifier, glob, (list, mod, value) => {
        const rule = (field: string) => compileSigmaRule({ title: 't', logsource: { product: 'aws', service: 'cloudtrail' }, detection: { sel: { [`requestParameters.${field}${mod}`]: value }, condition: 'sel' } }, 'x');
        const flat = list.flat();
        const expected = flat.some((x) => x !== null && rule('x').matches(rp({ x })));
        expect(rule('list').matches(rp({ list }))).toBe(expected);
        if (list.length === 0) expect(expected).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });
});
