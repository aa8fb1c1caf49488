/** Identities shaped like a real estate of IAM users and the STS sessions they open, for the enricher's memory figure. */
import type { Identity } from '@opentrail/serde';

const ACCOUNTS = 200;
const USERS = 5_000;
const ROLES = 300;

const hex = (n: number, width: number) => n.toString(36).toUpperCase().padStart(width, '0').slice(-width);

/** The i-th identity: every other one an inventory IAM user key, the rest AssumeRole sessions of those users. */
export function syntheticIdentity(i: number, kind: 'inventory' | 'session' = i % 2 === 0 ? 'inventory' : 'session'): Identity {
  const account = String(100_000_000_000 + (i % ACCOUNTS));
  const user = `user-${i % USERS}`;
  const now = Date.now();
  if (kind === 'inventory') {
    return {
      accessKeyId: `AKIA${hex(i, 16)}`,
      principalType: 'IAMUser',
      principalArn: `arn:aws:iam::${account}:user/${user}-${i}`,
      principalId: `AIDA${hex(i * 7 + 3, 17)}`,
      accountId: account,
      userName: `${user}-${i}`,
      source: 'inventory',
      observedAt: now,
      expiresAt: null,
      session: null,
    };
  }
  const role = `role-${i % ROLES}`;
  const sessionName = `${user}-${hex(i, 10)}`;
  const sessionArn = `arn:aws:sts::${account}:assumed-role/${role}/${sessionName}`;
  return {
    accessKeyId: `ASIA${hex(i, 16)}`,
    principalType: 'AssumedRole',
    principalArn: sessionArn,
    principalId: `AROA${hex(i % ROLES, 17)}:${sessionName}`,
    accountId: account,
    userName: null,
    source: 'sts:AssumeRole',
    observedAt: now,
    expiresAt: now + 3_600_000,
    session: {
      issuedBy: 'AssumeRole',
      roleArn: `arn:aws:iam::${account}:role/${role}`,
      sessionName,
      sessionArn,
      sourceIdentity: null,
      mfaAuthenticated: false,
      eventId: `${hex(i, 8)}-0000-4000-8000-${hex(i, 12)}`,
      callerType: 'IAMUser',
      callerArn: `arn:aws:iam::${account}:user/${user}`,
      callerPrincipalId: `AIDA${hex(i % USERS, 17)}`,
      callerAccountId: account,
      callerUserName: user,
      callerAccessKeyId: `AKIA${hex(i % USERS, 16)}`,
    },
  };
}
