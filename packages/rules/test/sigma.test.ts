import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compileSigmaRule } from '../src/index.js';
import { parseCondition } from '../src/sigma/condition.js';
import { parseSigmaCorrelation } from '../src/sigma/rule.js';
import { SigmaRuleError, sigmaStringMatcher } from '../src/sigma/fieldCondition.js';
import { ev } from './events.js';

const header = 'title: t\nlogsource:\n  product: aws\n  service: cloudtrail\n';
const rule = (detection: string) => compileSigmaRule(parse(`${header}detection:\n${detection}`) as Record<string, unknown>, 'test');
const refusal = (yamlText: string) => {
  try {
    compileSigmaRule(parse(yamlText) as Record<string, unknown>, 'test');
  } catch (err) {
    expect(err).toBeInstanceOf(SigmaRuleError);
    return { message: (err as SigmaRuleError).message, path: (err as SigmaRuleError).path };
  }
  throw new Error('expected a refusal');
};

describe('Sigma value matching (sigma-rules-specification.md)', () => {
  it('compares strings case-insensitively, with * and ? wildcards and backslash escapes', () => {
    expect(sigmaStringMatcher('consolelogin', false)('consolelogin')).toBe(true);
    const r = rule('  sel:\n    additionalEventData.MFAUsed: NO\n  condition: sel');
    expect(r.matches(ev({ additionalEventData: { MFAUsed: 'No' } }))).toBe(true);
    expect(r.matches(ev({ additionalEventData: { MFAUsed: 'Yes' } }))).toBe(false);
    const w = rule("  sel:\n    eventName: 'Get*Policy'\n    userAgent: 'aws-cli/?.*'\n  condition: sel");
    expect(w.matches(ev({ eventName: 'GetBucketPolicy', userAgent: 'aws-cli/2.15' }))).toBe(true);
    expect(w.matches(ev({ eventName: 'GetBucketPolicy', userAgent: 'aws-cli/12.15' }))).toBe(false);
    const escaped = rule("  sel:\n    requestParameters.pattern: 'a\\*b'\n  condition: sel");
    expect(escaped.matches(ev({ requestParameters: { pattern: 'a*b' } }))).toBe(true);
    expect(escaped.matches(ev({ requestParameters: { pattern: 'axb' } }))).toBe(false);
  });

  it('ORs list values, ANDs the fields of a selection', () => {
    const r = rule('  sel:\n    eventSource: cloudtrail.amazonaws.com\n    eventName:\n      - StopLogging\n      - DeleteTrail\n  condition: sel');
    expect(r.matches(ev({ eventSource: 'cloudtrail.amazonaws.com', eventName: 'DeleteTrail' }))).toBe(true);
    expect(r.matches(ev({ eventSource: 'cloudtrail.amazonaws.com', eventName: 'CreateTrail' }))).toBe(false);
    expect(r.matches(ev({ eventSource: 's3.amazonaws.com', eventName: 'DeleteTrail' }))).toBe(false);
    expect(r.hint).toEqual({ eventSource: new Set(['cloudtrail.amazonaws.com']), eventName: new Set(['stoplogging', 'deletetrail']) });
  });

  it('ORs a list of mappings', () => {
    const r = rule('  sel:\n    - eventName: A\n    - errorCode: B\n  condition: sel');
    expect(r.matches(ev({ eventName: 'A' }))).toBe(true);
    expect(r.matches(ev({ eventName: 'X', errorCode: 'B' }))).toBe(true);
    expect(r.matches(ev({ eventName: 'X' }))).toBe(false);
  });

  it('null matches an absent or null field', () => {
    const r = rule('  sel:\n    errorCode: null\n  condition: sel');
    expect(r.matches(ev({}))).toBe(true);
    expect(r.matches(ev({ errorCode: 'AccessDenied' }))).toBe(false);
    const inList = rule("  sel:\n    errorCode:\n      - null\n      - 'Success'\n  condition: sel");
    expect(inList.matches(ev({ errorCode: 'Success' }))).toBe(true);
    expect(inList.matches(ev({}))).toBe(true);
    expect(inList.matches(ev({ errorCode: 'Denied' }))).toBe(false);
    const explicitNull = rule('  sel:\n    requestParameters: null\n  condition: sel');
    expect(explicitNull.matches(ev({ requestParameters: null }))).toBe(true);
  });

  it('stringifies numbers and booleans before comparing', () => {
    const r = rule("  sel:\n    requestParameters.enable: 'false'\n    requestParameters.count: 3\n  condition: sel");
    expect(r.matches(ev({ requestParameters: { enable: false, count: 3 } }))).toBe(true);
    expect(r.matches(ev({ requestParameters: { enable: true, count: 3 } }))).toBe(false);
  });

  it('contains / startswith / endswith, also over a whole JSON object', () => {
    const c = rule('  sel:\n    requestParameters|contains: suspended\n  condition: sel');
    expect(c.matches(ev({ requestParameters: { VersioningConfiguration: { Status: 'Suspended' } } }))).toBe(true);
    expect(c.matches(ev({ requestParameters: { VersioningConfiguration: { Status: 'Enabled' } } }))).toBe(false);
    const s = rule('  sel:\n    eventName|startswith: UpdateFunctionConfiguration\n  condition: sel');
    expect(s.matches(ev({ eventName: 'UpdateFunctionConfiguration20150331v2' }))).toBe(true);
    expect(s.matches(ev({ eventName: 'GetFunctionConfiguration' }))).toBe(false);
    const e = rule("  sel:\n    requestParameters.policyArn|endswith: '/AdministratorAccess'\n  condition: sel");
    expect(e.matches(ev({ requestParameters: { policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' } }))).toBe(true);
    expect(e.matches(ev({ requestParameters: { policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' } }))).toBe(false);
  });

  it('all ANDs the list values', () => {
    const r = rule('  sel:\n    requestParameters|contains|all:\n      - \'"Effect":"Allow"\'\n      - \'"Principal":"\\*"\'\n  condition: sel');
    expect(r.matches(ev({ requestParameters: { bucketPolicy: { Statement: [{ Effect: 'Allow', Principal: '*' }] } } }))).toBe(true);
    expect(r.matches(ev({ requestParameters: { bucketPolicy: { Statement: [{ Effect: 'Allow', Principal: 'arn:aws:iam::1:root' }] } } }))).toBe(false);
  });

  it('re searches case-sensitively; the i flag and a leading (?i) make it insensitive', () => {
    const r = rule("  sel:\n    userIdentity.arn|re: ':assumed-role/[^/]+/i-[0-9a-f]{8,17}$'\n  condition: sel");
    expect(r.matches(ev({ userIdentity: { arn: 'arn:aws:sts::123456789012:assumed-role/web/i-0123456789abcdef0' } }))).toBe(true);
    expect(r.matches(ev({ userIdentity: { arn: 'arn:aws:sts::123456789012:assumed-role/web/I-0123456789ABCDEF0' } }))).toBe(false);
    const i = rule("  sel:\n    userAgent|re|i: '^pacu'\n  condition: sel");
    expect(i.matches(ev({ userAgent: 'Pacu/1.0' }))).toBe(true);
    const inline = rule("  sel:\n    userAgent|re: '(?i)^pacu'\n  condition: sel");
    expect(inline.matches(ev({ userAgent: 'PACU' }))).toBe(true);
  });

  it('fieldref compares with another field, alone or with endswith', () => {
    const eq = rule('  sel:\n    userIdentity.userName|fieldref: requestParameters.userName\n  condition: sel');
    expect(eq.matches(ev({ userIdentity: { userName: 'Alice' }, requestParameters: { userName: 'alice' } }))).toBe(true);
    expect(eq.matches(ev({ userIdentity: { userName: 'bob' }, requestParameters: { userName: 'alice' } }))).toBe(false);
    const ends = rule('  sel:\n    userIdentity.arn|fieldref|endswith: requestParameters.userName\n  condition: sel');
    expect(ends.matches(ev({ userIdentity: { arn: 'arn:aws:iam::123456789012:user/alice' }, requestParameters: { userName: 'alice' } }))).toBe(true);
    expect(ends.matches(ev({ userIdentity: { arn: 'arn:aws:iam::123456789012:user/mallory' }, requestParameters: { userName: 'alice' } }))).toBe(false);
  });

  it('exists, cidr, gt/gte/lt/lte and cased', () => {
    expect(rule('  sel:\n    errorCode|exists: true\n  condition: sel').matches(ev({ errorCode: 'x' }))).toBe(true);
    expect(rule('  sel:\n    errorCode|exists: false\n  condition: sel').matches(ev({ errorCode: 'x' }))).toBe(false);
    const cidr = rule("  sel:\n    sourceIPAddress|cidr: '10.0.0.0/8'\n  condition: sel");
    expect(cidr.matches(ev({ sourceIPAddress: '10.1.2.3' }))).toBe(true);
    expect(cidr.matches(ev({ sourceIPAddress: '11.1.2.3' }))).toBe(false);
    expect(cidr.matches(ev({ sourceIPAddress: 'AWS Internal' }))).toBe(false);
    expect(rule('  sel:\n    requestParameters.maxResults|gte: 1000\n  condition: sel').matches(ev({ requestParameters: { maxResults: 1000 } }))).toBe(true);
    expect(rule('  sel:\n    requestParameters.maxResults|lt: 1000\n  condition: sel').matches(ev({ requestParameters: { maxResults: 1000 } }))).toBe(false);
    expect(rule('  sel:\n    eventName|cased: ConsoleLogin\n  condition: sel').matches(ev({ eventName: 'consolelogin' }))).toBe(false);
  });

  it('fans out over arrays on the way to a field', () => {
    const r = rule("  sel:\n    requestParameters.containerDefinitions.command|contains: 'curl'\n  condition: sel");
    expect(r.matches(ev({ requestParameters: { containerDefinitions: [{ command: ['sh'] }, { command: ['sh', '-c', 'curl http://x | sh'] }] } }))).toBe(true);
    expect(r.matches(ev({ requestParameters: { containerDefinitions: [{ command: ['sh'] }] } }))).toBe(false);
  });

  it('searches keywords in the whole record', () => {
    const r = rule('  keywords:\n    - TruffleHog\n  condition: keywords');
    expect(r.matches(ev({ userAgent: 'trufflehog v3' }))).toBe(true);
    expect(r.matches(ev({ userAgent: 'aws-cli' }))).toBe(false);
  });
});

describe('Sigma logsource category (newer SigmaHQ rules write category: management)', () => {
  const withCategory = (category: string) =>
    compileSigmaRule(parse(`title: t\nlogsource:\n  product: aws\n  service: cloudtrail\n  category: ${category}\ndetection:\n  sel:\n    eventName: DeleteDetector\n  condition: sel\n`) as Record<string, unknown>, 'test');

  it('management limits the rule to management events, data to data events', () => {
    const management = withCategory('management');
    expect(management.matches(ev({ eventName: 'DeleteDetector', eventCategory: 'Management', managementEvent: true }))).toBe(true);
    // Records before eventVersion 1.08 carry no eventCategory: management unless marked otherwise.
    expect(management.matches(ev({ eventName: 'DeleteDetector' }))).toBe(true);
    expect(management.matches(ev({ eventName: 'DeleteDetector', eventCategory: 'Data', managementEvent: false }))).toBe(false);
    expect(management.matches(ev({ eventName: 'DeleteDetector', managementEvent: false }))).toBe(false);
    expect(management.matches(ev({ eventName: 'GetDetector', eventCategory: 'Management' }))).toBe(false);
    expect(withCategory('data').matches(ev({ eventName: 'DeleteDetector', eventCategory: 'Data', managementEvent: false }))).toBe(true);
    expect(withCategory('data').matches(ev({ eventName: 'DeleteDetector', eventCategory: 'Management' }))).toBe(false);
  });

  it('refuses a category named like a member of Object.prototype (issue 19, class 1)', () => {
    for (const name of ['constructor', 'toString', 'hasOwnProperty']) expect(() => withCategory(name)).toThrow(`logsource category '${name}' is not supported`);
  });

  it('refuses a modifier named like a member of Object.prototype as unknown, not as a refused one', () => {
    const rule = (modifier: string) => compileSigmaRule(parse(`${header}detection:\n  sel:\n    eventName|${modifier}: x\n  condition: sel\n`) as Record<string, unknown>, 'test');
    expect(() => rule('constructor')).toThrow(SigmaRuleError);
    expect(() => rule('constructor')).not.toThrow(/function/);
  });

  it('refuses a category CloudTrail does not have', () => {
    expect(() => withCategory('process_creation')).toThrow(
      "logsource category 'process_creation' is not supported with service: cloudtrail (supported: management, data, networkactivity, insight, CloudTrail's event categories)",
    );
  });
});

describe('Sigma conditions', () => {
  const detection = [
    '  selection_a:',
    '    eventName: A',
    '  selection_b:',
    '    errorCode: B',
    '  filter:',
    '    userAgent: C',
  ].join('\n');
  const cond = (condition: string) => rule(`${detection}\n  condition: ${condition}`);
  const a = ev({ eventName: 'A' });
  const ab = ev({ eventName: 'A', errorCode: 'B' });
  const abc = ev({ eventName: 'A', errorCode: 'B', userAgent: 'C' });
  const b = ev({ eventName: 'X', errorCode: 'B' });

  it('and / or / not with not > and > or precedence and parentheses', () => {
    expect(cond('selection_a and selection_b').matches(ab)).toBe(true);
    expect(cond('selection_a and selection_b').matches(a)).toBe(false);
    expect(cond('selection_a or selection_b').matches(b)).toBe(true);
    expect(cond('selection_a and not filter').matches(abc)).toBe(false);
    expect(cond('selection_a and not filter').matches(a)).toBe(true);
    expect(cond('selection_b or selection_a and filter').matches(b)).toBe(true);
    expect(cond('(selection_b or selection_a) and filter').matches(b)).toBe(false);
    expect(cond('not not selection_a').matches(a)).toBe(true);
  });

  it('1 of / any of / all of with patterns and them', () => {
    expect(cond('1 of selection_*').matches(b)).toBe(true);
    expect(cond('any of selection_*').matches(a)).toBe(true);
    expect(cond('all of selection_*').matches(a)).toBe(false);
    expect(cond('all of selection_*').matches(ab)).toBe(true);
    expect(cond('all of them').matches(ab)).toBe(false);
    expect(cond('all of them').matches(abc)).toBe(true);
    expect(cond('1 of selection_* and not 1 of filter*').matches(abc)).toBe(false);
    expect(cond('2 of them').matches(ab)).toBe(true);
    expect(cond('2 of them').matches(a)).toBe(false);
  });

  it('a list of conditions is OR-ed', () => {
    const r = rule(`${detection}\n  condition:\n    - selection_a and filter\n    - selection_b`);
    expect(r.matches(b)).toBe(true);
    expect(r.matches(a)).toBe(false);
  });

  it('them leaves out identifiers starting with _', () => {
    expect(parseCondition('all of them', ['a', '_b'])).toEqual({ type: 'of', quantity: 'all', names: ['a'], text: 'all of them' });
  });

  it('the index hint follows the condition', () => {
    expect(cond('selection_a and not filter').hint).toEqual({ eventName: new Set(['a']) });
    expect(cond('selection_a or selection_b').hint).toEqual({});
    expect(cond('not selection_a').hint).toEqual({});
  });
});

describe('what Sigma rules opentrail refuses, and why', () => {
  const base = `${header}detection:\n  sel:\n    eventName: A\n  condition: sel\n`;
  const cases: [string, string, (string | number)[]][] = [
    [base.replace('product: aws', 'product: windows'), "logsource product 'windows' is not supported: opentrail evaluates AWS CloudTrail events (product: aws)", ['logsource', 'product']],
    [base.replace('service: cloudtrail', 'service: guardduty'), "logsource service 'guardduty' is not supported: opentrail evaluates CloudTrail events (service: cloudtrail)", ['logsource', 'service']],
    [base.replace('eventName: A', 'eventName|base64offset|contains: A'), "the modifier 'base64offset' of 'eventName' is not supported: it matches base64-encoded payloads, which CloudTrail fields do not carry", ['detection', 'sel', 'eventName|base64offset|contains']],
    [base.replace('eventName: A', 'eventName|windash: A'), "the modifier 'windash' of 'eventName' is not supported: it expands Windows command-line dashes", ['detection', 'sel', 'eventName|windash']],
    [base.replace('eventName: A', 'eventName|fancy: A'), "unknown modifier 'fancy' on 'eventName' (supported: contains, startswith, endswith, all, re, i, m, s, cased, fieldref, exists, cidr, gt, gte, lt, lte)", ['detection', 'sel', 'eventName|fancy']],
    [base.replace('eventName: A', 'eventName|contains|startswith: A'), "'eventName' combines contains and startswith; use one of them", ['detection', 'sel', 'eventName|contains|startswith']],
    [base.replace('eventName: A', "eventName|re: '[a'"), "'eventName|re': invalid regular expression (RE2 syntax): missing closing ]: `[a`", ['detection', 'sel', 'eventName|re']],
    [base.replace('condition: sel', 'condition: sel | count() by userIdentity.arn > 5'), "condition: aggregation expressions ('| count() by …') are deprecated in Sigma and not supported: use a correlation rule (type event_count) instead", ['detection', 'condition']],
    [base.replace('condition: sel', 'condition: sel and other'), "condition: the condition refers to 'other', which the detection does not define", ['detection', 'condition']],
    [base.replace('condition: sel', 'condition: 1 of filter_*'), "condition: '1 of filter_*' matches no search identifier of the detection", ['detection', 'condition']],
    [base.replace('condition: sel', 'condition: sel and'), 'condition: the condition ends where a search identifier was expected', ['detection', 'condition']],
    [base.replace('condition: sel', 'condition: (sel'), "condition: expected ')' but found the end of the condition", ['detection', 'condition']],
    [base.replace('  condition: sel\n', '  timeframe: 5m\n  condition: sel\n'), "'timeframe' is deprecated in Sigma and not supported: use a correlation rule with a timespan", ['detection', 'timeframe']],
    [base.replace('eventName: A', 'eventName:\n      x: 1'), "the value of 'eventName' must be a string, number, boolean or null (or a list of them), not a mapping", ['detection', 'sel', 'eventName']],
    [base.replace('  condition: sel\n', ''), 'the detection needs a condition (a string, or a list of strings)', ['detection', 'condition']],
    [base.replace('title: t\n', ''), 'a Sigma rule needs a title', ['title']],
    [`${base}status: unsupported\n`, "the rule's status is 'unsupported': SigmaHQ marks rules that no backend can express this way", ['status']],
  ];
  for (const [text, message, path] of cases) {
    it(message, () => {
      expect(refusal(text)).toEqual({ message, path });
    });
  }
});

describe('Sigma correlation (event_count)', () => {
  it('reads rules, group-by, timespan and the threshold', () => {
    const c = parseSigmaCorrelation(parse('title: brute force\nid: c1\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n  group-by: [userIdentity.userName]\n  timespan: 60s\n  condition:\n    gte: 5\nlevel: high') as Record<string, unknown>, 'x');
    expect(c).toMatchObject({ id: 'c1', rules: ['failed_login'], groupBy: ['userIdentity.userName'], timespanMs: 60_000, count: 5, generate: false, level: 'high' });
  });

  it('refuses other correlation types and conditions', () => {
    expect(() => parseSigmaCorrelation(parse('title: t\ncorrelation:\n  type: temporal\n  rules: [a]\n  timespan: 5m') as Record<string, unknown>, 'x')).toThrow(
      "correlation type 'temporal' is not supported: opentrail evaluates event_count (at least N matching events within the timespan)",
    );
    expect(() => parseSigmaCorrelation(parse('title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition:\n    lt: 3') as Record<string, unknown>, 'x')).toThrow(
      'correlation.condition {"lt":3} is not supported',
    );
  });
});
