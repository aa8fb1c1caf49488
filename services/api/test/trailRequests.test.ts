import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ApiError } from '../src/errors.js';
import { Operations } from '../src/operations.js';
import { parseTrailArn, prefixProblem, snsTopicArnOf, trailNameProblem, trailRef } from '../src/trailRequests.js';
import { policyAllows, requiredWrites, wildcardMatch } from '../src/trailResources.js';
import { InMemoryTrailStore } from '@opentrail/trails';
import type { DigestPublicKey } from '@opentrail/serde';

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.split('');
const alnum = fc.constantFrom(...ALNUM);
const separator = fc.constantFrom('.', '_', '-');
/** Valid trail names by construction: alphanumeric runs joined by single separators. */
const validName = fc
  .array(fc.tuple(fc.string({ unit: alnum, minLength: 1, maxLength: 12 }), separator), { minLength: 1, maxLength: 8 })
  .map((parts) => parts.map(([run, sep]) => run + sep).join('').slice(0, -1))
  .filter((n) => n.length >= 3 && n.length <= 128);

/** The rule, written independently of the implementation. */
function isValidName(name: string): boolean {
  if (name.length < 3 || name.length > 128) return false;
  const chars = [...name];
  const isAlnum = (c: string) => ALNUM.includes(c);
  if (!isAlnum(chars[0]!) || !isAlnum(chars[chars.length - 1]!)) return false;
  for (let i = 0; i < chars.length; i++) {
    if (!isAlnum(chars[i]!) && !'._-'.includes(chars[i]!)) return false;
    if (i > 0 && !isAlnum(chars[i]!) && !isAlnum(chars[i - 1]!)) return false;
  }
  return true;
}

describe('trail names', () => {
  it('accepts every valid name', () => {
    fc.assert(fc.property(validName, (name) => trailNameProblem(name) === undefined));
  });

  it('agrees with the rule on any string', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 140 }), fc.string({ unit: fc.constantFrom('a', 'Z', '9', '.', '_', '-', ' ', '/', 'é'), maxLength: 140 })), (name) => (trailNameProblem(name) === undefined) === isValidName(name)), { numRuns: 2000 });
  });

  it('gives CloudTrail\'s messages', () => {
    expect(trailNameProblem('ab')).toBe('Trail name too short. Minimum allowed length: 3 characters. Specified name length: 2 characters.');
    expect(trailNameProblem('a'.repeat(129))).toBe('Trail name too long. Maximum allowed length: 128 characters. Specified name length: 129 characters.');
    expect(trailNameProblem('-abc')).toBe('Trail name must starts with a letter or number.');
    expect(trailNameProblem('abc-')).toBe('Trail name must ends with a letter or number.');
    expect(trailNameProblem('a b c')).toBe('Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).');
  });

  it('answers quickly on long hostile names (linear checks)', () => {
    const started = performance.now();
    for (const name of ['a-'.repeat(50_000) + '!', 'a'.repeat(100_000) + '--', '.'.repeat(100_000)]) trailNameProblem(name);
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe('trail ARNs', () => {
  const region = fc.constantFrom('us-east-1', 'eu-west-2', 'ap-southeast-1', 'us-gov-west-1');
  const account = fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: 12, maxLength: 12 });

  it('parses every trail ARN into its parts', () => {
    fc.assert(
      fc.property(region, account, validName, (r, a, n) => {
        expect(parseTrailArn(`arn:aws:cloudtrail:${r}:${a}:trail/${n}`)).toEqual({ partition: 'aws', region: r, accountId: a, name: n });
      }),
    );
  });

  it('refuses ARNs whose parts are not a trail\'s', () => {
    fc.assert(
      fc.property(region, account, validName, fc.constantFrom('s3', 'cloudtrail:x'), (r, a, n, service) => {
        expect(parseTrailArn(`arn:aws:${service}:${r}:${a}:trail/${n}`)).toBeUndefined();
        expect(parseTrailArn(`arn:aws:cloudtrail:${r}:${a.slice(1)}:trail/${n}`)).toBeUndefined();
        expect(parseTrailArn(`arn:aws:cloudtrail:${r}:${a}:trail/${n}/x`)).toBeUndefined();
        expect(parseTrailArn(`arn:aws:cloudtrail:${r}:${a}:eventdatastore/${n}`)).toBeUndefined();
      }),
    );
  });

  it('tells an invalid ARN from an invalid name', () => {
    const ref = (Name: unknown) => {
      try {
        return trailRef({ Name }, 'Name');
      } catch (err) {
        return (err as ApiError).code;
      }
    };
    expect(ref('arn:aws:cloudtrail:us-east-1:111122223333:trail/a')).toBe('CloudTrailARNInvalidException');
    expect(ref('arn:nonsense')).toBe('CloudTrailARNInvalidException');
    expect(ref('not a name')).toBe('InvalidTrailNameException');
    expect(ref('')).toBe('InvalidTrailNameException');
    expect(ref(undefined)).toBe('InvalidTrailNameException');
    expect(ref(['x'])).toBe('SerializationException');
    expect(ref('good-name')).toEqual({ kind: 'name', name: 'good-name' });
  });
});

