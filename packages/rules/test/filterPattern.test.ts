import { describe, expect, it } from 'vitest';
import { compileFilterPattern, FilterPatternError } from '../src/index.js';
import { parseFilterPattern } from '../src/filterPattern/parser.js';
import { ev } from './events.js';

const match = (pattern: string, record: Parameters<typeof ev>[0]) => compileFilterPattern(pattern).matches(ev(record));

function failure(pattern: string): { reason: string; column: number } {
  try {
    parseFilterPattern(pattern);
  } catch (err) {
    expect(err).toBeInstanceOf(FilterPatternError);
    return { reason: (err as FilterPatternError).reason, column: (err as FilterPatternError).column };
  }
  throw new Error(`expected ${pattern} to be refused`);
}

describe('filter pattern syntax (cloudtrail-spec.md §8.1)', () => {
  it('parses selectors with nesting and array indexes', () => {
    const tree = parseFilterPattern('{ $.objectList[1].id = 7 && $.coordinates[0][1] = 2 && $.user-name_x.a = b }');
    expect(tree).toMatchObject({
      type: 'and',
      left: { type: 'and', left: { selector: { segments: ['objectList', 1, 'id'] } }, right: { selector: { segments: ['coordinates', 0, 1] } } },
      right: { selector: { text: '$.user-name_x.a', segments: ['user-name_x', 'a'] } },
    });
  });

  it('gives && precedence over ||, and parentheses precedence over both', () => {
    expect(parseFilterPattern('{ $.a = 1 || $.b = 2 && $.c = 3 }')).toMatchObject({ type: 'or', left: { selector: { text: '$.a' } }, right: { type: 'and' } });
    expect(parseFilterPattern('{ ($.a = 1 || $.b = 2) && $.c = 3 }')).toMatchObject({ type: 'and', left: { type: 'or' }, right: { selector: { text: '$.c' } } });
    // A || B && C: true when A alone holds, false when only B holds.
    expect(match('{ $.eventName = A || $.eventName = B && $.errorCode = C }', { eventName: 'A' })).toBe(true);
    expect(match('{ $.eventName = A || $.eventName = B && $.errorCode = C }', { eventName: 'B' })).toBe(false);
    expect(match('{ ($.eventName = A || $.eventName = B) && $.errorCode = C }', { eventName: 'A' })).toBe(false);
  });

  it('reads quoted strings with escapes, bare words, numbers in every notation and regexes', () => {
    expect(parseFilterPattern('{ $.a = "x \\" y" }')).toMatchObject({ value: { kind: 'string', text: 'x " y', quoted: true } });
    expect(parseFilterPattern('{ $.a = kms.amazonaws.com }')).toMatchObject({ value: { kind: 'string', text: 'kms.amazonaws.com', quoted: false } });
    for (const [text, value] of [['1e-3', 0.001], ['1e+3', 1000], ['-2.5', -2.5], ['+7', 7], ['.5', 0.5]] as const) {
      expect(parseFilterPattern(`{ $.n = ${text} }`)).toMatchObject({ value: { kind: 'number', value } });
    }
    expect(parseFilterPattern('{ $.a = %AUTHORI[ZS]ED% }')).toMatchObject({ value: { kind: 'regex', source: 'AUTHORI[ZS]ED' } });
  });

  it('accepts patterns without spaces, as the Security Hub spelling writes them', () => {
    expect(match('{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}', { errorCode: 'AccessDeniedException' })).toBe(true);
  });
});

