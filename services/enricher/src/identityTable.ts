import type { Identity, StsSession } from '@opentrail/serde';

/**
 * The identities table: access key id → the principal behind it, read from the compacted identities
 * topic (teams' IAM inventory and the STS sessions every enricher learns) and kept in memory by
 * every instance.
 *
 * A million keys must fit in well under 512 MB of heap, so an entry keeps only what resolution
 * reads, in classes of fixed shape, with expiry in whole seconds (a small integer, not a boxed
 * double) and the strings that repeat across keys (account ids, types, role and caller ARNs)
 * interned, and the origin of sessions (STS API, role, caller) shared between the sessions that
 * have the same. bench/enricher.bench.ts measures it.
 */
export class IdentityEntry {
  constructor(
    readonly principalType: string,
    readonly principalArn: string | null,
    /** The principal id, or for a SessionEntry possibly only what comes before `:<session name>` (see there). */
    protected readonly storedPrincipalId: string | null,
    readonly accountId: string | null,
    readonly userName: string | null,
    /** inventory, or sts:<API> for a learned session */
    readonly source: string,
    /** Seconds since the epoch; 0 when the key does not expire. */
    readonly expiresAtSeconds: number,
  ) {}

  get principalId(): string | null {
    return this.storedPrincipalId;
  }

  get learned(): boolean {
    return this.source.startsWith('sts:');
  }

  /** ms since the epoch, or null. */
  get expiresAt(): number | null {
    return this.expiresAtSeconds === 0 ? null : this.expiresAtSeconds * 1000;
  }
}

/**
 * How a session was obtained: the STS API, the role, and the caller. Shared by every session the
 * same caller opens on the same role (one object for all of alice's Admin sessions).
 */
export class SessionOrigin {
  constructor(
    readonly issuedBy: string,
    readonly roleArn: string | null,
    readonly callerType: string | null,
    readonly callerArn: string | null,
    readonly callerPrincipalId: string | null,
    readonly callerAccountId: string | null,
    readonly callerUserName: string | null,
    readonly callerAccessKeyId: string | null,
  ) {}
}

/** SessionEntry.flags */
const MFA_TRUE = 1;
const MFA_FALSE = 2;
/** The session name is the last segment of the principal's ARN (…:assumed-role/Role/<name>). */
const NAME_FROM_ARN = 4;
/** The principal id is `<stored prefix>:<session name>` (AROA…:<name>), the prefix shared by the role's sessions. */
const ID_FROM_NAME = 8;

/**
 * A key of temporary credentials: how it was obtained, and by whom. Half the table in a real estate,
 * so it keeps what it can derive only once: the session name usually ends the principal ARN, and
 * the principal id is the role id (one string for all the role's sessions) and the session name.
 * About 100 bytes less per session (bench/enricher.bench.ts).
 */
export class SessionEntry extends IdentityEntry {
  constructor(
    principalType: string,
    principalArn: string | null,
    storedPrincipalId: string | null,
    accountId: string | null,
    userName: string | null,
    source: string,
    expiresAtSeconds: number,
    readonly origin: SessionOrigin,
    private readonly storedSessionName: string | null,
    readonly sessionArn: string | null,
    readonly sourceIdentity: string | null,
    /** MFA_TRUE / MFA_FALSE, NAME_FROM_ARN, ID_FROM_NAME */
    private readonly flags: number,
  ) {
    super(principalType, principalArn, storedPrincipalId, accountId, userName, source, expiresAtSeconds);
  }

  /**
   * Stored forms of a session's name and principal id, and the flags saying how to read them back.
   * `intern` gives the one copy of the principal id's prefix that the role's sessions share, or
   * undefined (the id is then kept whole).
   */
  static stored(
    principalArn: string | null,
    principalId: string | null,
    sessionName: string | null,
    mfaAuthenticated: boolean | null,
    intern: (value: string) => string | undefined,
  ): { principalId: string | null; sessionName: string | null; flags: number } {
    let flags = mfaAuthenticated === true ? MFA_TRUE : mfaAuthenticated === false ? MFA_FALSE : 0;
    let storedName = sessionName;
    let storedId = principalId;
    if (sessionName !== null && sessionName !== '' && !sessionName.includes('/')) {
      const n = sessionName.length;
      if (principalArn !== null && principalArn.length > n && principalArn.endsWith(sessionName) && principalArn.charCodeAt(principalArn.length - n - 1) === 0x2f) {
        storedName = null;
        flags |= NAME_FROM_ARN;
      }
      if (principalId !== null && principalId.length > n && principalId.endsWith(sessionName) && principalId.charCodeAt(principalId.length - n - 1) === 0x3a) {
        const prefix = intern(principalId.slice(0, principalId.length - n - 1));
        if (prefix !== undefined) {
          storedId = prefix;
          flags |= ID_FROM_NAME;
        }
      }
    }
    return { principalId: storedId, sessionName: storedName, flags };
  }

  get sessionName(): string | null {
    if ((this.flags & NAME_FROM_ARN) === 0) return this.storedSessionName;
    const arn = this.principalArn!;
    return arn.slice(arn.lastIndexOf('/') + 1);
  }

  override get principalId(): string | null {
    return (this.flags & ID_FROM_NAME) === 0 ? this.storedPrincipalId : `${this.storedPrincipalId}:${this.sessionName}`;
  }

  get mfaAuthenticated(): boolean | null {
    return this.flags & MFA_TRUE ? true : this.flags & MFA_FALSE ? false : null;
  }
}

export type LookupResult = IdentityEntry | 'expired' | undefined;

