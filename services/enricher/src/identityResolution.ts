import type { Principal, ResolvedIdentity, RoleSession, UserIdentity } from '@opentrail/serde';
import { SessionEntry, type IdentityEntry, type IdentityTable } from './identityTable.js';
import { KNOWN_IDENTITY_TYPES, mfaOf, nonEmptyString, sessionContextOf, sessionIssuerOf } from './userIdentity.js';

/** Something odd about an event's identity: counted (opentrail_enricher_identity_anomalies_total), never refused. */
export type IdentityAnomaly = 'missing_user_identity' | 'unknown_identity_type' | 'unreadable_session_context' | 'chain_cycle' | 'chain_too_deep';

export interface ResolutionObserver {
  /** The signing key's lookup in the identities table. */
  tableLookup(result: 'hit' | 'miss' | 'expired'): void;
  anomaly(kind: IdentityAnomaly): void;
}

/**
 * Who is behind the access key that signed a call. The resolution order (README, "Identity
 * resolution"):
 *
 * 1. The identities table, by the signing access key (valid at the event's time): an inventory
 *    entry or a learned STS session (source `inventory` or `sts`). A session is followed back
 *    through the key that obtained it (`callerAccessKeyId`), entry by entry, to a long-term key or
 *    to the caller its STS call recorded; cycles stop the walk, and so does maxChainDepth.
 * 2. What the record itself says: userIdentity type, ARN, ids, and sessionContext.sessionIssuer
 *    (source `event`).
 * 3. Nothing usable (no userIdentity, or one naming no one): source `unresolved`.
 *
 * `actor` is the principal who really did it: the far end of the chain (the IAM user who assumed
 * the role), or the furthest principal known (the role, when the AssumeRole call was not seen).
 * `chain` lists the ARNs from the signing principal to the actor.
 */
/** An answer from the record, and the fields it was computed from. */
interface RecordAnswer {
  ui: UserIdentity;
  identity: ResolvedIdentity;
  unreadableContext: boolean;
}

/**
 * An answer from the table, and what it depends on: the write stamps of the signing key's entry
 * and of the entries the walk met (key by key, as the table held them, or 0 where it held none),
 * and the span of event times over which each expiry check along the way comes out the same
 * (after < event time <= until).
 */
interface TableAnswer {
  stamp: number;
  links: string[];
  linkStamps: number[];
  after: number;
  until: number;
  anomalies: IdentityAnomaly[];
  identity: ResolvedIdentity;
}

export class IdentityResolver {
  /**
   * What records said, by their userIdentity: one session makes many calls with the same
   * userIdentity, and parsing its sessionContext (JSON text) again for each is wasted work. The
   * answer is a function of those fields alone, so it is kept (first in, first out) and the same
   * object is returned, which also lets its encoding be reused. Looked up by a short field (the
   * access key, else the ARN) and confirmed field by field: cheaper, per event, than hashing a key
   * built from all of them.
   */
  private readonly fromRecords = new Map<string, RecordAnswer>();
  /**
   * Answers from the table, by signing key, for the same reasons (a session signs many calls):
   * reused while every entry the walk met is still the one in the table (same write stamp: the
   * table builds no entry object for the check) and the event time lies in the span over which
   * the walk's expiry checks come out the same.
   */
  private readonly fromTables = new Map<string, TableAnswer>();

  constructor(
    private readonly table: IdentityTable,
    private readonly maxChainDepth: number,
    private readonly recordCacheEntries = 10_000,
  ) {}

  resolve(userIdentity: UserIdentity | null, atMs: number, observe: ResolutionObserver): ResolvedIdentity {
    if (userIdentity === null) {
      observe.anomaly('missing_user_identity');
      return unresolved(null);
    }
    if (userIdentity.type !== null && !KNOWN_IDENTITY_TYPES.has(userIdentity.type)) observe.anomaly('unknown_identity_type');
    const key = userIdentity.accessKeyId;
    if (key) {
      const found = this.table.probe(key, atMs);
      observe.tableLookup(found === undefined ? 'miss' : found === 'expired' ? 'expired' : 'hit');
      if (found !== undefined && found !== 'expired') return this.fromTable(key, found, atMs, observe);
    }
    return this.fromRecord(userIdentity, observe);
  }

