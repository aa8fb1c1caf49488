import type { Identity, StsSession } from '@opentrail/serde';

/**
 * The identities table: access key id → the principal behind it, read from the compacted identities
 * topic (teams' IAM inventory and the STS sessions every enricher learns) and kept in memory by
 * every instance.
 *
 * A million keys must fit, with the rest of the process, in 512 MB of RSS, so the table is not a
 * Map of objects (about 290 bytes a key) but columns (README, "Identities table layout"):
 *
 * - a slot per key; per slot, typed-array columns hold the key's hash, its place in write order
 *   (a doubly linked list: capacity eviction drops the head, the key written longest ago), a write
 *   stamp, the expiry in seconds, flags, and the ids of the strings many keys share (type, account,
 *   source, source identity, ARN prefix up to the last `/`, a session's principal-id prefix (the
 *   role id) and its origin: STS API, role and caller), interned once;
 * - one JS string per slot (`records`) holds the key and the strings that are the key's own
 *   (the ARN's last segment, an IAM user's principal id, a name that is not that segment, ...),
 *   each prefixed with its length;
 * - the key → slot index is an open-addressing hash table (linear probing, backward-shift
 *   deletion) in an Int32Array, compared against the key at the start of the record.
 *
 * About 150 bytes a key (bench/enricher.bench.ts). Entries are materialised as IdentityEntry objects
 * only when asked for (a resolver asks once per key and keeps its answer while the key's stamp
 * stays the same: stampOf is the cheap check).
 */
export class IdentityEntry {
  constructor(
    readonly principalType: string,
    readonly principalArn: string | null,
    readonly principalId: string | null,
    readonly accountId: string | null,
    readonly userName: string | null,
    /** inventory, or sts:<API> for a learned session */
    readonly source: string,
    /** Seconds since the epoch; 0 when the key does not expire. */
    readonly expiresAtSeconds: number,
    /** Changes whenever the key is written: two entries of a key with one stamp are the same facts. */
    readonly stamp: number,
  ) {}

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

/** A key of temporary credentials: how it was obtained, and by whom. */
export class SessionEntry extends IdentityEntry {
  constructor(
    principalType: string,
    principalArn: string | null,
    principalId: string | null,
    accountId: string | null,
    userName: string | null,
    source: string,
    expiresAtSeconds: number,
    stamp: number,
    readonly origin: SessionOrigin,
    readonly sessionName: string | null,
    readonly sessionArn: string | null,
    readonly sourceIdentity: string | null,
    readonly mfaAuthenticated: boolean | null,
  ) {
    super(principalType, principalArn, principalId, accountId, userName, source, expiresAtSeconds, stamp);
  }
}

export type LookupResult = IdentityEntry | 'expired' | undefined;

export interface IdentityTableOptions {
  /** @default 2000000 */
  maxEntries?: number;
  /** @default 3600 */
  expiryGraceSeconds?: number;
  /** Distinct shared strings (and session origins) interned at most; beyond it they are kept in the key's record. @default 200000 */
  maxInterned?: number;
}

// String references in the columns: an interned string's id (>= 0), or one of these.
const NULL = -1;
/** The string is the next one in the key's record. */
const OWN = -2;

// flags
const MFA_TRUE = 1;
const MFA_FALSE = 2;
const SESSION = 4;
/** The principal id is `<interned prefix>:<session name>` (AROA…:<name>), the prefix shared by the role's sessions. */
const ID_FROM_NAME = 16;
/** The source is sts:<API>: the sweep publishes a tombstone when it evicts the key. */
const LEARNED = 32;
/**
 * Strings that are never interned (they are a key's own) need no column: two bits of the flags
 * say where each is: null, OWN (in the record) or derived (the ARN's last segment; for the
 * session ARN, the principal's ARN).
 */
const USER_NAME_SHIFT = 6;
const SESSION_NAME_SHIFT = 8;
const SESSION_ARN_SHIFT = 10;
const IN_RECORD = 1;
const DERIVED = 2;
const MODE_MASK = 3;

const NONE = -1;
const INITIAL_SLOTS = 1024;

/** FNV-1a over the UTF-16 code units. */
function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** Length-prefixed (two chars of 8 bits each, so that latin1 text stays a one-byte string). */
function field(value: string): string {
  return String.fromCharCode((value.length >>> 8) & 0xff, value.length & 0xff) + value;
}

const MAX_FIELD = 0xffff;

function fitsRecord(key: string, identity: Identity): boolean {
  if (key.length > MAX_FIELD) return false;
  for (const value of Object.values(identity)) if (typeof value === 'string' && value.length > MAX_FIELD) return false;
  if (identity.session !== null) for (const value of Object.values(identity.session)) if (typeof value === 'string' && value.length > MAX_FIELD) return false;
  return true;
}

export class IdentityTable {
  private readonly maxEntries: number;
  private readonly graceMs: number;
  private readonly maxInterned: number;