describe('S3 key prefixes and SNS topics', () => {
  it('accepts prefixes of up to 200 characters without a leading, trailing or doubled "/"', () => {
    const segment = fc.string({ unit: fc.constantFrom('a', 'B', '7', '-', '_', '.', '=', ' '), minLength: 1, maxLength: 20 });
    fc.assert(fc.property(fc.array(segment, { minLength: 1, maxLength: 8 }), (segments) => {
      const prefix = segments.join('/');
      expect(prefixProblem(prefix) === undefined).toBe(prefix.length <= 200);
      expect(prefixProblem(`/${prefix}`)).toBeDefined();
      expect(prefixProblem(`${prefix}/`)).toBeDefined();
      expect(prefixProblem(`${prefix}//x`)).toBeDefined();
    }));
  });

  it('turns a topic name into the ARN in the trail\'s region and account, keeps an ARN', () => {
    expect(snsTopicArnOf('alerts', 'eu-west-1', '111122223333')).toBe('arn:aws:sns:eu-west-1:111122223333:alerts');
    expect(snsTopicArnOf('arn:aws:sns:us-east-1:123456789012:t', 'eu-west-1', '111122223333')).toBe('arn:aws:sns:us-east-1:123456789012:t');
    expect(() => snsTopicArnOf('a:b', 'eu-west-1', '111122223333')).toThrow(expect.objectContaining({ code: 'InvalidSnsTopicNameException' }));
  });
});