  private fromRecord(ui: UserIdentity, observe: ResolutionObserver): ResolvedIdentity {
    const key = ui.accessKeyId || ui.arn || ui.principalId || '';
    let known = this.fromRecords.get(key);
    if (known === undefined || !sameUserIdentity(known.ui, ui)) {
      let unreadableContext = false;
      const identity = fromRecord(ui, () => (unreadableContext = true));
      known = { ui, identity, unreadableContext };
      if (this.recordCacheEntries > 0) {
        // Replacing a key's answer keeps the map's size; only a new key may need room.
        if (!this.fromRecords.has(key) && this.fromRecords.size >= this.recordCacheEntries) this.fromRecords.delete(this.fromRecords.keys().next().value!);
        this.fromRecords.set(key, known);
      }
    }
    if (known.unreadableContext) observe.anomaly('unreadable_session_context');
    return known.identity;
  }

  private fromTable(key: string, stamp: number, atMs: number, observe: ResolutionObserver): ResolvedIdentity {
    const cached = this.fromTables.get(key);
    if (cached !== undefined && cached.stamp === stamp && atMs > cached.after && atMs <= cached.until && this.linksStand(cached)) {
      for (const kind of cached.anomalies) observe.anomaly(kind);
      return cached.identity;
    }
    const answer = this.walk(key, this.table.entryOf(key)!, atMs);
    for (const kind of answer.anomalies) observe.anomaly(kind);
    if (this.recordCacheEntries > 0) {
      if (!this.fromTables.has(key) && this.fromTables.size >= this.recordCacheEntries) this.fromTables.delete(this.fromTables.keys().next().value!);
      this.fromTables.set(key, answer);
    }
    return answer.identity;
  }

  private linksStand(answer: TableAnswer): boolean {
    for (let i = 0; i < answer.links.length; i++) {
      if (this.table.stampOf(answer.links[i]!) !== answer.linkStamps[i]) return false;
    }
    return true;
  }

  private walk(key: string, entry: IdentityEntry, atMs: number): TableAnswer {
    const links: string[] = [];
    const linkStamps: number[] = [];
    const anomalies: IdentityAnomaly[] = [];
    let after = Number.NEGATIVE_INFINITY;
    let until = entry.expiresAtSeconds === 0 ? Number.POSITIVE_INFINITY : entry.expiresAtSeconds * 1000;
    const chain: string[] = [];
    const push = (arn: string | null) => {
      if (arn !== null && !chain.includes(arn)) chain.push(arn);
    };
    push(entry.principalArn);
    const seen = new Set([key]);
    let current = entry;
    let currentKey = key;
    let actor: Principal;
    for (let depth = 0; ; depth++) {
      if (!(current instanceof SessionEntry)) {
        // A long-term key: its principal is the actor.
        actor = principalOf(current, currentKey);
        break;
      }
      const origin = current.origin;
      const callerKey = origin.callerAccessKeyId;
      let next: IdentityEntry | undefined;
      if (callerKey !== null) {
        if (seen.has(callerKey)) anomalies.push('chain_cycle');
        else if (depth + 1 >= this.maxChainDepth) anomalies.push('chain_too_deep');
        else {
          const held = this.table.entryOf(callerKey);
          links.push(callerKey);
          linkStamps.push(held === undefined ? 0 : held.stamp);
          if (held !== undefined) {
            // As IdentityTable.lookup decides: expired when the event came after the expiry.
            const expiresMs = held.expiresAtSeconds === 0 ? Number.POSITIVE_INFINITY : held.expiresAtSeconds * 1000;
            if (expiresMs < atMs) after = Math.max(after, expiresMs);
            else {
              until = Math.min(until, expiresMs);
              next = held;
            }
          }
        }
      }
      if (next === undefined) {
        // The chain ends at the caller as the STS call recorded it.
        actor = {
          type: origin.callerType,
          arn: origin.callerArn,
          principalId: origin.callerPrincipalId,
          accountId: origin.callerAccountId,
          userName: origin.callerUserName,
          accessKeyId: callerKey,
        };
        push(origin.callerArn);
        break;
      }
      seen.add(callerKey!);
      push(next.principalArn);
      current = next;
      currentKey = callerKey!;
    }
    const identity: ResolvedIdentity = {
      source: entry.learned ? 'sts' : 'inventory',
      principalType: entry.principalType,
      principalArn: entry.principalArn,
      principalId: entry.principalId,
      accountId: entry.accountId,
      userName: entry.userName,
      session: entry instanceof SessionEntry ? sessionOf(entry) : null,
      actor,
      chain,
    };
    return { stamp: entry.stamp, links, linkStamps, after, until, anomalies, identity };
  }
}

