import { describe, expect, it } from 'vitest';
import type { Identity } from '@opentrail/serde';
import { IdentityEntry, IdentityTable, SessionEntry } from '../src/identityTable.js';
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

/** What an entry says, in the shape of the Identity it was made from. */
function factsOf(entry: IdentityEntry): Record<string, unknown> {
  const facts: Record<string, unknown> = {
    principalType: entry.principalType,
    principalArn: entry.principalArn,
    principalId: entry.principalId,
    accountId: entry.accountId,
    userName: entry.userName,
    source: entry.source,
    expiresAt: entry.expiresAt,
  };
  if (entry instanceof SessionEntry) {
    facts.session = {
      ...entry.origin,
      sessionName: entry.sessionName,
      sessionArn: entry.sessionArn,
      sourceIdentity: entry.sourceIdentity,
      mfaAuthenticated: entry.mfaAuthenticated,
    };
  } else facts.session = null;
  return facts;
}

function expectedFacts(identity: Identity): Record<string, unknown> {
  const s = identity.session;
  return {
    principalType: identity.principalType,
    principalArn: identity.principalArn,
    principalId: identity.principalId,
    accountId: identity.accountId,
    userName: identity.userName,
    source: identity.source,
    expiresAt: identity.expiresAt === null ? null : Math.ceil(identity.expiresAt / 1000) * 1000,
    session:
      s === null
        ? null
        : {
            issuedBy: s.issuedBy,
            roleArn: s.roleArn,
            callerType: s.callerType,
            callerArn: s.callerArn,
            callerPrincipalId: s.callerPrincipalId,
            callerAccountId: s.callerAccountId,
            callerUserName: s.callerUserName,
            callerAccessKeyId: s.callerAccessKeyId,
            sessionName: s.sessionName,
            sessionArn: s.sessionArn,
            sourceIdentity: s.sourceIdentity,
            mfaAuthenticated: s.mfaAuthenticated,
          },
  };
}

/** Identities of every shape the table stores differently: derived names and ids, own strings, nulls, odd text. */
function variedIdentity(i: number): Identity {
  const account = String(100_000_000_000 + (i % 7));
  const expiresAt = i % 5 === 0 ? null : NOW + 3_600_000 + (i % 1000) * 7;
  const kind = i % 6;
  if (kind === 0) return inventoryIdentity(`AKIA${i}`, `user-${i}`, { accountId: account, principalArn: `arn:aws:iam::${account}:user/team/user-${i}`, expiresAt });
  if (kind === 1) return inventoryIdentity(`AKIA${i}`, `ünïcødé-${i}-名前`, { userName: `other-${i}`, principalArn: `arn:aws:iam::${account}:user/ünïcødé-${i}-名前`, expiresAt });
  if (kind === 2) return inventoryIdentity(`K${i}`, 'x', { principalType: 'Root', principalArn: `arn:aws:iam::${account}:root`, principalId: null, accountId: null, userName: null, expiresAt });
  const sessionName = kind === 5 ? `${'long-'.repeat(80)}${i}` : `s-${i}`;
  const role = `role-${i % 4}`;
  const arn = `arn:aws:sts::${account}:assumed-role/${role}/${sessionName}`;
  return inventoryIdentity(`ASIA${i}`, 'x', {
    principalType: kind === 4 ? 'FederatedUser' : 'AssumedRole',
    principalArn: kind === 4 ? null : arn,
    principalId: kind === 3 ? `AROAROLE${i % 4}:${sessionName}` : `AROAOTHER${i}`,
    userName: kind === 4 ? sessionName : null,
    source: kind === 4 ? 'sts:GetFederationToken' : 'sts:AssumeRole',
    expiresAt: expiresAt ?? NOW + 1000,
    session: {
      issuedBy: kind === 4 ? 'GetFederationToken' : 'AssumeRole',
      roleArn: kind === 4 ? null : `arn:aws:iam::${account}:role/${role}`,
      sessionName: kind === 4 && i % 4 === 0 ? null : sessionName,
      sessionArn: kind === 3 ? arn : kind === 5 ? `${arn}-elsewhere` : null,
      sourceIdentity: i % 3 === 0 ? `src-${i % 3}` : null,
      mfaAuthenticated: i % 3 === 0 ? true : i % 3 === 1 ? false : null,
      eventId: `e-${i}`,
      callerType: 'IAMUser',
      callerArn: `arn:aws:iam::${account}:user/caller-${i % 9}`,
      callerPrincipalId: `AIDACALLER${i % 9}`,
      callerAccountId: account,
      callerUserName: `caller-${i % 9}`,
      callerAccessKeyId: i % 2 === 0 ? `AKIACALLER${i % 9}` : null,
    },
  });
}

