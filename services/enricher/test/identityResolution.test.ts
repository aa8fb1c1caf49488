import { describe, expect, it } from 'vitest';
import type { Identity } from '@opentrail/serde';
import { IdentityResolver, type IdentityAnomaly } from '../src/identityResolution.js';
import { IdentityTable } from '../src/identityTable.js';
import { learnSession } from '../src/stsSessions.js';
import { asEvent, assumedRole, assumeRoleRecord, callRecord, iamUser, inventoryIdentity } from './records.js';

function observer() {
  const lookups: string[] = [];
  const anomalies: IdentityAnomaly[] = [];
  return { lookups, anomalies, observe: { tableLookup: (r: string) => lookups.push(r), anomaly: (k: IdentityAnomaly) => anomalies.push(k) } };
}

function learn(table: IdentityTable, record: Parameters<typeof asEvent>[0]): Identity {
  const learned = learnSession(asEvent(record));
  if (!learned || !('identity' in learned)) throw new Error('nothing learned');
  table.apply(learned.identity.accessKeyId, learned.identity);
  return learned.identity;
}

const ALICE = iamUser('alice', 'AKIAALICEEXAMPLE0001');
const ALICE_ARN = 'arn:aws:iam::123456789012:user/alice';

describe('IdentityResolver', () => {
  it('attributes a call signed by a learned session key to the role session and to alice, who assumed it', () => {
    const table = new IdentityTable();
    learn(table, assumeRoleRecord({ caller: ALICE, roleName: 'Admin', sessionName: 'alice-admin', newAccessKeyId: 'ASIASESSION000000001' }));
    const call = asEvent(callRecord({ userIdentity: assumedRole('Admin', 'alice-admin', 'ASIASESSION000000001') }));
    const { observe, lookups } = observer();
    const resolved = new IdentityResolver(table, 8).resolve(call.userIdentity, Date.now(), observe);
    expect(resolved).toMatchObject({
      source: 'sts',
      principalType: 'AssumedRole',
      principalArn: 'arn:aws:sts::123456789012:assumed-role/Admin/alice-admin',
      session: { roleArn: 'arn:aws:iam::123456789012:role/Admin', sessionName: 'alice-admin', issuedBy: 'AssumeRole', mfaAuthenticated: false },
      actor: { type: 'IAMUser', arn: ALICE_ARN, userName: 'alice', accessKeyId: 'AKIAALICEEXAMPLE0001' },
      chain: ['arn:aws:sts::123456789012:assumed-role/Admin/alice-admin', ALICE_ARN],
    });
    expect(resolved.session?.expiresAt).toBeGreaterThan(Date.now());
    expect(lookups).toEqual(['hit']);
  });

  it('follows a chain of sessions back to the inventory entry of the long-term key', () => {
    const table = new IdentityTable();
    table.apply('AKIAALICEEXAMPLE0001', inventoryIdentity('AKIAALICEEXAMPLE0001', 'alice'));
    learn(table, assumeRoleRecord({ caller: ALICE, roleName: 'Admin', sessionName: 'a1', newAccessKeyId: 'ASIAFIRST' }));
    learn(table, assumeRoleRecord({ caller: assumedRole('Admin', 'a1', 'ASIAFIRST'), roleName: 'Deploy', sessionName: 'a2', newAccessKeyId: 'ASIASECOND' }));
    const resolved = new IdentityResolver(table, 8).resolve(asEvent(callRecord({ userIdentity: assumedRole('Deploy', 'a2', 'ASIASECOND') })).userIdentity, Date.now(), observer().observe);
    expect(resolved.chain).toEqual(['arn:aws:sts::123456789012:assumed-role/Deploy/a2', 'arn:aws:sts::123456789012:assumed-role/Admin/a1', ALICE_ARN]);
    expect(resolved.actor).toMatchObject({ type: 'IAMUser', userName: 'alice', accessKeyId: 'AKIAALICEEXAMPLE0001' });
  });

  it('stops at cycles and at the depth limit, and counts them', () => {
    const table = new IdentityTable();
    learn(table, assumeRoleRecord({ caller: assumedRole('B', 'b', 'ASIAB'), roleName: 'A', sessionName: 'a', newAccessKeyId: 'ASIAA' }));
    learn(table, assumeRoleRecord({ caller: assumedRole('A', 'a', 'ASIAA'), roleName: 'B', sessionName: 'b', newAccessKeyId: 'ASIAB' }));
    const cycle = observer();
    const resolved = new IdentityResolver(table, 8).resolve(asEvent(callRecord({ userIdentity: assumedRole('A', 'a', 'ASIAA') })).userIdentity, Date.now(), cycle.observe);
    expect(resolved.chain).toEqual(['arn:aws:sts::123456789012:assumed-role/A/a', 'arn:aws:sts::123456789012:assumed-role/B/b']);
    expect(cycle.anomalies).toEqual(['chain_cycle']);

    const deep = observer();
    new IdentityResolver(table, 1).resolve(asEvent(callRecord({ userIdentity: assumedRole('A', 'a', 'ASIAA') })).userIdentity, Date.now(), deep.observe);
    expect(deep.anomalies).toEqual(['chain_too_deep']);
  });

  it('does not use a key past its expiry: falls back to what the record says', () => {
    const table = new IdentityTable();
    const learned = learn(table, assumeRoleRecord({ caller: ALICE, roleName: 'Admin', sessionName: 's', newAccessKeyId: 'ASIAEXPIRING' }));
    const { observe, lookups } = observer();
    const resolved = new IdentityResolver(table, 8).resolve(asEvent(callRecord({ userIdentity: assumedRole('Admin', 's', 'ASIAEXPIRING') })).userIdentity, learned.expiresAt! + 1000, observe);
    expect(lookups).toEqual(['expired']);
    expect(resolved).toMatchObject({ source: 'event', actor: { type: 'Role', arn: 'arn:aws:iam::123456789012:role/Admin' } });
  });

  it('uses the record when the key is unknown: the session issuer is as far as it goes', () => {
    const { observe, lookups } = observer();
    const resolved = new IdentityResolver(new IdentityTable(), 8).resolve(asEvent(callRecord({ userIdentity: assumedRole('Admin', 'sess', 'ASIAUNKNOWN') })).userIdentity, Date.now(), observe);
    expect(lookups).toEqual(['miss']);
    expect(resolved).toEqual({
      source: 'event',
      principalType: 'AssumedRole',
      principalArn: 'arn:aws:sts::123456789012:assumed-role/Admin/sess',
      principalId: 'AROAEXAMPLEROLEID0001:sess',
      accountId: '123456789012',
      userName: null,
      session: { roleArn: 'arn:aws:iam::123456789012:role/Admin', sessionName: 'sess', sessionArn: 'arn:aws:sts::123456789012:assumed-role/Admin/sess', sourceIdentity: null, mfaAuthenticated: false, issuedBy: null, expiresAt: null },
      actor: { type: 'Role', arn: 'arn:aws:iam::123456789012:role/Admin', principalId: 'AROAEXAMPLEROLEID0001', accountId: '123456789012', userName: 'Admin', accessKeyId: null },
      chain: ['arn:aws:sts::123456789012:assumed-role/Admin/sess', 'arn:aws:iam::123456789012:role/Admin'],
    });
  });

  it('an IAM user is its own actor; an unknown type is counted and still resolved from the record', () => {
    const resolver = new IdentityResolver(new IdentityTable(), 8);
    expect(resolver.resolve(asEvent(callRecord({ userIdentity: ALICE })).userIdentity, Date.now(), observer().observe)).toMatchObject({ source: 'event', actor: { arn: ALICE_ARN, accessKeyId: 'AKIAALICEEXAMPLE0001' }, chain: [ALICE_ARN], session: null });
    const odd = observer();
    const resolved = resolver.resolve(asEvent(callRecord({ userIdentity: { type: 'QuantumUser', principalId: 'Q1', accountId: '123456789012' } })).userIdentity, Date.now(), odd.observe);
    expect(resolved).toMatchObject({ source: 'event', principalType: 'QuantumUser', principalId: 'Q1', chain: [] });
    expect(odd.anomalies).toEqual(['unknown_identity_type']);
  });

  it('unresolved: no userIdentity, or one that names no one; an unreadable sessionContext is counted', () => {
    const resolver = new IdentityResolver(new IdentityTable(), 8);
    const none = observer();
    expect(resolver.resolve(null, Date.now(), none.observe)).toMatchObject({ source: 'unresolved', actor: null, chain: [] });
    expect(none.anomalies).toEqual(['missing_user_identity']);
    expect(resolver.resolve(asEvent(callRecord({ userIdentity: { accountId: '123456789012' } })).userIdentity, Date.now(), observer().observe)).toMatchObject({ source: 'unresolved', accountId: '123456789012' });
    const bad = observer();
    const ui = { ...asEvent(callRecord({ userIdentity: ALICE })).userIdentity!, sessionContext: '{broken' };
    expect(resolver.resolve(ui, Date.now(), bad.observe)).toMatchObject({ source: 'event', userName: 'alice' });
    expect(bad.anomalies).toEqual(['unreadable_session_context']);
  });

  it('prefers the inventory over what the record says', () => {
    const table = new IdentityTable();
    table.apply('AKIAALICEEXAMPLE0001', inventoryIdentity('AKIAALICEEXAMPLE0001', 'alice-from-inventory'));
    const resolved = new IdentityResolver(table, 8).resolve(asEvent(callRecord({ userIdentity: ALICE })).userIdentity, Date.now(), observer().observe);
    expect(resolved).toMatchObject({ source: 'inventory', userName: 'alice-from-inventory', actor: { userName: 'alice-from-inventory' } });
  });

  it('answers the same userIdentity with the same object, and still counts its anomalies each time', () => {
    const resolver = new IdentityResolver(new IdentityTable(), 8);
    const ui = { ...asEvent(callRecord({ userIdentity: ALICE })).userIdentity!, sessionContext: '{broken' };
    const first = observer();
    const second = observer();
    const a = resolver.resolve(ui, Date.now(), first.observe);
    const b = resolver.resolve({ ...ui }, Date.now(), second.observe);
    expect(b).toBe(a);
    expect(second.anomalies).toEqual(['unreadable_session_context']);
    expect(resolver.resolve({ ...ui, userName: 'bob' }, Date.now(), observer().observe)).toMatchObject({ userName: 'bob' });
  });

  it('reuses an answer from the table only while the entries the walk met and the expiry checks along it still stand', () => {
    const table = new IdentityTable();
    const resolver = new IdentityResolver(table, 8);
    const first = learn(table, assumeRoleRecord({ caller: ALICE, roleName: 'Admin', sessionName: 'a1', newAccessKeyId: 'ASIAFIRST' }));
    learn(table, assumeRoleRecord({ caller: assumedRole('Admin', 'a1', 'ASIAFIRST'), roleName: 'Deploy', sessionName: 'a2', newAccessKeyId: 'ASIASECOND' }));
    const ui = asEvent(callRecord({ userIdentity: assumedRole('Deploy', 'a2', 'ASIASECOND') })).userIdentity!;
    const at = Date.now();
    const resolve = (atMs: number) => resolver.resolve({ ...ui }, atMs, observer().observe);

    const before = resolve(at);
    expect(before.actor).toMatchObject({ userName: 'alice', principalId: 'AIDAALICEXXXXXXXXXXX' });
    // The same answer, the same object (its encoding is reused).
    expect(resolve(at + 1000)).toBe(before);

    // alice's key reaches the table (a team publishes its inventory): the chain now ends there.
    table.apply('AKIAALICEEXAMPLE0001', inventoryIdentity('AKIAALICEEXAMPLE0001', 'alice', { principalId: 'AIDAFROMINVENTORY' }));
    const withInventory = resolve(at);
    expect(withInventory).not.toBe(before);
    expect(withInventory.actor).toMatchObject({ userName: 'alice', principalId: 'AIDAFROMINVENTORY' });

    // The first session expires early (it was replaced by one that did): calls after that expiry
    // stop at the caller the second AssumeRole recorded, the first session; calls before it still go through.
    table.apply('ASIAFIRST', { ...first, expiresAt: at + 60_000 });
    expect(resolve(at + 30_000).chain).toEqual(['arn:aws:sts::123456789012:assumed-role/Deploy/a2', 'arn:aws:sts::123456789012:assumed-role/Admin/a1', ALICE_ARN]);
    const late = resolve(at + 120_000);
    expect(late.chain).toEqual(['arn:aws:sts::123456789012:assumed-role/Deploy/a2', 'arn:aws:sts::123456789012:assumed-role/Admin/a1']);
    expect(late.actor).toMatchObject({ type: 'AssumedRole', accessKeyId: 'ASIAFIRST' });
    expect(resolve(at + 30_000).actor).toMatchObject({ principalId: 'AIDAFROMINVENTORY' });

    // A forgotten caller (tombstone) is noticed too.
    table.apply('ASIAFIRST', null);
    expect(resolve(at).actor).toMatchObject({ type: 'AssumedRole', accessKeyId: 'ASIAFIRST' });
  });

  it('counts a chain anomaly on every call that meets it, reused answer or not', () => {
    const table = new IdentityTable();
    learn(table, assumeRoleRecord({ caller: assumedRole('B', 'b', 'ASIAB'), roleName: 'A', sessionName: 'a', newAccessKeyId: 'ASIAA' }));
    learn(table, assumeRoleRecord({ caller: assumedRole('A', 'a', 'ASIAA'), roleName: 'B', sessionName: 'b', newAccessKeyId: 'ASIAB' }));
    const resolver = new IdentityResolver(table, 8);
    const ui = asEvent(callRecord({ userIdentity: assumedRole('A', 'a', 'ASIAA') })).userIdentity!;
    const o = observer();
    resolver.resolve(ui, Date.now(), o.observe);
    resolver.resolve(ui, Date.now(), o.observe);
    expect(o.anomalies).toEqual(['chain_cycle', 'chain_cycle']);
  });
});
