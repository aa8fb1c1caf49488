import { describe, expect, it } from 'vitest';
import { loadSchemas } from '@opentrail/serde';
import { accountOfArn, learnSession, parseStsExpiration } from '../src/stsSessions.js';
import { ACCOUNT, asEvent, assumedRole, assumeRoleRecord, callRecord, iamUser } from './records.js';

describe('parseStsExpiration', () => {
  it('reads the Java medium format CloudTrail records, as UTC', () => {
    expect(parseStsExpiration('Jul 30, 2024, 9:46:15 PM')).toBe(Date.UTC(2024, 6, 30, 21, 46, 15));
    expect(parseStsExpiration('Mar 23, 2016 2:39:57 AM')).toBe(Date.UTC(2016, 2, 23, 2, 39, 57));
    expect(parseStsExpiration('Aug 2, 2024, 12:05:00 AM')).toBe(Date.UTC(2024, 7, 2, 0, 5, 0));
    expect(parseStsExpiration('Aug 2, 2024, 12:05:00 PM')).toBe(Date.UTC(2024, 7, 2, 12, 5, 0));
    expect(parseStsExpiration('Aug 2, 2024, 8:45:00\u202fAM')).toBe(Date.UTC(2024, 7, 2, 8, 45, 0));
  });

  it('reads ISO 8601 with a zone and epoch seconds; refuses what it cannot place in time', () => {
    expect(parseStsExpiration('2024-07-30T21:46:15Z')).toBe(Date.UTC(2024, 6, 30, 21, 46, 15));
    expect(parseStsExpiration(1722375975)).toBe(1722375975000);
    expect(parseStsExpiration('2024-07-30 21:46:15')).toBeUndefined();
    expect(parseStsExpiration('Foo 30, 2024, 9:46:15 PM')).toBeUndefined();
    expect(parseStsExpiration(null)).toBeUndefined();
  });
});