export interface IdentityTableOptions {
  /** @default 2000000 */
  maxEntries?: number;
  /** @default 3600 */
  expiryGraceSeconds?: number;
  /** Distinct strings interned at most; beyond it strings are kept as they come. @default 200000 */
  maxInterned?: number;
}

export class IdentityTable {
  private readonly entries = new Map<string, IdentityEntry>();
  private readonly interned = new Map<string, string>();
  private readonly origins = new Map<string, SessionOrigin>();
  private readonly maxEntries: number;
  private readonly graceMs: number;
  private readonly maxInterned: number;
  /** Entries dropped because the table was full, since start. */
  evictedForCapacity = 0;

  constructor(options: IdentityTableOptions = {}) {
    this.maxEntries = options.maxEntries ?? 2_000_000;
    this.graceMs = (options.expiryGraceSeconds ?? 3600) * 1000;
    this.maxInterned = options.maxInterned ?? 200_000;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Applies one record of the identities topic: a value replaces what the table knew about the key,
   * a tombstone (null) forgets it. A key already expired beyond the grace period is not stored.
   * Returns whether the table now holds the key.
   */
  apply(accessKeyId: string, identity: Identity | null, nowMs: number = Date.now()): boolean {
    // Delete first so that Map order stays the order keys were last written: capacity eviction
    // then drops the entry known longest.
    this.entries.delete(accessKeyId);
    if (identity === null) return false;
    if (identity.expiresAt !== null && identity.expiresAt + this.graceMs < nowMs) return false;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) {
        this.entries.delete(oldest);
        this.evictedForCapacity++;
      }
    }
    this.entries.set(accessKeyId, this.toEntry(identity));
    return true;
  }

  /** The entry of a key as of `atMs` (the event's time): 'expired' when the key had expired by then. */
  lookup(accessKeyId: string, atMs: number): LookupResult {
    const entry = this.entries.get(accessKeyId);
    if (entry === undefined) return undefined;
    if (entry.expiresAtSeconds !== 0 && entry.expiresAtSeconds * 1000 < atMs) return 'expired';
    return entry;
  }

  /** The entry of a key whatever its expiry: lets a resolver check that what it remembered still stands. */
  entryOf(accessKeyId: string): IdentityEntry | undefined {
    return this.entries.get(accessKeyId);
  }

  /** Evicts keys expired beyond the grace period; returns the evicted keys of learned sessions. */
  sweep(nowMs: number = Date.now()): { evicted: number; learnedKeys: string[] } {
    const limitSeconds = (nowMs - this.graceMs) / 1000;
    const learnedKeys: string[] = [];
    let evicted = 0;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAtSeconds !== 0 && entry.expiresAtSeconds < limitSeconds) {
        this.entries.delete(key);
        evicted++;
        if (entry.learned) learnedKeys.push(key);
      }
    }
    return { evicted, learnedKeys };
  }

  private toEntry(identity: Identity): IdentityEntry {
    const i = (value: string | null) => this.intern(value);
    const expiresAtSeconds = identity.expiresAt === null ? 0 : Math.ceil(identity.expiresAt / 1000);
    const principalType = i(identity.principalType)!;
    const accountId = i(identity.accountId);
    const userName = i(identity.userName);
    const source = i(identity.source)!;
    const s = identity.session;
    if (s === null) return new IdentityEntry(principalType, identity.principalArn, identity.principalId, accountId, userName, source, expiresAtSeconds);
    const stored = SessionEntry.stored(identity.principalArn, identity.principalId, s.sessionName, s.mfaAuthenticated, (value) => this.shared(value));
    return new SessionEntry(
      principalType,
      identity.principalArn,
      stored.principalId,
      accountId,
      userName,
      source,
      expiresAtSeconds,
      this.originOf(s),
      stored.sessionName,
      // The session's ARN is usually the principal's: share the string.
      s.sessionArn !== null && s.sessionArn === identity.principalArn ? identity.principalArn : s.sessionArn,
      i(s.sourceIdentity),
      stored.flags,
    );
  }

  private originOf(s: StsSession): SessionOrigin {
    const key = `${s.issuedBy}\u0000${s.roleArn}\u0000${s.callerType}\u0000${s.callerArn}\u0000${s.callerPrincipalId}\u0000${s.callerAccountId}\u0000${s.callerUserName}\u0000${s.callerAccessKeyId}`;
    const known = this.origins.get(key);
    if (known !== undefined) return known;
    const i = (value: string | null) => this.intern(value);
    const origin = new SessionOrigin(i(s.issuedBy)!, i(s.roleArn), i(s.callerType), i(s.callerArn), i(s.callerPrincipalId), i(s.callerAccountId), i(s.callerUserName), i(s.callerAccessKeyId));
    if (this.origins.size < this.maxInterned) this.origins.set(key, origin);
    return origin;
  }

  /**
   * The one shared copy of a string cut from a longer one, or undefined when no more strings are
   * interned. The copy is made afresh: V8 keeps a slice of a string as a view that holds the whole
   * original alive, which would cost more than it saves.
   */
  private shared(value: string): string | undefined {
    const known = this.interned.get(value);
    if (known !== undefined) return known;
    if (this.interned.size >= this.maxInterned) return undefined;
    const copy = Buffer.from(value, 'utf8').toString('utf8');
    this.interned.set(copy, copy);
    return copy;
  }

  /** One copy of strings that many keys share (an account id, a role ARN, the user who assumes roles all day). */
  private intern(value: string | null): string | null {
    if (value === null) return null;
    const known = this.interned.get(value);
    if (known !== undefined) return known;
    if (this.interned.size < this.maxInterned) this.interned.set(value, value);
    return value;
  }
}