  // Interned strings and session origins, by id.
  private readonly strings: string[] = [];
  private readonly stringIds = new Map<string, number>();
  private readonly origins: SessionOrigin[] = [];
  private readonly originIds = new Map<string, number>();
  /** Origins of sessions past the interning limit, by slot. */
  private readonly ownOrigins = new Map<number, SessionOrigin>();

  // Key → slot: open addressing; a bucket holds slot + 1, 0 when empty.
  private buckets = new Int32Array(INITIAL_SLOTS * 2);

  // Slots: `used` have ever been handed out; freed ones are chained through `next` from `free`.
  private capacity = INITIAL_SLOTS;
  private used = 0;
  private free = NONE;
  private count = 0;
  private head = NONE;
  private tail = NONE;
  private writes = 0;

  private records: (string | undefined)[] = [];
  private hashes = new Int32Array(INITIAL_SLOTS);
  private prev = new Int32Array(INITIAL_SLOTS);
  private next = new Int32Array(INITIAL_SLOTS);
  /** Write stamps: 1, 2, … (wrapping at 2^32, never 0). */
  private stamps = new Uint32Array(INITIAL_SLOTS);
  /** Seconds since the epoch (up to 2106), 0: does not expire. */
  private expires = new Uint32Array(INITIAL_SLOTS);
  private flags = new Uint16Array(INITIAL_SLOTS);
  private types = new Int32Array(INITIAL_SLOTS);
  private accounts = new Int32Array(INITIAL_SLOTS);
  private sources = new Int32Array(INITIAL_SLOTS);
  private arnPrefixes = new Int32Array(INITIAL_SLOTS);
  private idPrefixes = new Int32Array(INITIAL_SLOTS);
  private sourceIdentities = new Int32Array(INITIAL_SLOTS);
  private originRefs = new Int32Array(INITIAL_SLOTS);

  /** Entries dropped because the table was full, since start. */
  evictedForCapacity = 0;

  constructor(options: IdentityTableOptions = {}) {
    this.maxEntries = options.maxEntries ?? 2_000_000;
    this.graceMs = (options.expiryGraceSeconds ?? 3600) * 1000;
    this.maxInterned = options.maxInterned ?? 200_000;
  }

  get size(): number {
    return this.count;
  }

  /**
   * Applies one record of the identities topic: a value replaces what the table knew about the key,
   * a tombstone (null) forgets it. A key already expired beyond the grace period is not stored.
   * Returns whether the table now holds the key.
   */
  apply(accessKeyId: string, identity: Identity | null, nowMs: number = Date.now()): boolean {
    // Remove first so that the write order stays the order keys were last written: capacity
    // eviction then drops the entry known longest.
    const known = this.find(accessKeyId);
    if (known !== NONE) this.remove(known);
    if (identity === null) return false;
    if (identity.expiresAt !== null && identity.expiresAt + this.graceMs < nowMs) return false;
    // A record's strings carry 16-bit lengths; no real key or ARN comes near that.
    if (!fitsRecord(accessKeyId, identity)) return false;
    if (this.count >= this.maxEntries && this.head !== NONE) {
      this.remove(this.head);
      this.evictedForCapacity++;
    }
    this.insert(accessKeyId, identity);
    return true;
  }

  /** The entry of a key as of `atMs` (the event's time): 'expired' when the key had expired by then. */
  lookup(accessKeyId: string, atMs: number): LookupResult {
    const slot = this.find(accessKeyId);
    if (slot === NONE) return undefined;
    if (this.expiredAt(slot, atMs)) return 'expired';
    return this.entryAt(slot);
  }

  /** The entry of a key whatever its expiry: lets a resolver check that what it remembered still stands. */
  entryOf(accessKeyId: string): IdentityEntry | undefined {
    const slot = this.find(accessKeyId);
    return slot === NONE ? undefined : this.entryAt(slot);
  }

  /** The write stamp of a key (IdentityEntry.stamp), 0 when the table does not hold it: no entry is built. */
  stampOf(accessKeyId: string): number {
    const slot = this.find(accessKeyId);
    return slot === NONE ? 0 : this.stamps[slot]!;
  }