describe('filter pattern semantics', () => {
  it('= and != compare strings exactly and case-sensitively', () => {
    expect(match('{ $.eventName = ConsoleLogin }', { eventName: 'ConsoleLogin' })).toBe(true);
    expect(match('{ $.eventName = ConsoleLogin }', { eventName: 'consolelogin' })).toBe(false);
    expect(match('{ $.eventName != ConsoleLogin }', { eventName: 'GetObject' })).toBe(true);
    expect(match('{ $.eventName != "ConsoleLogin" }', { eventName: 'ConsoleLogin' })).toBe(false);
  });

  it('* is a wildcard anywhere in a value; \\* is a literal star', () => {
    expect(match('{ $.errorCode = "*UnauthorizedOperation" }', { errorCode: 'Client.UnauthorizedOperation' })).toBe(true);
    expect(match('{ $.errorCode = "AccessDenied*" }', { errorCode: 'AccessDeniedException' })).toBe(true);
    expect(match('{ $.errorCode = "AccessDenied*" }', { errorCode: 'NoAccessDenied' })).toBe(false);
    expect(match('{ $.sourceIPAddress != 123.123.* }', { sourceIPAddress: '10.0.0.1' })).toBe(true);
    expect(match('{ $.sourceIPAddress != 123.123.* }', { sourceIPAddress: '123.123.9.9' })).toBe(false);
    expect(match('{ $.userAgent = "*Boto3*Linux*" }', { userAgent: 'aws-cli Boto3/1.2 Python Linux/5' })).toBe(true);
    expect(match('{ $.userAgent = "a\\*b" }', { userAgent: 'a*b' })).toBe(true);
    expect(match('{ $.userAgent = "a\\*b" }', { userAgent: 'axxb' })).toBe(false);
  });

  it('a test on an absent property is false, != included (NOT EXISTS asks for absence)', () => {
    expect(match('{ $.errorCode != "AccessDenied" }', {})).toBe(false);
    expect(match('{ $.errorCode NOT EXISTS }', {})).toBe(true);
    expect(match('{ $.errorCode NOT EXISTS }', { errorCode: 'X' })).toBe(false);
    expect(match('{ $.userIdentity.invokedBy NOT EXISTS }', { userIdentity: { type: 'Root' } })).toBe(true);
    expect(match('{ $.userIdentity.invokedBy NOT EXISTS }', { userIdentity: { type: 'Root', invokedBy: 'signin.amazonaws.com' } })).toBe(false);
  });

  it('an object or array never matches a comparison', () => {
    expect(match('{ $.requestParameters = "*" }', { requestParameters: { a: 1 } })).toBe(false);
    expect(match('{ $.requestParameters != "x" }', { requestParameters: { a: 1 } })).toBe(false);
    expect(match('{ $.resources != "x" }', { resources: [{ ARN: 'arn:x' }] })).toBe(false);
  });

  it('IS NULL matches an explicit null only; IS TRUE / IS FALSE match booleans only', () => {
    expect(match('{ $.requestParameters IS NULL }', { requestParameters: null })).toBe(true);
    expect(match('{ $.requestParameters IS NULL }', {})).toBe(false);
    expect(match('{ $.requestParameters.x IS NULL }', { requestParameters: { x: null } })).toBe(true);
    expect(match('{ $.readOnly IS TRUE }', { readOnly: true })).toBe(true);
    expect(match('{ $.readOnly IS TRUE }', { readOnly: false })).toBe(false);
    expect(match('{ $.readOnly IS FALSE }', { readOnly: false })).toBe(true);
    expect(match('{ $.additionalEventData.flag IS TRUE }', { additionalEventData: { flag: 'true' } })).toBe(false);
  });

  it('compares numbers with = != < > <= >=, in any notation, and never a non-number', () => {
    const r = { requestParameters: { maxItems: 1000, ratio: 0.001, name: 'abc' } };
    expect(match('{ $.requestParameters.maxItems = 1e+3 }', r)).toBe(true);
    expect(match('{ $.requestParameters.maxItems != 1000 }', r)).toBe(false);
    expect(match('{ $.requestParameters.maxItems > 999 }', r)).toBe(true);
    expect(match('{ $.requestParameters.maxItems < 1000 }', r)).toBe(false);
    expect(match('{ $.requestParameters.maxItems <= 1000 }', r)).toBe(true);
    expect(match('{ $.requestParameters.maxItems >= 1001 }', r)).toBe(false);
    expect(match('{ $.requestParameters.ratio = 1e-3 }', r)).toBe(true);
    expect(match('{ $.requestParameters.name > 1 }', r)).toBe(false);
    expect(match('{ $.requestParameters.missing < 1 }', r)).toBe(false);
  });

  it('numbers take * wildcards in = and !=, matched against the digits as written', () => {
    const r = { requestParameters: { port: 8443, delta: -1.55 } };
    expect(parseFilterPattern('{ $.requestParameters.port = 84* }')).toMatchObject({ value: { kind: 'string', parts: ['84', { wildcard: true }] } });
    expect(match('{ $.requestParameters.port = 84* }', r)).toBe(true);
    expect(match('{ $.requestParameters.port = 80* }', r)).toBe(false);
    expect(match('{ $.requestParameters.port != 80* }', r)).toBe(true);
    expect(match('{ $.requestParameters.delta = -1.5* }', r)).toBe(true);
    expect(match('{ $.requestParameters.delta = *.55 }', r)).toBe(true);
  });

  it('reads array elements by index and nested members of JSON-text fields', () => {
    const r = { requestParameters: { ipPermissions: { items: [{ ipProtocol: 'tcp', ranges: [['0.0.0.0/0', 'x']] }] } } };
    expect(match('{ $.requestParameters.ipPermissions.items[0].ipProtocol = tcp }', r)).toBe(true);
    expect(match('{ $.requestParameters.ipPermissions.items[0].ranges[0][0] = "0.0.0.0/0" }', r)).toBe(true);
    expect(match('{ $.requestParameters.ipPermissions.items[1].ipProtocol = tcp }', r)).toBe(false);
    expect(match('{ $.resources[0].ARN = "arn:aws:s3:::b*" }', { resources: [{ ARN: 'arn:aws:s3:::bucket' }] })).toBe(true);
  });

  it('matches %regex% values anywhere in the property', () => {
    expect(match('{ $.eventName = %^Delete.*Policy$% }', { eventName: 'DeleteRolePolicy' })).toBe(true);
    expect(match('{ $.eventName = %Policy% }', { eventName: 'PutUserPolicyX' })).toBe(true);
    expect(match('{ $.eventName != %^Get% }', { eventName: 'GetObject' })).toBe(false);
  });

  it('reads enrichment fields', () => {
    const event = ev({});
    (event as unknown as { enrichment: unknown }).enrichment = { enrichedAt: 0, identity: null, geo: { country: 'NL', classification: 'public' }, service: null };
    expect(compileFilterPattern('{ $.enrichment.geo.country = NL }').matches(event)).toBe(true);
    expect(compileFilterPattern('{ $.enrichment.identity NOT EXISTS }').matches(event)).toBe(true);
  });

  it('derives an index hint from required eventName / eventSource values', () => {
    expect(compileFilterPattern('{ ($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }').hint).toEqual({
      eventSource: new Set(['kms.amazonaws.com']),
      eventName: new Set(['disablekey', 'schedulekeydeletion']),
    });
    expect(compileFilterPattern('{ $.eventName = A || $.errorCode = B }').hint).toEqual({});
    expect(compileFilterPattern('{ $.eventName = "Delete*" }').hint).toEqual({});
  });
});

