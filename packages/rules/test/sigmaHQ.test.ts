import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileSigmaRule, RuleLibrary, type CompiledRule } from '../src/index.js';
import { RuleInputError } from '../src/ruleEvent.js';
import { ev } from './events.js';
import { SIGMAHQ_CASES } from './sigmaHQCases.js';

/** SigmaHQ's maintained CloudTrail rules, vendored unchanged (fixtures/sigmahq-cloudtrail/LICENSE.md). */
const dir = fileURLToPath(new URL('./fixtures/sigmahq-cloudtrail/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));
const loaded = new RuleLibrary({ directories: [dir] }).load();
const byFile = new Map<string, CompiledRule>(loaded.ruleSet.rules.map((r) => [basename(r.location.file), r]));

describe("SigmaHQ's CloudTrail rules (rules/cloud/aws/cloudtrail @ 8eaafff)", () => {
  it('every one of the 57 rules loads without a problem', () => {
    expect(files).toHaveLength(57);
    expect(loaded.problems).toEqual([]);
    expect([...byFile.keys()].sort()).toEqual([...files].sort());
    expect(loaded.ruleSet.rules.every((r) => r.kind === 'SIGMA')).toBe(true);
  });

  it('the cases below cover a good share of the rules, and every rule that reads beyond eventSource/eventName', () => {
    const covered = Object.keys(SIGMAHQ_CASES);
    for (const file of covered) expect(files, file).toContain(file);
    expect(covered.length).toBeGreaterThanOrEqual(25);
    const deep = files.filter((f) => /requestParameters|responseElements|additionalEventData|userIdentity|\|re:|fieldref/.test(readFileSync(join(dir, f), 'utf8')));
    expect(deep.filter((f) => !covered.includes(f))).toEqual([]);
  });

  for (const [file, { match, noMatch }] of Object.entries(SIGMAHQ_CASES)) {
    it(`${file}: fires on ${match.length} record(s), not on ${noMatch.length} near miss(es)`, () => {
      const rule = byFile.get(file)!;
      for (const record of match) expect(rule.matches(ev(record)), JSON.stringify(record)).toBe(true);
      for (const record of noMatch) expect(rule.matches(ev(record)), JSON.stringify(record)).toBe(false);
    });
  }
});

describe('Sigma array semantics (cloudtrail-spec.md §9)', () => {
  const rule = (detection: Record<string, unknown>) => compileSigmaRule({ title: 't', logsource: { product: 'aws', service: 'cloudtrail' }, detection: { ...detection, condition: 'sel' } }, 'x');
  const rp = (requestParameters: Record<string, unknown>) => ev({ eventSource: 'ec2.amazonaws.com', eventName: 'X', requestParameters });

  it('an array at the end of the path matches when any element matches', () => {
    const r = rule({ sel: { 'requestParameters.attribute': 'userData' } });
    expect(r.matches(rp({ attribute: ['userData'] }))).toBe(true);
    expect(r.matches(rp({ attribute: ['a', 'userData'] }))).toBe(true);
    expect(r.matches(rp({ attribute: ['a', 'b'] }))).toBe(false);
    // Not by the array's JSON text any more: the text of ["userData"] is not userData.
    expect(rule({ sel: { 'requestParameters.attribute': '["userData"]' } }).matches(rp({ attribute: ['userData'] }))).toBe(false);
  });

  it('arrays in the middle of the path, arrays of arrays, and numbers and booleans among elements', () => {
    const r = rule({ sel: { 'requestParameters.items.tags.key': 'owner' } });
    expect(r.matches(rp({ items: [{ tags: [{ key: 'env' }] }, { tags: [{ key: 'owner' }] }] }))).toBe(true);
    expect(r.matches(rp({ items: [{ tags: [{ key: 'env' }] }, { tags: [] }] }))).toBe(false);
    expect(rule({ sel: { 'requestParameters.ports': 443 } }).matches(rp({ ports: [[80], [8080, 443]] }))).toBe(true);
    expect(rule({ sel: { 'requestParameters.flags': 'true' } }).matches(rp({ flags: [false, true] }))).toBe(true);
    expect(rule({ sel: { 'requestParameters.flags': 'true' } }).matches(rp({ flags: [false] }))).toBe(false);
  });

  it('an empty array matches nothing: not *, not contains *, not null; it does exist', () => {
    const empty = rp({ layers: [] });
    expect(rule({ sel: { 'requestParameters.layers': '*' } }).matches(empty)).toBe(false);
    expect(rule({ sel: { 'requestParameters.layers|contains': '*' } }).matches(empty)).toBe(false);
    expect(rule({ sel: { 'requestParameters.layers|re': '.*' } }).matches(empty)).toBe(false);
    expect(rule({ sel: { 'requestParameters.layers': null } }).matches(empty)).toBe(false);
    expect(rule({ sel: { 'requestParameters.layers|exists': true } }).matches(empty)).toBe(true);
    // Absent is not empty: null and exists: false ask for absence.
    expect(rule({ sel: { 'requestParameters.layers': null } }).matches(rp({}))).toBe(true);
    expect(rule({ sel: { 'requestParameters.layers|exists': false } }).matches(rp({}))).toBe(true);
  });

  it('whole objects compared with contains are matched against their JSON text, element-wise in arrays', () => {
    expect(rule({ sel: { 'requestParameters|contains': '"Status":"Suspended"' } }).matches(rp({ config: { Status: 'Suspended' } }))).toBe(true);
    const r = rule({ sel: { 'requestParameters.statements|contains': '"Effect":"Allow"' } });
    expect(r.matches(rp({ statements: [{ Effect: 'Deny' }, { Effect: 'Allow' }] }))).toBe(true);
    expect(r.matches(rp({ statements: [{ Effect: 'Deny' }] }))).toBe(false);
  });

  it('deeply nested arrays are walked without recursion (no stack overflow, still correct)', () => {
    let nested: unknown = ['needle'];
    for (let i = 0; i < 100_000; i++) nested = [nested];
    const event = ev({ eventSource: 'ec2.amazonaws.com', eventName: 'X' });
    // Deep input reaches the walk only through a parsed member; hand the walk such a value directly.
    Object.defineProperty(event, 'jsonMember', { value: () => ({ deep: nested }) });
    expect(rule({ sel: { 'requestParameters.deep': 'needle' } }).matches(event)).toBe(true);
    expect(rule({ sel: { 'requestParameters.deep': 'other' } }).matches(event)).toBe(false);
  });
});

describe('values nested too deeply to compare as text', () => {
  it('a whole-object contains on a very deep object fails with a RuleInputError naming the reason, not a RangeError', () => {
    let deep: unknown = { leaf: 'x' };
    for (let i = 0; i < 200_000; i++) deep = { d: deep };
    const event = ev({ eventSource: 'ec2.amazonaws.com', eventName: 'X' });
    Object.defineProperty(event, 'jsonMember', { value: () => deep });
    const r = compileSigmaRule({ title: 't', logsource: { product: 'aws', service: 'cloudtrail' }, detection: { sel: { 'requestParameters|contains': 'x' }, condition: 'sel' } }, 'x');
    expect(() => r.matches(event)).toThrow(RuleInputError);
    expect(() => r.matches(event)).toThrow(/nested too deeply/);
  });
});

describe('regular expressions RE2 cannot evaluate in linear time are refused when the rule loads', () => {
  const cases: [string, RegExp][] = [
    ['(a)\\1', /backreference/],
    ['a(?=b)', /lookahead/],
    ['a(?!b)', /lookahead/],
    ['(?<=a)b', /lookbehind/],
    ['(?<!a)b', /lookbehind/],
  ];
  for (const [regex, reason] of cases) {
    it(`|re: '${regex}' → ${reason.source}, naming the rule's file, line and field`, () => {
      const text = `title: Evil regex\nid: 5f0f2a39-0d1e-4b59-9a8e-0c1c2d3e4f50\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  sel:\n    userAgent|re: '${regex}'\n  condition: sel\n`;
      const folder = mkdtempSync(join(tmpdir(), 'opentrail-rules-'));
      try {
        writeFileSync(join(folder, 'evil.yml'), text);
        const { problems, ruleSet } = new RuleLibrary({ directories: [folder] }).load();
        expect(ruleSet.rules).toHaveLength(0);
        expect(problems).toHaveLength(1);
        expect(problems[0]).toMatchObject({ file: join(folder, 'evil.yml'), line: 8 });
        expect(problems[0]!.message).toMatch(reason);
        expect(problems[0]!.message).toContain('userAgent|re');
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    });
  }
});
