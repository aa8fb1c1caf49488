import { mkdtempSync, rmSync, writeFileSync, unlinkSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDuration } from '../src/ruleFile.js';
import { parseRuleFile, problemText, RuleLibrary, type RuleLibraryUpdate } from '../src/index.js';
import { ev } from './events.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rules-'));
  dirs.push(d);
  return d;
}

const filterRule = (id: string, pattern = '{ $.eventName = ConsoleLogin }') => `id: ${id}\ntitle: Rule ${id}\nseverity: high\nfilterPattern: '${pattern}'\n`;

describe('rule files', () => {
  it('reads a filter-pattern rule with its alarm, group-by and suppression', () => {
    const { definitions, problems } = parseRuleFile(
      'a.yml',
      `${filterRule('failed-logins')}alarm:\n  threshold: 5\n  period: 60s\ngroupBy: [recipientAccountId, userIdentity.userName]\nsuppression: 10m\ntags: [cis.4.6]\n`,
    );
    expect(problems).toEqual([]);
    expect(definitions).toHaveLength(1);
    expect(definitions[0]).toMatchObject({
      type: 'detection',
      kind: 'FILTER_PATTERN',
      id: 'failed-logins',
      severity: 'HIGH',
      threshold: { count: 5, windowMs: 60_000 },
      groupBy: ['recipientAccountId', 'userIdentity.userName'],
      suppressionMs: 600_000,
      tags: ['cis.4.6'],
      location: { file: 'a.yml', line: 1, column: 1 },
    });
  });

  it('reads several documents: a Sigma rule and a correlation over it', () => {
    const text = [
      'title: failed sign-in',
      'id: 0a7a1c2e-1111-4e4e-9c9c-000000000001',
      'name: failed_login',
      'logsource: {product: aws, service: cloudtrail}',
      'detection:',
      '  sel:',
      '    eventName: ConsoleLogin',
      '    errorMessage: Failed authentication',
      '  condition: sel',
      'level: low',
      '---',
      'title: brute force',
      'id: bf',
      'correlation:',
      '  type: event_count',
      '  rules: [failed_login]',
      '  group-by: [userIdentity.userName]',
      '  timespan: 1m',
      '  condition: {gte: 5}',
      'level: high',
    ].join('\n');
    const { definitions, problems } = parseRuleFile('b.yml', text);
    expect(problems).toEqual([]);
    expect(definitions.map((d) => [d.type, d.id, d.severity, d.location.line])).toEqual([
      ['detection', '0a7a1c2e-1111-4e4e-9c9c-000000000001', 'LOW', 1],
      ['correlation', 'bf', 'HIGH', 12],
    ]);
  });

  it('names the file, line and column of a YAML syntax error', () => {
    const { problems } = parseRuleFile('bad.yml', 'id: x\ntitle: [unclosed\nfilterPattern: x\n');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: 'bad.yml', line: 3 });
    expect(problems[0]!.message).toMatch(/^YAML: /);
  });

  it('points at the column of a filter-pattern error inside the YAML line', () => {
    const { problems } = parseRuleFile('p.yml', "id: x\ntitle: t\nfilterPattern: '{ $.eventName = A && $.b < abc }'\n");
        // The value abc starts at column 28 of the pattern; the pattern starts at column 17 of line 3 (after the quote).
    expect(problems).toEqual([{ file: 'p.yml', line: 3, column: 17 + 28 - 1, message: "filterPattern: '<' compares numbers; abc is not a number (column 28 of the pattern)" }]);
    expect(problemText(problems[0]!)).toBe("p.yml:3:44: filterPattern: '<' compares numbers; abc is not a number (column 28 of the pattern)");
  });

  it('names the key of a schema problem, and unknown keys', () => {
    const { problems } = parseRuleFile('s.yml', 'id: x\ntitle: t\nfilterPattern: "{ $.a = 1 }"\nseverity: urgent\nalarm:\n  threshold: 0\nfilterpatern: oops\n');
    expect(problems.map((p) => `${p.line}: ${p.message}`)).toEqual([
      '4: severity: must be one of informational, low, medium, high, critical',
      '6: alarm.threshold: Too small: expected number to be >=1',
      '7: unknown key filterpatern',
    ]);
  });

  it('points at the Sigma item that is refused', () => {
    const text = 'title: t\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  sel:\n    eventName: A\n    userAgent|base64: x\n  condition: sel\n';
    const { problems } = parseRuleFile('sigma.yml', text);
    expect(problems).toEqual([{ file: 'sigma.yml', line: 8, column: 5, message: "the modifier 'base64' of 'userAgent' is not supported: it matches base64-encoded payloads, which CloudTrail fields do not carry" }]);
  });

  it('says what a document that is no rule lacks', () => {
    expect(parseRuleFile('n.yml', 'title: t\n').problems[0]!.message).toBe(
      'not a rule: expected filterPattern (a CloudWatch filter pattern), logsource and detection (a Sigma rule), or correlation (a Sigma correlation)',
    );
  });

  it('parses durations', () => {
    expect([parseDuration(300), parseDuration('500ms'), parseDuration('30s'), parseDuration('5m'), parseDuration('1h'), parseDuration('1d'), parseDuration('5 minutes')]).toEqual([
      300_000, 500, 30_000, 300_000, 3_600_000, 86_400_000, undefined,
    ]);
  });
});