describe('IdentityTable (compact layout)', () => {
  for (const maxInterned of [200_000, 3, 0]) {
    it(`gives back exactly what it was given, through growth, rewrites and deletes, against a Map (maxInterned ${maxInterned})`, () => {
      const table = new IdentityTable({ maxInterned });
      const reference = new Map<string, Identity>();
      const n = 5000; // several growths of the columns and the index (1024 slots at first)
      for (let i = 0; i < n; i++) {
        const identity = variedIdentity(i);
        expect(table.apply(identity.accessKeyId, identity, NOW)).toBe(true);
        reference.set(identity.accessKeyId, identity);
      }
      // Rewrite a third with other facts, delete another third: freed slots are reused, index runs shift back.
      for (let i = 0; i < n; i += 3) {
        const key = variedIdentity(i).accessKeyId;
        const rewritten = { ...variedIdentity(i + 1), accessKeyId: key };
        table.apply(key, rewritten, NOW);
        reference.set(key, rewritten);
        const gone = variedIdentity(i + 1).accessKeyId;
        table.apply(gone, null, NOW);
        reference.delete(gone);
      }
      for (let i = n; i < n + 500; i++) {
        const identity = variedIdentity(i);
        table.apply(identity.accessKeyId, identity, NOW);
        reference.set(identity.accessKeyId, identity);
      }
      expect(table.size).toBe(reference.size);
      for (const [key, identity] of reference) {
        const entry = table.lookup(key, NOW);
        expect(entry, key).toBeInstanceOf(IdentityEntry);
        expect(factsOf(entry as IdentityEntry), key).toEqual(expectedFacts(identity));
      }
      for (let i = 0; i < n; i += 3) expect(table.lookup(variedIdentity(i + 1).accessKeyId, NOW)).toBeUndefined();
      expect(table.lookup('AKIA-never-written', NOW)).toBeUndefined();
    });
  }

  it('stamps each write: the stamp a probe gives is the entry’s, changes when the key is written again, 0 once it is gone', () => {
    const table = new IdentityTable();
    table.apply('AKIA1', inventoryIdentity('AKIA1', 'alice'), NOW);
    table.apply('ASIA1', inventoryIdentity('ASIA1', 'x', { source: 'sts:AssumeRole', expiresAt: NOW + 1000 }), NOW);
    const first = table.stampOf('AKIA1');
    expect(first).toBeGreaterThan(0);
    expect(table.probe('AKIA1', NOW)).toBe(first);
    expect(table.entryOf('AKIA1')!.stamp).toBe(first);
    expect(table.probe('ASIA1', NOW + 2000)).toBe('expired');
    expect(table.probe('NOPE', NOW)).toBeUndefined();
    table.apply('AKIA1', inventoryIdentity('AKIA1', 'alice'), NOW);
    expect(table.stampOf('AKIA1')).not.toBe(first);
    expect(table.stampOf('ASIA1')).not.toBe(table.stampOf('AKIA1'));
    table.apply('AKIA1', null, NOW);
    expect(table.stampOf('AKIA1')).toBe(0);
  });

  it('keeps capacity eviction in write order and sweeps in it, with keys removed from the middle', () => {
    const table = new IdentityTable({ maxEntries: 3000, expiryGraceSeconds: 0 });
    for (let i = 0; i < 3000; i++) table.apply(`K${i}`, inventoryIdentity(`K${i}`, `u${i}`, { expiresAt: i % 2 === 0 ? NOW + 10_000 : null, source: i % 4 === 0 ? 'sts:AssumeRole' : 'inventory' }), NOW);
    for (let i = 0; i < 100; i++) table.apply(`K${i * 7}`, null, NOW);
    table.apply('K1', inventoryIdentity('K1', 'again'), NOW); // now the newest
    for (let i = 0; i < 102; i++) table.apply(`N${i}`, inventoryIdentity(`N${i}`, `n${i}`), NOW);
    expect(table.size).toBe(3000);
    expect(table.evictedForCapacity).toBe(2);
    // The two written longest ago that were still there: K2 and K3 (K0 was deleted, K1 rewritten).
    expect(table.lookup('K2', NOW)).toBeUndefined();
    expect(table.lookup('K3', NOW)).toBeUndefined();
    expect(table.lookup('K4', NOW)).toMatchObject({ userName: 'u4' });
    expect(table.lookup('K1', NOW)).toMatchObject({ userName: 'again' });
    const { evicted, learnedKeys } = table.sweep(NOW + 11_000);
    // Every even key expires, but those deleted (multiples of 7 below 700) and K2 (evicted for capacity).
    const expiring = [...Array(3000).keys()].filter((i) => i % 2 === 0 && !(i % 7 === 0 && i < 700) && i !== 2);
    expect(evicted).toBe(expiring.length);
    expect(learnedKeys).toEqual(expiring.filter((i) => i % 4 === 0).map((i) => `K${i}`));
    expect(table.size).toBe(3000 - expiring.length);
    expect(table.lookup('K5', NOW + 11_000)).toMatchObject({ userName: 'u5' });
  });

  it('refuses a record with a string longer than 65535 characters, and stores those just below', () => {
    const table = new IdentityTable();
    expect(table.apply('LONG', inventoryIdentity('LONG', 'x'.repeat(70_000)), NOW)).toBe(false);
    expect(table.lookup('LONG', NOW)).toBeUndefined();
    const name = 'y'.repeat(65_000);
    expect(table.apply('BIG', inventoryIdentity('BIG', name, { userName: `${name}z` }), NOW)).toBe(true);
    expect(table.lookup('BIG', NOW)).toMatchObject({ userName: `${name}z`, principalArn: `arn:aws:iam::123456789012:user/${name}` });
  });
});
