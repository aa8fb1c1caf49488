import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ActionPolicy, Authorizer, principalOf, resourceOf, actionOf } from '../src/authorization.js';
import { configSchema } from '../src/config.js';

const ACCOUNT = '111122223333';
const key = (id: string) => ({ accessKeyId: id, secretAccessKey: `${id}-secret` });

describe('principalOf', () => {
  it('reads IAM users (with paths), the root, roles and role sessions', () => {
    const user = principalOf(`arn:aws:iam::${ACCOUNT}:user/ops/alice`)!;
    expect(user).toMatchObject({ type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/ops/alice`, accountId: ACCOUNT, userName: 'alice', partition: 'aws' });
    expect(user.principalId).toMatch(/^AIDA[A-Z2-7]{17}$/);
    // The same on every instance and after every restart.
    expect(principalOf(`arn:aws:iam::${ACCOUNT}:user/ops/alice`)!.principalId).toBe(user.principalId);
    expect(principalOf(`arn:aws:iam::${ACCOUNT}:user/bob`)!.principalId).not.toBe(user.principalId);

    expect(principalOf(`arn:aws:iam::${ACCOUNT}:root`)).toMatchObject({ type: 'Root', principalId: ACCOUNT, userName: 'root' });

    const role = principalOf(`arn:aws-us-gov:iam::${ACCOUNT}:role/deploy/Deployer`, { sessionName: 'ci-run' })!;
    expect(role).toMatchObject({
      type: 'AssumedRole',
      arn: `arn:aws-us-gov:sts::${ACCOUNT}:assumed-role/Deployer/ci-run`,
      userName: 'ci-run',
      partition: 'aws-us-gov',
      sessionIssuer: { type: 'Role', arn: `arn:aws-us-gov:iam::${ACCOUNT}:role/deploy/Deployer`, accountId: ACCOUNT, userName: 'Deployer' },
    });
    expect(role.principalId).toBe(`${role.sessionIssuer!.principalId}:ci-run`);
    expect(role.sessionIssuer!.principalId).toMatch(/^AROA[A-Z2-7]{17}$/);

    const session = principalOf(`arn:aws:sts::${ACCOUNT}:assumed-role/Reader/alice@example.com`, { principalId: 'AROAEXAMPLEEXAMPLE01' })!;
    expect(session).toMatchObject({ type: 'AssumedRole', userName: 'alice@example.com', principalId: 'AROAEXAMPLEEXAMPLE01:alice@example.com' });
    expect(session.sessionIssuer!.arn).toBe(`arn:aws:iam::${ACCOUNT}:role/Reader`);
  });

  it('refuses anything else', () => {
    for (const arn of ['', 'alice', `arn:aws:iam::${ACCOUNT}:group/admins`, `arn:aws:iam::1234:user/alice`, `arn:aws:s3:::bucket`, `arn:aws:iam::${ACCOUNT}:user/`, `arn:aws:iam::${ACCOUNT}:user/a b`, `arn:aws:sts::${ACCOUNT}:assumed-role/R/x`]) {
      expect(principalOf(arn), arn).toBeUndefined();
    }
  });
});

describe('ActionPolicy', () => {
  it('allows by wildcard, case-insensitively, and lets a deny win', () => {
    const p = new ActionPolicy(['cloudtrail:Describe*', 'cloudtrail:Get*', 'cloudtrail:LookupEvents', 'opentrail:*'], ['cloudtrail:GetTrailStat?s']);
    expect(p.decide('cloudtrail:DescribeTrails')).toBe('allow');
    expect(p.decide('CLOUDTRAIL:describetrails')).toBe('allow');
    expect(p.decide('cloudtrail:LookupEvents')).toBe('allow');
    expect(p.decide('opentrail:QueryEvents')).toBe('allow');
    expect(p.decide('cloudtrail:GetTrailStatus')).toBe('explicitDeny');
    expect(p.decide('cloudtrail:CreateTrail')).toBe('implicitDeny');
    expect(p.decide('cloudtrail:LookupEventsX')).toBe('implicitDeny');
    expect(new ActionPolicy(['*'], ['cloudtrail:Delete*']).decide('cloudtrail:DeleteTrail')).toBe('explicitDeny');
    expect(ActionPolicy.FULL_ACCESS.decide('opentrail:GetResourceHistory')).toBe('allow');
  });

  it('refuses patterns that are not actions', () => {
    for (const bad of ['cloudtrail', 'cloudtrail:', ':x', 'cloud trail:x', 'cloudtrail:(a|b)', 'cloudtrail:.*']) expect(() => new ActionPolicy([bad]), bad).toThrow(RangeError);
  });

  it('matches as a reference IAM matcher would, for any pattern and action', () => {
    const part = fc.string({ unit: fc.constantFrom('a', 'b', 'A', '*', '?'), maxLength: 8 });
    const reference = (pattern: string, action: string) => new RegExp(`^${pattern.toLowerCase().replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's').test(action.toLowerCase());
    fc.assert(
      fc.property(part, fc.string({ unit: fc.constantFrom('a', 'b', 'B'), maxLength: 10 }), (pattern, action) => {
        const p = `svc:${pattern || 'a'}`;
        expect(new ActionPolicy([p]).decide(`svc:${action}`) === 'allow').toBe(reference(p, `svc:${action}`));
      }),
      { numRuns: 500 },
    );
  });

  it('takes time linear in the action for adversarial patterns', () => {
    const p = new ActionPolicy([`svc:${'*a'.repeat(60)}*b`]);
    const started = performance.now();
    expect(p.decide(`svc:${'a'.repeat(100)}`)).toBe('implicitDeny');
    expect(performance.now() - started).toBeLessThan(50);
  });
});

describe('Authorizer', () => {
  const authorizer = Authorizer.fromConfig({
    principals: [
      { arn: `arn:aws:iam::${ACCOUNT}:user/alice`, accessKeys: [key('AKIAALICE'), key('AKIAALICE2')], allow: ['cloudtrail:*', 'opentrail:*'], deny: ['cloudtrail:DeleteTrail'] },
      { arn: `arn:aws:iam::${ACCOUNT}:role/Auditor`, sessionName: 'audit', accessKeys: [key('AKIAREADER')], allow: ['cloudtrail:Describe*', 'cloudtrail:Get*', 'cloudtrail:List*', 'cloudtrail:LookupEvents'], deny: [] },
    ],
    accessKeys: [key('AKIALEGACY')],
    defaultAccountId: '444455556666',
  });

  it('knows every key, and gives a bare key full access as a user of the default account', () => {
    expect(authorizer.size).toBe(4);
    expect(authorizer.secrets.get('AKIAALICE2')).toBe('AKIAALICE2-secret');
    const legacy = authorizer.identify('AKIALEGACY', 'eu-west-1');
    expect(legacy).toMatchObject({ accessKeyId: 'AKIALEGACY', region: 'eu-west-1', accountId: '444455556666', principalArn: 'arn:aws:iam::444455556666:user/AKIALEGACY', userName: 'AKIALEGACY' });
    expect(() => authorizer.authorize(legacy, 'cloudtrail:DeleteTrail', '*')).not.toThrow();
  });

  it('refuses a credential scoped to no AWS region, and an unknown key', () => {
    expect(() => authorizer.identify('AKIAALICE', 'us-east-7')).toThrow(expect.objectContaining({ code: 'InvalidSignatureException', message: 'Credential should be scoped to a valid region.' }));
    expect(() => authorizer.identify('AKIANOBODY', 'us-east-1')).toThrow(expect.objectContaining({ code: 'UnrecognizedClientException' }));
    expect(Authorizer.fromConfig({ principals: [], accessKeys: [key('K')], defaultAccountId: ACCOUNT, additionalRegions: ['xx-new-1'] }).identify('K', 'xx-new-1').region).toBe('xx-new-1');
  });

  it("answers AccessDeniedException with IAM's message: no allow, or an explicit deny", () => {
    const reader = authorizer.identify('AKIAREADER', 'us-east-1');
    expect(reader).toMatchObject({ principalArn: `arn:aws:sts::${ACCOUNT}:assumed-role/Auditor/audit`, userName: 'audit', accountId: ACCOUNT });
    const resource = resourceOf({ Name: 'main', S3BucketName: 'b' }, reader);
    expect(resource).toBe(`arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/main`);
    expect(() => authorizer.authorize(reader, 'cloudtrail:CreateTrail', resource)).toThrow(
      expect.objectContaining({
        code: 'AccessDeniedException',
        status: 400,
        message: `User: arn:aws:sts::${ACCOUNT}:assumed-role/Auditor/audit is not authorized to perform: cloudtrail:CreateTrail on resource: arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/main because no identity-based policy allows the cloudtrail:CreateTrail action`,
      }),
    );
    expect(() => authorizer.authorize(reader, 'cloudtrail:DescribeTrails', '*')).not.toThrow();
    expect(() => authorizer.authorize(reader, 'opentrail:QueryEvents', '*')).toThrow(expect.objectContaining({ code: 'AccessDeniedException' }));
    const alice = authorizer.identify('AKIAALICE', 'us-east-1');
    expect(() => authorizer.authorize(alice, 'cloudtrail:DeleteTrail', '*')).toThrow(
      expect.objectContaining({ message: `User: arn:aws:iam::${ACCOUNT}:user/alice is not authorized to perform: cloudtrail:DeleteTrail on resource: * with an explicit deny in an identity-based policy` }),
    );
    expect(() => authorizer.authorize(alice, 'cloudtrail:CreateTrail', '*')).not.toThrow();
  });

  it('refuses a key configured twice', () => {
    expect(() => Authorizer.fromConfig({ principals: [{ arn: `arn:aws:iam::${ACCOUNT}:user/a`, accessKeys: [key('K')], allow: ['*'], deny: [] }], accessKeys: [key('K')], defaultAccountId: ACCOUNT })).toThrow(/configured twice/);
  });
});

describe('resourceOf and actionOf', () => {
  const caller = Authorizer.fromConfig({ principals: [], accessKeys: [key('K')], defaultAccountId: ACCOUNT }).identify('K', 'eu-west-1');
  it('names the trail by ARN when the request names one, else *; never echoes other text', () => {
    const arn = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/other`;
    expect(resourceOf({ Name: arn }, caller)).toBe(arn);
    expect(resourceOf({ TrailName: 'x.y-z' }, caller)).toBe(`arn:aws:cloudtrail:eu-west-1:${ACCOUNT}:trail/x.y-z`);
    expect(resourceOf({ ResourceIdList: [arn] }, caller)).toBe(arn);
    expect(resourceOf({}, caller)).toBe('*');
    expect(resourceOf({ Name: '<script>' }, caller)).toBe('*');
    expect(resourceOf({ Name: 'a'.repeat(5000) }, caller)).toBe('*');
    expect(resourceOf({ Name: 42 }, caller)).toBe('*');
    expect(resourceOf(JSON.parse('{"__proto__":{"Name":"evil"}}') as Record<string, unknown>, caller)).toBe('*');
  });
  it('names actions by API', () => {
    expect(actionOf({ api: 'cloudtrail', operation: 'CreateTrail' })).toBe('cloudtrail:CreateTrail');
    expect(actionOf({ api: 'opentrail', operation: 'QueryEvents' })).toBe('opentrail:QueryEvents');
  });
});

describe('api configuration', () => {
  const base = { kafka: { brokers: ['k:9092'] }, schemaRegistry: { url: 'http://r' }, trails: [] };
  it('reads principals and keeps accessKeys valid', () => {
    const c = configSchema.parse({ ...base, api: { accessKeys: ['AKIAOLD:old-secret'], principals: [{ arn: `arn:aws:iam::${ACCOUNT}:user/ro`, accessKeys: ['AKIARO:ro-secret'], allow: ['cloudtrail:Describe*'] }] } });
    expect(c.api.principals[0]).toMatchObject({ accessKeys: [{ accessKeyId: 'AKIARO', secretAccessKey: 'ro-secret' }], allow: ['cloudtrail:Describe*'], deny: [] });
    expect(c.api.defaultAccountId).toBe('000000000000');
  });
  it('refuses a bad ARN, a bad action pattern, a principal without keys and a duplicated key', () => {
    const bad = (api: unknown) => configSchema.safeParse({ ...base, api }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(bad({ principals: [{ arn: 'arn:aws:iam::1:user/x', accessKeys: ['A:s'], allow: ['*'] }] })).toEqual([expect.stringMatching(/^api\.principals\.0\.arn: arn must be an IAM user/)]);
    expect(bad({ principals: [{ arn: `arn:aws:iam::${ACCOUNT}:user/x`, accessKeys: ['A:s'], allow: ['cloudtrail:.*'] }] })).toEqual([expect.stringMatching(/^api\.principals\.0\.allow\.0: must be an action pattern/)]);
    expect(bad({ principals: [{ arn: `arn:aws:iam::${ACCOUNT}:user/x`, accessKeys: [], allow: ['*'] }] })).toEqual(['api.principals.0.accessKeys: must list at least one access key']);
    expect(bad({ accessKeys: ['A:s'], principals: [{ arn: `arn:aws:iam::${ACCOUNT}:user/x`, accessKeys: ['A:t'], allow: ['*'] }] })).toEqual(['api.accessKeys: access key A is configured more than once']);
  });
});