describe('RuleLibrary', () => {
  it('loads directories recursively and reports duplicate ids and dangling correlations with their files', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'a.yml'), filterRule('one'));
    writeFileSync(join(dir, 'sub', 'b.yaml'), filterRule('one'));
    writeFileSync(join(dir, 'c.yml'), 'title: c\nid: corr\ncorrelation:\n  type: event_count\n  rules: [nothing]\n  timespan: 1m\n  condition: {gte: 2}\n');
    writeFileSync(join(dir, 'README.md'), 'not a rule');
    const library = new RuleLibrary({ directories: [dir] });
    const update = library.load();
    expect(update.files).toBe(3);
    expect(update.ruleSet.rules.map((r) => r.id)).toEqual(['one']);
    expect(update.problems.map(problemText).sort()).toEqual([
      `${join(dir, 'c.yml')}:1:1: correlation 'corr' refers to 'nothing', which no loaded rule has as id or name; the correlation is not active`,
      `${join(dir, 'sub', 'b.yaml')}:1:1: rule id 'one' is already defined at ${join(dir, 'a.yml')}:1:1; this one is ignored`,
    ]);
  });

  it('a correlation silences the rules it counts unless generate is true', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'base.yml'), 'title: b\nid: base\nname: failed\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel: {eventName: ConsoleLogin}\n  condition: sel\n');
    writeFileSync(join(dir, 'corr.yml'), 'title: c\nid: corr\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [sourceIPAddress]\n  timespan: 1m\n  condition: {gte: 3}\n');
    const library = new RuleLibrary({ directories: [dir] });
    expect(library.load().ruleSet.rules.map((r) => [r.id, r.kind, r.threshold?.count])).toEqual([['corr', 'THRESHOLD', 3]]);
    writeFileSync(join(dir, 'corr.yml'), 'title: c\nid: corr\ngenerate: true\ncorrelation:\n  type: event_count\n  rules: [failed]\n  timespan: 1m\n  condition: {gte: 3}\n');
    expect(library.load().ruleSet.rules.map((r) => r.id)).toEqual(['corr', 'base']);
  });

  it('a broken edit keeps the running rules of that file; a fixed edit replaces them; a deleted file drops them', () => {
    const dir = tempDir();
    const file = join(dir, 'r.yml');
    writeFileSync(file, filterRule('r1'));
    const library = new RuleLibrary({ directories: [dir] });
    expect(library.load().ruleSet.rules.map((r) => r.id)).toEqual(['r1']);

    writeFileSync(file, filterRule('r1', '{ $.eventName = ConsoleLogin &&'));
    const broken = library.load();
    expect(broken.problems.map((p) => `${p.line}: ${p.message}`)).toEqual(['4: filterPattern: expected a condition such as $.eventName = "ConsoleLogin", but the pattern ends (column 32 of the pattern)']);
    expect(broken.ruleSet.rules.map((r) => r.id)).toEqual(['r1']);
    expect(broken.ruleSet.rules[0]!.matches(ev({ eventName: 'ConsoleLogin' }))).toBe(true);

    writeFileSync(file, filterRule('r1', '{ $.eventName = GetObject }'));
    const fixed = library.load();
    expect(fixed.problems).toEqual([]);
    expect(fixed.ruleSet.rules[0]!.matches(ev({ eventName: 'GetObject' }))).toBe(true);

    unlinkSync(file);
    expect(library.load().ruleSet.rules).toEqual([]);
  });

  it('keeps per-rule counters across reloads', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'r.yml'), filterRule('r1'));
    const library = new RuleLibrary({ directories: [dir] });
    library.load().ruleSet.evaluate(ev({ eventName: 'ConsoleLogin' }), () => undefined);
    writeFileSync(join(dir, 'other.yml'), filterRule('r2'));
    expect(library.load().ruleSet.rules.find((r) => r.id === 'r1')!.stats).toEqual({ evaluations: 1, matches: 1 });
  });

  it('hot-reloads when a file changes', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'r.yml'), filterRule('r1'));
    const updates: RuleLibraryUpdate[] = [];
    const library = new RuleLibrary({ directories: [dir], debounceMs: 50, onReload: (u) => updates.push(u) });
    library.load();
    library.watch();
    try {
      writeFileSync(join(dir, 'r2.yml'), filterRule('r2'));
      const deadline = Date.now() + 10_000;
      while (!updates.some((u) => u.ruleSet.rules.length === 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(library.ruleSet.rules.map((r) => r.id).sort()).toEqual(['r1', 'r2']);
    } finally {
      library.close();
    }
  });
});