  /**
   * What lookup says without building the entry: undefined, 'expired', or the key's stamp; the
   * entry with that stamp is entryOf(key) (a resolver that remembers it needs no new one).
   */
  probe(accessKeyId: string, atMs: number): number | 'expired' | undefined {
    const slot = this.find(accessKeyId);
    if (slot === NONE) return undefined;
    return this.expiredAt(slot, atMs) ? 'expired' : this.stamps[slot]!;
  }

  /** Evicts keys expired beyond the grace period; returns the evicted keys of learned sessions. */
  sweep(nowMs: number = Date.now()): { evicted: number; learnedKeys: string[] } {
    const limitSeconds = (nowMs - this.graceMs) / 1000;
    const learnedKeys: string[] = [];
    let evicted = 0;
    for (let slot = this.head; slot !== NONE; ) {
      const following = this.next[slot]!;
      const expires = this.expires[slot]!;
      if (expires !== 0 && expires < limitSeconds) {
        if ((this.flags[slot]! & LEARNED) !== 0) learnedKeys.push(this.keyAt(slot));
        this.remove(slot);
        evicted++;
      }
      slot = following;
    }
    return { evicted, learnedKeys };
  }

  private expiredAt(slot: number, atMs: number): boolean {
    const expires = this.expires[slot]!;
    return expires !== 0 && expires * 1000 < atMs;
  }

  // --- the index ---

  private find(key: string): number {
    const hash = hashOf(key);
    const mask = this.buckets.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const b = this.buckets[i]!;
      if (b === 0) return NONE;
      const slot = b - 1;
      if (this.hashes[slot] === hash && this.keyIs(slot, key)) return slot;
    }
  }

  private keyIs(slot: number, key: string): boolean {
    const record = this.records[slot]!;
    return record.charCodeAt(0) === ((key.length >>> 8) & 0xff) && record.charCodeAt(1) === (key.length & 0xff) && record.startsWith(key, 2);
  }

  private keyAt(slot: number): string {
    const record = this.records[slot]!;
    return record.slice(2, 2 + ((record.charCodeAt(0) << 8) | record.charCodeAt(1)));
  }

  private index(slot: number): void {
    const mask = this.buckets.length - 1;
    let i = this.hashes[slot]! & mask;
    while (this.buckets[i] !== 0) i = (i + 1) & mask;
    this.buckets[i] = slot + 1;
  }