describe('bucket policies', () => {
  const grant = (action: string, resource: string | string[], principal: unknown = { Service: 'cloudtrail.amazonaws.com' }, effect = 'Allow') => ({ Effect: effect, Principal: principal, Action: action, Resource: resource });
  const policy = (...statements: unknown[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
  const writes = requiredWrites({ bucket: 'b', prefix: 'p', accountId: '111122223333', organizationId: 'o-abcdefghij' });

  it('needs the AWSLogs paths of the account and, for an organization trail, the organization', () => {
    expect(writes).toEqual(['arn:aws:s3:::b/p/AWSLogs/111122223333/*', 'arn:aws:s3:::b/p/AWSLogs/o-abcdefghij/*']);
  });

  it('grants by exact resource, wildcard resource, service principal or everyone', () => {
    const needed = 'arn:aws:s3:::b/p/AWSLogs/111122223333/*';
    expect(policyAllows(policy(grant('s3:PutObject', needed)), 'cloudtrail.amazonaws.com', 's3:PutObject', needed)).toBe(true);
    expect(policyAllows(policy(grant('s3:*', 'arn:aws:s3:::b/*')), 'cloudtrail.amazonaws.com', 's3:PutObject', needed)).toBe(true);
    expect(policyAllows(policy(grant('s3:PutObject', ['x', needed], '*')), 'cloudtrail.amazonaws.com', 's3:PutObject', needed)).toBe(true);
    expect(policyAllows(policy(grant('S3:PUTOBJECT', needed, { Service: ['config.amazonaws.com', 'cloudtrail.amazonaws.com'] })), 'cloudtrail.amazonaws.com', 's3:PutObject', needed)).toBe(true);
  });

  it('refuses a policy that grants less: another path, action, principal, or a Deny', () => {
    const needed = 'arn:aws:s3:::b/p/AWSLogs/111122223333/*';
    expect(policyAllows(policy(grant('s3:PutObject', 'arn:aws:s3:::b/AWSLogs/111122223333/*')), 'cloudtrail.amazonaws.com', 's3:PutObject', needed)).toBe(false);
    expect(policyAllows(policy(grant('s3:PutObject', 'arn:aws:s3:::b/p/AWSLogs/111122223333/CloudTrail/*')), 'cloudtrail.amazonaws.com', 's3:PutObject', needed)).toBe(false);
    expect(policyAllows(policy(grant('s3:GetObject', needed)), 'cloudtrail.amazonaws.com', 's3:PutObject', needed)).toBe(false);
    expect(policyAllows(policy(grant('s3:PutObject', needed, { Service: 'config.amazonaws.com' })), 'cloudtrail.amazonaws.com', 's3:PutObject', needed)).toBe(false);
    expect(policyAllows(policy(grant('s3:PutObject', needed), grant('s3:*', '*', '*', 'Deny')), 'cloudtrail.amazonaws.com', 's3:PutObject', needed)).toBe(false);
    expect(policyAllows('not json', 'cloudtrail.amazonaws.com', 's3:PutObject', needed)).toBe(false);
    expect(policyAllows('null', 'cloudtrail.amazonaws.com', 's3:PutObject', needed)).toBe(false);
  });

  it('matches wildcards as IAM does, in bounded time', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'b', '/'), maxLength: 30 }), fc.string({ unit: fc.constantFrom('a', 'b', '/', '*', '?'), maxLength: 12 }), (text, pattern) => {
        // Reference: a regular expression built from the pattern (fine here: short inputs).
        const re = new RegExp(`^${pattern.replace(/[/]/g, '\\/').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
        expect(wildcardMatch(pattern, text)).toBe(re.test(text));
      }),
      { numRuns: 2000 },
    );
    const started = performance.now();
    wildcardMatch('*a*a*a*a*a*a*a*a*b', 'a'.repeat(20_000));
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('ListPublicKeys pages', () => {
  const key = (fingerprint: string, start: number): DigestPublicKey => ({ fingerprint, publicKeyDer: Buffer.from(fingerprint), validityStart: start, validityEnd: start + 1000, source: 'local:x', publishedAt: start });
  const keys = new Map(['0a', '0b', '0c', '0d', '0e'].map((f, i) => [f, key(f, 1_000_000 + i * 1000)]));
  const ops = new Operations({ store: new InMemoryTrailStore(), keys: { keys }, activity: { activity: () => ({}) }, maxTrailsPerRegion: 5, now: () => 2_000_000, publicKeysPageSize: 2 });

  it('returns every key once across pages, in validity order', () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = ops.listPublicKeys({ StartTime: 0, EndTime: 3000, ...(token ? { NextToken: token } : {}) });
      seen.push(...page.PublicKeyList.map((k) => k.Fingerprint));
      token = page.NextToken;
      pages++;
    } while (token);
    expect(seen).toEqual(['0a', '0b', '0c', '0d', '0e']);
    expect(pages).toBe(3);
  });

  it('refuses a token it did not make', () => {
    for (const token of ['', 'abc', Buffer.from('k:x:y').toString('base64url'), 'a'.repeat(500)]) {
      expect(() => ops.listPublicKeys({ NextToken: token })).toThrow(expect.objectContaining({ code: 'InvalidTokenException' }));
    }
  });
});