describe('learnSession', () => {
  it('learns the key an AssumeRole by IAM user alice returned: the role session, and alice as the caller', () => {
    const record = assumeRoleRecord({
      caller: iamUser('alice', 'AKIAALICEEXAMPLE0001'),
      roleName: 'Admin',
      sessionName: 'alice-admin',
      newAccessKeyId: 'ASIANEWSESSIONKEY001',
      expiration: 'Jul 30, 2024, 9:46:15 PM',
      time: new Date('2024-07-30T20:46:15Z'),
      sourceIdentity: 'alice@example.com',
    });
    const learned = learnSession(asEvent(record));
    expect(learned).toEqual({
      identity: {
        accessKeyId: 'ASIANEWSESSIONKEY001',
        principalType: 'AssumedRole',
        principalArn: `arn:aws:sts::${ACCOUNT}:assumed-role/Admin/alice-admin`,
        principalId: 'AROAEXAMPLEROLEID0001:alice-admin',
        accountId: ACCOUNT,
        userName: null,
        source: 'sts:AssumeRole',
        observedAt: Date.UTC(2024, 6, 30, 20, 46, 15),
        expiresAt: Date.UTC(2024, 6, 30, 21, 46, 15),
        session: {
          issuedBy: 'AssumeRole',
          roleArn: `arn:aws:iam::${ACCOUNT}:role/Admin`,
          sessionName: 'alice-admin',
          sessionArn: `arn:aws:sts::${ACCOUNT}:assumed-role/Admin/alice-admin`,
          sourceIdentity: 'alice@example.com',
          mfaAuthenticated: false,
          eventId: record.eventID,
          callerType: 'IAMUser',
          callerArn: `arn:aws:iam::${ACCOUNT}:user/alice`,
          callerPrincipalId: 'AIDAALICEXXXXXXXXXXX',
          callerAccountId: ACCOUNT,
          callerUserName: 'alice',
          callerAccessKeyId: 'AKIAALICEEXAMPLE0001',
        },
      },
    });
  });

  it('learns role chaining (a session assuming another role) with the calling session key, and MFA from the request', () => {
    const record = assumeRoleRecord({ caller: assumedRole('Admin', 'alice-admin', 'ASIANEWSESSIONKEY001'), roleName: 'Deploy', sessionName: 'deploy', newAccessKeyId: 'ASIACHAINEDKEY000002' });
    (record.requestParameters as Record<string, unknown>).serialNumber = 'arn:aws:iam::123456789012:mfa/alice';
    const learned = learnSession(asEvent(record));
    expect(learned && 'identity' in learned && learned.identity.session).toMatchObject({ callerType: 'AssumedRole', callerAccessKeyId: 'ASIANEWSESSIONKEY001', mfaAuthenticated: true });
  });

  it('learns the SAML, web identity, session token and federation token responses of the real fixture shapes', () => {
    const saml = learnSession(
      asEvent({
        ...callRecord({ userIdentity: { type: 'SAMLUser', principalId: 'SampleUkh1i4+ExamplexL/jEvs=:SamlExample', userName: 'SamlExample', identityProvider: 'bdGOnTesti4+ExamplexL/jEvs=' }, eventSource: 'sts.amazonaws.com', eventName: 'AssumeRoleWithSAML' }),
        requestParameters: { roleArn: 'arn:aws:iam::444455556666:role/SAMLTestRoleShibboleth', roleSessionName: 'MyAssignedRoleSessionName', durationSeconds: 3600 },
        responseElements: {
          credentials: { accessKeyId: 'ASIASAMLEXAMPLE00001', expiration: 'Mar 23, 2016 2:39:57 AM' },
          assumedRoleUser: { assumedRoleId: 'AROAD35QRSTUVWEXAMPLE:MyAssignedRoleSessionName', arn: 'arn:aws:sts::444455556666:assumed-role/SAMLTestRoleShibboleth/MyAssignedRoleSessionName' },
        },
      }),
    );
    expect(saml).toMatchObject({ identity: { accessKeyId: 'ASIASAMLEXAMPLE00001', principalType: 'AssumedRole', accountId: '444455556666', expiresAt: Date.UTC(2016, 2, 23, 2, 39, 57), session: { issuedBy: 'AssumeRoleWithSAML', callerType: 'SAMLUser', callerUserName: 'SamlExample', callerAccessKeyId: null, mfaAuthenticated: null } } });

    const federation = learnSession(
      asEvent({
        ...callRecord({ userIdentity: iamUser('fed', 'AKIAFEDEXAMPLE000001'), eventSource: 'sts.amazonaws.com', eventName: 'GetFederationToken' }),
        requestParameters: { name: 'stratus_red_team' },
        responseElements: { credentials: { accessKeyId: 'ASIAFEDERATED0000001', expiration: 'Nov 30, 2024, 8:43:17 PM' }, federatedUser: { arn: `arn:aws:sts::${ACCOUNT}:federated-user/stratus_red_team`, federatedUserId: `${ACCOUNT}:stratus_red_team` } },
      }),
    );
    expect(federation).toMatchObject({ identity: { principalType: 'FederatedUser', principalArn: `arn:aws:sts::${ACCOUNT}:federated-user/stratus_red_team`, userName: 'stratus_red_team', session: { issuedBy: 'GetFederationToken', sessionName: 'stratus_red_team', callerUserName: 'fed' } } });

    const time = new Date('2024-01-01T00:00:00Z');
    const sessionToken = learnSession(
      asEvent({
        ...callRecord({ userIdentity: iamUser('bob', 'AKIABOBEXAMPLE000001'), eventSource: 'sts.amazonaws.com', eventName: 'GetSessionToken', time }),
        requestParameters: { durationSeconds: 900, serialNumber: 'arn:aws:iam::123456789012:mfa/bob' },
        responseElements: { credentials: { accessKeyId: 'ASIABOBSESSION000001', expiration: 'not a date' } },
      }),
    );
    // The same user, with MFA; the unreadable expiration falls back to the requested duration.
    expect(sessionToken).toMatchObject({ identity: { principalType: 'IAMUser', principalArn: `arn:aws:iam::${ACCOUNT}:user/bob`, userName: 'bob', expiresAt: time.getTime() + 900_000, session: { issuedBy: 'GetSessionToken', sessionArn: null, mfaAuthenticated: true } } });
  });

  it('ignores other calls and failed calls; names the problem when an issuing call has no readable credentials', () => {
    expect(learnSession(asEvent(callRecord({})))).toBeUndefined();
    const failed = assumeRoleRecord({ caller: iamUser('alice', 'AKIAALICEEXAMPLE0001'), roleName: 'Admin', sessionName: 's', newAccessKeyId: 'ASIAX' });
    expect(learnSession(asEvent({ ...failed, errorCode: 'AccessDenied', responseElements: null }))).toBeUndefined();
    expect(learnSession(asEvent({ ...failed, responseElements: { credentials: {} } }))).toEqual({ problem: 'AssumeRole response has no credentials.accessKeyId' });
    expect(learnSession({ ...asEvent(failed), responseElements: '{not json' })).toEqual({ problem: 'AssumeRole response has no credentials.accessKeyId' });
  });

  it('does not believe a requested duration or an expiration STS could not have granted, so the session can still be written', () => {
    const time = new Date('2024-07-30T20:46:15Z');
    const identity = loadSchemas().Identity.type;
    const learnedWith = (requestParameters: Record<string, unknown>, expiration: unknown) => {
      const record = assumeRoleRecord({ caller: iamUser('alice', 'AKIAALICEEXAMPLE0001'), roleName: 'Admin', sessionName: 's', newAccessKeyId: 'ASIAODD', time });
      Object.assign(record.requestParameters as Record<string, unknown>, requestParameters);
      const credentials = (record.responseElements as { credentials: Record<string, unknown> }).credentials;
      if (expiration === undefined) delete credentials.expiration;
      else credentials.expiration = expiration;
      const learned = learnSession(asEvent(record));
      if (learned === undefined || 'problem' in learned) throw new Error('nothing learned');
      // What the enricher publishes must encode (an Avro long is a whole number).
      expect(() => identity.toBuffer(learned.identity)).not.toThrow();
      return learned.identity.expiresAt;
    };
    // A fraction of a second, a duration beyond STS's limits, a negative one: the STS default (one hour).
    expect(learnedWith({ durationSeconds: 3600.0005 }, undefined)).toBe(time.getTime() + 3_600_000);
    expect(learnedWith({ durationSeconds: 1e300 }, undefined)).toBe(time.getTime() + 3_600_000);
    expect(learnedWith({ durationSeconds: -5 }, undefined)).toBe(time.getTime() + 3_600_000);
    expect(learnedWith({ durationSeconds: 7200 }, undefined)).toBe(time.getTime() + 7_200_000);
    // Epoch numbers: rounded to the millisecond; beyond the range of Date, the requested duration.
    expect(learnedWith({ durationSeconds: 900 }, 1722375975.0004)).toBe(1722375975000);
    expect(learnedWith({ durationSeconds: 900 }, 1e17)).toBe(time.getTime() + 900_000);
    expect(parseStsExpiration(Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(parseStsExpiration(Number.NaN)).toBeUndefined();
  });

  it('reads the account of an ARN', () => {
    expect(accountOfArn('arn:aws:sts::123456789012:assumed-role/R/s')).toBe('123456789012');
    expect(accountOfArn('arn:aws:s3:::bucket')).toBeNull();
  });
});