  private unindex(slot: number): void {
    const buckets = this.buckets;
    const mask = buckets.length - 1;
    let i = this.hashes[slot]! & mask;
    while (buckets[i] !== slot + 1) i = (i + 1) & mask;
    // Backward shift: move up every later bucket of the run that may sit at i, so probes still find them.
    for (let j = (i + 1) & mask; buckets[j] !== 0; j = (j + 1) & mask) {
      const home = this.hashes[buckets[j]! - 1]! & mask;
      // Movable when its home is not within (i, j] going round.
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        buckets[i] = buckets[j]!;
        i = j;
      }
    }
    buckets[i] = 0;
  }

  // --- slots ---

  private allocate(): number {
    if (this.free !== NONE) {
      const slot = this.free;
      this.free = this.next[slot]!;
      return slot;
    }
    if (this.used === this.capacity) this.grow();
    return this.used++;
  }

  private grow(): void {
    const n = this.capacity * 2;
    const more = <T extends Int32Array | Uint32Array | Uint16Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(n);
      b.set(a);
      return b;
    };
    this.hashes = more(this.hashes);
    this.prev = more(this.prev);
    this.next = more(this.next);
    this.stamps = more(this.stamps);
    this.expires = more(this.expires);
    this.flags = more(this.flags);
    this.types = more(this.types);
    this.accounts = more(this.accounts);
    this.sources = more(this.sources);
    this.arnPrefixes = more(this.arnPrefixes);
    this.idPrefixes = more(this.idPrefixes);
    this.sourceIdentities = more(this.sourceIdentities);
    this.originRefs = more(this.originRefs);
    this.capacity = n;
    // The index stays at most half full.
    this.buckets = new Int32Array(n * 2);
    for (let slot = this.head; slot !== NONE; slot = this.next[slot]!) this.index(slot);
  }

  private remove(slot: number): void {
    this.unindex(slot);
    const p = this.prev[slot]!;
    const n = this.next[slot]!;
    if (p === NONE) this.head = n;
    else this.next[p] = n;
    if (n === NONE) this.tail = p;
    else this.prev[n] = p;
    this.records[slot] = undefined;
    if (this.originRefs[slot] === OWN) this.ownOrigins.delete(slot);
    this.next[slot] = this.free;
    this.free = slot;
    this.count--;
  }

  private insert(key: string, identity: Identity): void {
    const slot = this.allocate();
    const own: string[] = [field(key)];
    // The order of the OWN strings in the record is the order of the fields here, as entryAt reads them.
    const ref = (value: string | null, share: boolean): number => {
      if (value === null) return NULL;
      if (share) {
        const id = this.intern(value);
        if (id !== NONE) return id;
      }
      own.push(field(value));
      return OWN;
    };
    const s = identity.session;
    const arn = identity.principalArn;
    const slash = arn === null ? -1 : arn.lastIndexOf('/');
    const arnTail = arn !== null && slash >= 0 ? arn.slice(slash + 1) : null;
    let flags = identity.source.startsWith('sts:') ? LEARNED : 0;

    this.types[slot] = ref(identity.principalType, true);
    this.accounts[slot] = ref(identity.accountId, true);
    this.sources[slot] = ref(identity.source, true);
    // The ARN: its prefix up to the last slash shared (…:user/, …:assumed-role/Admin/), the rest its own.
    let arnPrefix = arn === null ? NULL : OWN;
    if (arn !== null && slash >= 0) {
      const id = this.intern(arn.slice(0, slash + 1));
      if (id !== NONE) arnPrefix = id;
    }
    this.arnPrefixes[slot] = arnPrefix;
    if (arnPrefix === OWN) own.push(field(arn!));
    else if (arnPrefix !== NULL) own.push(field(arnTail!));
    // A name: null, the ARN's last segment, or kept in the record.
    const nameMode = (value: string | null): number => {
      if (value === null) return 0;
      if (arnPrefix >= 0 && value === arnTail) return DERIVED;
      own.push(field(value));
      return IN_RECORD;
    };
    flags |= nameMode(identity.userName) << USER_NAME_SHIFT;
    // A session's principal id is usually the role id (shared by the role's sessions), ':' and the session name.
    const sessionName = s?.sessionName ?? null;
    const id = identity.principalId;
    let idPrefix: number | undefined;
    if (s !== null && id !== null && sessionName !== null && sessionName !== '' && id.length > sessionName.length + 1 && id.endsWith(sessionName) && id.charCodeAt(id.length - sessionName.length - 1) === 0x3a) {
      const prefix = this.intern(id.slice(0, id.length - sessionName.length - 1));
      if (prefix !== NONE) {
        idPrefix = prefix;
        flags |= ID_FROM_NAME;
      }
    }
    this.idPrefixes[slot] = idPrefix ?? ref(id, false);

    if (s === null) {
      this.sourceIdentities[slot] = NULL;
      this.originRefs[slot] = NULL;
    } else {
      flags |= SESSION | (s.mfaAuthenticated === true ? MFA_TRUE : s.mfaAuthenticated === false ? MFA_FALSE : 0);
      flags |= nameMode(sessionName) << SESSION_NAME_SHIFT;
      if (s.sessionArn !== null && s.sessionArn === arn) flags |= DERIVED << SESSION_ARN_SHIFT;
      else if (s.sessionArn !== null) {
        own.push(field(s.sessionArn));
        flags |= IN_RECORD << SESSION_ARN_SHIFT;
      }
      this.sourceIdentities[slot] = ref(s.sourceIdentity, true);
      const origin = this.originOf(s);
      if (origin !== NONE) this.originRefs[slot] = origin;
      else {
        this.originRefs[slot] = OWN;
        this.ownOrigins.set(slot, this.newOrigin(s));
      }
    }
    this.flags[slot] = flags;
    // Whole seconds rounded up (never earlier than the recorded expiry), within the column's range.
    this.expires[slot] = identity.expiresAt === null ? 0 : Math.min(Math.max(Math.ceil(identity.expiresAt / 1000), 1), 0xffff_ffff);
    this.writes = this.writes === 0xffff_ffff ? 1 : this.writes + 1;
    this.stamps[slot] = this.writes;
    this.records[slot] = own.join('');
    this.hashes[slot] = hashOf(key);
    this.index(slot);
    // Append to the write order.
    this.prev[slot] = this.tail;
    this.next[slot] = NONE;
    if (this.tail === NONE) this.head = slot;
    else this.next[this.tail] = slot;
    this.tail = slot;
    this.count++;
  }

  /** Builds the entry of a slot, reading the record's OWN strings in the order insert wrote them. */
  private entryAt(slot: number): IdentityEntry {
    const record = this.records[slot]!;
    let pos = 2 + ((record.charCodeAt(0) << 8) | record.charCodeAt(1));
    const nextOwn = (): string => {
      const length = (record.charCodeAt(pos) << 8) | record.charCodeAt(pos + 1);
      const value = record.slice(pos + 2, pos + 2 + length);
      pos += 2 + length;
      return value;
    };
    const str = (r: number): string | null => (r === NULL ? null : r === OWN ? nextOwn() : this.strings[r]!);
    const flags = this.flags[slot]!;
    const principalType = str(this.types[slot]!) ?? '';
    const accountId = str(this.accounts[slot]!);
    const source = str(this.sources[slot]!) ?? '';
    const arnPrefix = this.arnPrefixes[slot]!;
    let principalArn: string | null = null;
    let arnTail: string | null = null;
    if (arnPrefix === OWN) principalArn = nextOwn();
    else if (arnPrefix !== NULL) {
      arnTail = nextOwn();
      principalArn = this.strings[arnPrefix]! + arnTail;
    }
    const name = (shift: number): string | null => {
      const mode = (flags >>> shift) & MODE_MASK;
      return mode === 0 ? null : mode === DERIVED ? arnTail : nextOwn();
    };
    const userName = name(USER_NAME_SHIFT);
    const idRef = this.idPrefixes[slot]!;
    // With ID_FROM_NAME, the id is completed once the session name is known.
    const idPart = (flags & ID_FROM_NAME) !== 0 ? this.strings[idRef]! : str(idRef);
    const expiresAtSeconds = this.expires[slot]!;
    const stamp = this.stamps[slot]!;
    if ((flags & SESSION) === 0) return new IdentityEntry(principalType, principalArn, idPart, accountId, userName, source, expiresAtSeconds, stamp);
    const sessionName = name(SESSION_NAME_SHIFT);
    const principalId = (flags & ID_FROM_NAME) !== 0 ? `${idPart}:${sessionName}` : idPart;
    const arnMode = (flags >>> SESSION_ARN_SHIFT) & MODE_MASK;
    const sessionArn = arnMode === 0 ? null : arnMode === DERIVED ? principalArn : nextOwn();
    const sourceIdentity = str(this.sourceIdentities[slot]!);
    const originRef = this.originRefs[slot]!;
    const origin = originRef === OWN ? this.ownOrigins.get(slot)! : this.origins[originRef]!;
    const mfa = flags & MFA_TRUE ? true : flags & MFA_FALSE ? false : null;
    return new SessionEntry(principalType, principalArn, principalId, accountId, userName, source, expiresAtSeconds, stamp, origin, sessionName, sessionArn, sourceIdentity, mfa);
  }

  private originOf(s: StsSession): number {
    const key = `${s.issuedBy}\u0000${s.roleArn}\u0000${s.callerType}\u0000${s.callerArn}\u0000${s.callerPrincipalId}\u0000${s.callerAccountId}\u0000${s.callerUserName}\u0000${s.callerAccessKeyId}`;
    const known = this.originIds.get(key);
    if (known !== undefined) return known;
    if (this.origins.length >= this.maxInterned) return NONE;
    const id = this.origins.length;
    this.origins.push(this.newOrigin(s));
    this.originIds.set(key, id);
    return id;
  }

  private newOrigin(s: StsSession): SessionOrigin {
    const i = (value: string | null) => (value === null ? null : this.shared(value));
    return new SessionOrigin(i(s.issuedBy)!, i(s.roleArn), i(s.callerType), i(s.callerArn), i(s.callerPrincipalId), i(s.callerAccountId), i(s.callerUserName), i(s.callerAccessKeyId));
  }

  /** The interned copy of a string if there is one (or room for one), else the string itself. */
  private shared(value: string): string {
    const id = this.intern(value);
    return id === NONE ? value : this.strings[id]!;
  }

  /**
   * The id of the one copy of a string that many keys share (an account id, a role ARN, an ARN
   * prefix), or NONE when no more strings are interned. The copy is made afresh: V8 keeps a slice
   * of a string as a view that holds the whole original (here: a decoded Avro value) alive.
   */
  private intern(value: string): number {
    const known = this.stringIds.get(value);
    if (known !== undefined) return known;
    if (this.strings.length >= this.maxInterned) return NONE;
    const copy = value.length >= 13 ? Buffer.from(value, 'utf8').toString('utf8') : value;
    const id = this.strings.length;
    this.strings.push(copy);
    this.stringIds.set(copy, id);
    return id;
  }
}