describe('malformed filter patterns are refused with the position and the reason', () => {
  const cases: [string, string, number][] = [
    ['', 'the filter pattern is empty', 1],
    ['$.a = 1', 'a JSON filter pattern is wrapped in { }, found "$.a"', 1],
    ['{ }', 'the pattern holds no condition', 3],
    ['{ $.a = 1', "expected '}' to close the '{' at column 1, but the pattern ends", 10],
    ['{ $.a = 1 } x', "unexpected 'x' after the closing '}'", 13],
    ['{ a = 1 }', "expected a property selector starting with '$.', found 'a'", 3],
    ['{ $a = 1 }', "a property selector starts with '$.'", 4],
    ['{ $. = 1 }', "expected a property name after '$.', found a space", 5],
    ['{ $.a.= 1 }', "expected a property name after '.', found '='", 7],
    ['{ $.a[x] = 1 }', 'expected an array index such as [0], the wildcard [*], or a key such as [\'cluster.name\']; found "x]"', 7],
    ['{ $.a[1 = 1 }', "expected ']' to close the bracket, found a space", 8],
    ['{ $.a@b = 1 }', "'@' cannot appear in a property name (letters, digits, '-' and '_'; use $.['key'] for other keys)", 6],
    ['{ $.a }', 'expected an operator (=, !=, <, >, <=, >=, IS NULL, IS TRUE, IS FALSE or NOT EXISTS) after $.a, found \'}\'', 7],
    ['{ $.a == 1 }', "'==' is not an operator: use '='", 7],
    ['{ $.a ! 1 }', "expected '!=' (a lone '!' is not an operator)", 7],
    ['{ $.a = }', "expected a value after '='", 9],
    ['{ $.a = "abc }', 'unterminated string starting at column 9', 9],
    ['{ $.a < abc }', "'<' compares numbers; abc is not a number", 9],
    ['{ $.a >= "5" }', "'>=' compares numbers; \"5\" is not a number", 10],
    ['{ $.a IS NOT NULL }', "'IS NOT' is not supported: use != to compare, or NOT EXISTS", 10],
    ['{ $.a IS EMPTY }', 'expected NULL, TRUE or FALSE after IS, found "EMPTY"', 10],
    ['{ $.a EXISTS }', "'EXISTS' is not supported: use NOT EXISTS, or compare the property to a value", 7],
    ['{ $.a NOT NULL }', 'expected EXISTS after NOT, found "NULL"', 11],
    ['{ $.a = 1 & $.b = 2 }', "'&' is not an operator: use '&&'", 11],
    ['{ $.a = 1 | $.b = 2 }', "'|' is not an operator: use '||'", 11],
    ['{ $.a = 1 && }', 'expected a condition such as $.eventName = "ConsoleLogin", found \'}\'', 14],
    ['{ && $.a = 1 }', 'expected a condition such as $.eventName = "ConsoleLogin" before \'&&\'', 3],
    ['{ $.a = 1 $.b = 2 }', 'expected \'&&\', \'||\' or \'}\', found "$.b"', 11],
    ['{ ($.a = 1 }', "expected ')' to close the '(' at column 3", 12],
    ['{ $.a = 1) }', "unbalanced ')': no '(' is open here", 10],
    ['{ () }', 'empty parentheses: expected a condition such as $.eventName = "ConsoleLogin"', 4],
    ['{ ($.a = 1 $.b = 2) }', 'expected \'&&\', \'||\' or \')\', found "$.b"', 12],
    ['{ $.a = %abc }', "unterminated regular expression starting at column 9: it ends with '%'", 9],
    ['{ $.a = %% }', 'the regular expression is empty', 9],
    ['{ $.a = %(ab)% }', "'(' and ')' are not supported in a regular expression (CloudWatch allows no subpatterns)", 10],
    ['{ $.a = %ab!% }', "'!' is not supported in a regular expression", 12],
    ['{ $.a = %é% }', 'multi-byte characters are not supported in a regular expression', 10],
    ['{ $.a = %[a% }', 'invalid regular expression (RE2 syntax): missing closing ]: `[a`', 9],
    ['{ $.a = %a% && $.b = %b% && $.c = %c% }', 'a pattern may hold at most 2 regular expressions', 35],
  ];
  for (const [pattern, reason, column] of cases) {
    it(`${pattern || '(empty)'} → ${reason}`, () => {
      expect(failure(pattern)).toEqual({ reason, column });
    });
  }

  it('refuses a pattern longer than CloudWatch allows (1024 characters)', () => {
    const long = `{ ${Array.from({ length: 60 }, (_, i) => `$.eventName = Name${i}`).join(' || ')} }`;
    expect(long.length).toBeGreaterThan(1024);
    expect(failure(long)).toEqual({ reason: `the pattern is ${long.length} characters; CloudWatch's limit is 1024`, column: 1 });
  });

  it('puts the column in the message', () => {
    expect(() => parseFilterPattern('{ $.a < abc }')).toThrow("'<' compares numbers; abc is not a number (column 9)");
  });
});