function sameUserIdentity(a: UserIdentity, b: UserIdentity): boolean {
  return (
    a.type === b.type &&
    a.arn === b.arn &&
    a.principalId === b.principalId &&
    a.accountId === b.accountId &&
    a.userName === b.userName &&
    a.accessKeyId === b.accessKeyId &&
    a.sessionContext === b.sessionContext
  );
}

function fromRecord(ui: UserIdentity, unreadableContext: () => void): ResolvedIdentity {
  const type = nonEmptyString(ui.type);
  const arn = nonEmptyString(ui.arn);
  const principalId = nonEmptyString(ui.principalId);
  if (type === null && arn === null && principalId === null) return unresolved(ui);

  const context = ui.sessionContext === null ? undefined : sessionContextOf(ui.sessionContext);
  if (ui.sessionContext !== null && context === undefined) unreadableContext();
  const issuer = sessionIssuerOf(context);
  const isSession = issuer !== undefined || type === 'AssumedRole' || type === 'FederatedUser';

  const self: Principal = {
    type,
    arn,
    principalId,
    accountId: nonEmptyString(ui.accountId),
    userName: nonEmptyString(ui.userName),
    accessKeyId: nonEmptyString(ui.accessKeyId),
  };
  const session: RoleSession | null = isSession
    ? {
        roleArn: issuer?.type === 'Role' ? issuer.arn : type === 'AssumedRole' ? roleArnOfAssumedRole(arn) : null,
        sessionName: type === 'AssumedRole' || type === 'FederatedUser' ? lastSegment(arn) : null,
        sessionArn: type === 'AssumedRole' || type === 'FederatedUser' ? arn : null,
        sourceIdentity: typeof context?.sourceIdentity === 'string' ? context.sourceIdentity : null,
        mfaAuthenticated: mfaOf(context),
        issuedBy: null,
        expiresAt: null,
      }
    : null;
  // The issuer of a session is as far as the record goes: the role (who assumed it is not in the
  // record), or the IAM user behind a federated user.
  const actor: Principal = issuer ? { type: issuer.type, arn: issuer.arn, principalId: issuer.principalId, accountId: issuer.accountId, userName: issuer.userName, accessKeyId: null } : self;
  const chain = [arn, issuer?.arn ?? null].filter((a, i, all): a is string => a !== null && all.indexOf(a) === i);
  return {
    source: 'event',
    principalType: type,
    principalArn: arn,
    principalId,
    accountId: self.accountId,
    userName: self.userName,
    session,
    actor,
    chain,
  };
}

function unresolved(ui: UserIdentity | null): ResolvedIdentity {
  return {
    source: 'unresolved',
    principalType: nonEmptyString(ui?.type ?? null),
    principalArn: null,
    principalId: null,
    accountId: nonEmptyString(ui?.accountId ?? null),
    userName: nonEmptyString(ui?.userName ?? null),
    session: null,
    actor: null,
    chain: [],
  };
}

function principalOf(entry: IdentityEntry, accessKeyId: string): Principal {
  return { type: entry.principalType, arn: entry.principalArn, principalId: entry.principalId, accountId: entry.accountId, userName: entry.userName, accessKeyId };
}

function sessionOf(entry: SessionEntry): RoleSession {
  return {
    roleArn: entry.origin.roleArn,
    sessionName: entry.sessionName,
    sessionArn: entry.sessionArn,
    sourceIdentity: entry.sourceIdentity,
    mfaAuthenticated: entry.mfaAuthenticated,
    issuedBy: entry.origin.issuedBy,
    expiresAt: entry.expiresAt,
  };
}

/** arn:aws:sts::123456789012:assumed-role/Role/Session → arn:aws:iam::123456789012:role/Role */
function roleArnOfAssumedRole(arn: string | null): string | null {
  const m = arn === null ? null : /^arn:([^:]+):sts::(\d{12}):assumed-role\/(.+)\/[^/]+$/.exec(arn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : null;
}

function lastSegment(arn: string | null): string | null {
  if (arn === null) return null;
  const slash = arn.lastIndexOf('/');
  return slash >= 0 && slash < arn.length - 1 ? arn.slice(slash + 1) : null;
}
