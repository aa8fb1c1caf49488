import { describe, expect, it } from 'vitest';
import { IdentityTable, SessionEntry } from '../src/identityTable.js';
import { inventoryIdentity, NOW } from './records.js';

describe('IdentityTable', () => {
  it('applies values and tombstones as the compacted topic says', () => {
    const table = new IdentityTable();
    expect(table.apply('AKIA1', inventoryIdentity('AKIA1', 'alice'), NOW)).toBe(true);
    expect(table.lookup('AKIA1', NOW)).toMatchObject({ principalType: 'IAMUser', userName: 'alice', learned: false, expiresAt: null });
    table.apply('AKIA1', inventoryIdentity('AKIA1', 'alice2'), NOW);
    expect(table.lookup('AKIA1', NOW)).toMatchObject({ userName: 'alice2' });
    table.apply('AKIA1', null, NOW);
    expect(table.lookup('AKIA1', NOW)).toBeUndefined();
    expect(table.size).toBe(0);
  });

  it('answers "expired" for a key used after its expiry, judged by the event time', () => {
    const table = new IdentityTable({ expiryGraceSeconds: 3600 });
    table.apply('ASIA1', inventoryIdentity('ASIA1', 'x', { expiresAt: NOW + 1000, source: 'sts:AssumeRole' }), NOW);
    expect(table.lookup('ASIA1', NOW)).toBeInstanceOf(Object);
    expect(table.lookup('ASIA1', NOW + 1000)).not.toBe('expired');
    expect(table.lookup('ASIA1', NOW + 2000)).toBe('expired');
  });

  it('does not store keys already expired beyond the grace period, and sweeps out the ones that expire', () => {
    const table = new IdentityTable({ expiryGraceSeconds: 60 });
    expect(table.apply('OLD', inventoryIdentity('OLD', 'x', { expiresAt: NOW - 61_000 }), NOW)).toBe(false);
    table.apply('SOON', inventoryIdentity('SOON', 'x', { expiresAt: NOW + 10_000, source: 'sts:AssumeRole' }), NOW);
    table.apply('INV', inventoryIdentity('INV', 'y', { expiresAt: NOW + 10_000 }), NOW);
    table.apply('FOREVER', inventoryIdentity('FOREVER', 'z'), NOW);
    expect(table.sweep(NOW + 60_000)).toEqual({ evicted: 0, learnedKeys: [] });
    expect(table.sweep(NOW + 71_000)).toEqual({ evicted: 2, learnedKeys: ['SOON'] });
    expect(table.size).toBe(1);
  });

  it('evicts the key known longest when full', () => {
    const table = new IdentityTable({ maxEntries: 2 });
    table.apply('A', inventoryIdentity('A', 'a'), NOW);
    table.apply('B', inventoryIdentity('B', 'b'), NOW);
    table.apply('A', inventoryIdentity('A', 'a2'), NOW); // rewritten: now the newest
    table.apply('C', inventoryIdentity('C', 'c'), NOW);
    expect(table.lookup('B', NOW)).toBeUndefined();
    expect(table.lookup('A', NOW)).toMatchObject({ userName: 'a2' });
    expect(table.size).toBe(2);
    expect(table.evictedForCapacity).toBe(1);
  });

  it('keeps the session facts of learned keys', () => {
    const table = new IdentityTable();
    table.apply(
      'ASIA2',
      inventoryIdentity('ASIA2', 'x', {
        principalType: 'AssumedRole',
        principalArn: 'arn:aws:sts::123456789012:assumed-role/R/s',
        source: 'sts:AssumeRole',
        expiresAt: NOW + 3_600_500,
        session: {
          issuedBy: 'AssumeRole',
          roleArn: 'arn:aws:iam::123456789012:role/R',
          sessionName: 's',
          sessionArn: 'arn:aws:sts::123456789012:assumed-role/R/s',
          sourceIdentity: null,
          mfaAuthenticated: true,
          eventId: 'e',
          callerType: 'IAMUser',
          callerArn: 'arn:aws:iam::123456789012:user/alice',
          callerPrincipalId: 'AIDAALICE',
          callerAccountId: '123456789012',
          callerUserName: 'alice',
          callerAccessKeyId: 'AKIA1',
        },
      }),
      NOW,
    );
    const entry = table.lookup('ASIA2', NOW);
    expect(entry).toBeInstanceOf(SessionEntry);
    // Whole seconds, rounded up: never earlier than the recorded expiry.
    expect(entry).toMatchObject({ learned: true, expiresAt: NOW + 3_601_000, origin: { callerUserName: 'alice', callerAccessKeyId: 'AKIA1' }, mfaAuthenticated: true });
  });

  it('gives back the session name and principal id it derives instead of storing, and keeps them whole when they do not follow the pattern', () => {
    const table = new IdentityTable();
    const session = (key: string, principalArn: string, principalId: string, sessionName: string, mfaAuthenticated: boolean | null) =>
      inventoryIdentity(key, 'x', {
        principalType: 'AssumedRole',
        principalArn,
        principalId,
        userName: null,
        source: 'sts:AssumeRole',
        expiresAt: NOW + 3_600_000,
        session: { issuedBy: 'AssumeRole', roleArn: null, sessionName, sessionArn: principalArn, sourceIdentity: null, mfaAuthenticated, eventId: null, callerType: null, callerArn: null, callerPrincipalId: null, callerAccountId: null, callerUserName: null, callerAccessKeyId: null },
      });
    const cases = [
      session('K1', 'arn:aws:sts::123456789012:assumed-role/Admin/alice-admin', 'AROAEXAMPLEROLEID0001:alice-admin', 'alice-admin', true),
      session('K2', 'arn:aws:sts::123456789012:assumed-role/Admin/bob', 'AROAEXAMPLEROLEID0001:bob', 'bob', false),
      // Names that do not end the ARN or the id, an id of another shape, a name with a slash.
      session('K3', 'arn:aws:sts::123456789012:assumed-role/Admin/other', 'AIDAPLAINID', 'mine', null),
      session('K4', 'arn:aws:sts::123456789012:assumed-role/Admin/a/b', 'AROAX:a/b', 'a/b', null),
      session('K5', 'arn:aws:sts::123456789012:assumed-role/Admin/xbob', 'AROAXbob', 'bob', null),
    ];
    for (const identity of cases) table.apply(identity.accessKeyId, identity, NOW);
    for (const identity of cases) {
      const entry = table.lookup(identity.accessKeyId, NOW) as SessionEntry;
      expect({ principalId: entry.principalId, sessionName: entry.sessionName, mfaAuthenticated: entry.mfaAuthenticated, principalArn: entry.principalArn }).toEqual({
        principalId: identity.principalId,
        sessionName: identity.session!.sessionName,
        mfaAuthenticated: identity.session!.mfaAuthenticated,
        principalArn: identity.principalArn,
      });
    }
  });
});
