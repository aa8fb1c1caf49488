import { randomUUID } from 'node:crypto';
import {
  DEFAULT_RETENTION_DAYS,
  BILLING_MODES,
  describeEventDataStore,
  eventDataStoreArn,
  eventDataStoreSchema,
  EVENT_DATA_STORE_ID,
  EVENT_DATA_STORE_NAME,
  MAX_RETENTION_DAYS,
  MIN_RETENTION_DAYS,
  parseEventDataStoreArn,
  type EventDataStoreCatalog,
  type EventDataStoreDefinition,
  type EventDataStoreInput,
  type EventDataStoreRecord,
  type EventDataStoreStore,
} from '@opentrail/lake';
import { ApiError } from './errors.js';
import type { Caller } from './operations.js';
import { advancedSelectorsInput, checkKmsKeyId, member, optionalBoolean, optionalList, optionalString, tagsOf } from './trailRequests.js';
import type { TrailResources } from './trailResources.js';

/**
 * CloudTrail Lake's event data store operations (botocore's CloudTrail model: CreateEventDataStore,
 * GetEventDataStore, ListEventDataStores, UpdateEventDataStore, DeleteEventDataStore,
 * RestoreEventDataStore, Start/StopEventDataStoreIngestion) over the store catalog, which the lake
 * service follows: a store made here starts taking events at once. Selectors are the trails' engine
 * (packages/trails), checked with the event data store rules; errors are CloudTrail's codes.
 */

export interface EventDataStoreOperationsOptions {
  store: EventDataStoreStore;
  resources?: TrailResources;
  organizationId?: string;
  /** CloudTrail: 10 event data stores per region. */
  maxStoresPerRegion: number;
  now: () => number;
}

/** CloudTrail's quota on tags per resource. */
const MAX_TAGS = 50;
const LIST_DEFAULT_PAGE = 100;

function storeName(value: string): string {
  if (!EVENT_DATA_STORE_NAME.test(value)) throw new ApiError('InvalidParameterException', `Event data store name is not valid: it must be 3 to 128 ASCII letters, digits, ".", "_" or "-".`);
  return value;
}

function retention(input: Record<string, unknown>): number | undefined {
  const value = member(input, 'RetentionPeriod');
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new ApiError('SerializationException', 'RetentionPeriod must be an integer');
  if (value < MIN_RETENTION_DAYS || value > MAX_RETENTION_DAYS) throw new ApiError('InvalidParameterException', `RetentionPeriod must be between ${MIN_RETENTION_DAYS} and ${MAX_RETENTION_DAYS} days.`);
  return value;
}

function billingMode(input: Record<string, unknown>): EventDataStoreDefinition['billingMode'] | undefined {
  const value = optionalString(input, 'BillingMode');
  if (value === undefined) return undefined;
  if (!(BILLING_MODES as readonly string[]).includes(value)) throw new ApiError('InvalidParameterException', `BillingMode must be one of ${BILLING_MODES.join(', ')}.`);
  return value as EventDataStoreDefinition['billingMode'];
}

/** The schema's verdict on a complete definition, as CloudTrail's error code for the member at fault. */
function validStore(candidate: EventDataStoreInput): EventDataStoreDefinition {
  const parsed = eventDataStoreSchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const code = issue.path[0] === 'advancedEventSelectors' ? 'InvalidEventSelectorsException' : issue.path[0] === 'kmsKeyId' ? 'InvalidKmsKeyIdException' : 'InvalidParameterException';
  throw new ApiError(code, `${issue.path.join('.')}: ${issue.message}`.slice(0, 1000));
}

const encodeToken = (id: string) => Buffer.from(`eds:${id}`, 'utf8').toString('base64url');
function decodeToken(token: string): string {
  const text = /^[A-Za-z0-9_-]{4,1000}$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  const id = text.startsWith('eds:') ? text.slice(4) : '';
  if (!EVENT_DATA_STORE_ID.test(id)) throw new ApiError('InvalidNextTokenException', 'The NextToken is not valid.');
  return id;
}

/**
 * The caller's store an `EventDataStore` member names: an ARN, or the ID part of it (as every Lake
 * operation accepts). Another account's or region's store is not found, as in CloudTrail.
 */
export function callerStore(catalog: EventDataStoreCatalog, ref: string, caller: Caller): EventDataStoreRecord {
  let id: string;
  if (ref.startsWith('arn:')) {
    const parts = parseEventDataStoreArn(ref);
    if (!parts) throw new ApiError('EventDataStoreARNInvalidException', `The event data store ARN ${ref.slice(0, 300)} is not valid.`);
    id = parts.id;
  } else if (EVENT_DATA_STORE_ID.test(ref)) id = ref;
  else throw new ApiError('EventDataStoreARNInvalidException', `The event data store ARN or ID ${ref.slice(0, 300)} is not valid.`);
  const record = catalog.get(id);
  if (!record || record.definition.accountId !== caller.accountId || record.definition.homeRegion !== caller.region) {
    throw new ApiError('EventDataStoreNotFoundException', `The event data store ${ref.slice(0, 300)} was not found.`);
  }
  return record;
}

export class EventDataStoreOperations {
  /** Changes run one at a time, so check-then-write (names, quota, status) holds within this instance. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: EventDataStoreOperationsOptions) {}

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The caller's stores in its region (Lake's stores are regional resources of one account). */
  private mine(caller: Caller): EventDataStoreRecord[] {
    return this.o.store.all().filter((r) => r.definition.accountId === caller.accountId && r.definition.homeRegion === caller.region);
  }

  /** The store `EventDataStore` names (callerStore). */
  private require(input: Record<string, unknown>, caller: Caller): EventDataStoreRecord {
    const ref = optionalString(input, 'EventDataStore');
    if (ref === undefined || ref === '') throw new ApiError('InvalidParameterException', 'EventDataStore is required.');
    return callerStore(this.o.store, ref, caller);
  }

  private change(input: Record<string, unknown>, caller: Caller, apply: (record: EventDataStoreRecord) => Promise<EventDataStoreRecord> | EventDataStoreRecord): Promise<EventDataStoreRecord> {
    this.require(input, caller);
    return this.exclusive(async () => {
      const record = this.require(input, caller);
      const next = await apply(record);
      if (next !== record) await this.o.store.put({ ...next, updatedAt: this.o.now() });
      return this.o.store.get(record.definition.id) ?? next;
    });
  }

  private async kmsKey(input: Record<string, unknown>): Promise<string | undefined> {
    const kmsKeyId = optionalString(input, 'KmsKeyId');
    if (kmsKeyId === undefined || kmsKeyId === '') return undefined;
    checkKmsKeyId(kmsKeyId);
    return (await this.o.resources?.resolveKmsKey(kmsKeyId)) ?? kmsKeyId;
  }

  private organization(input: Record<string, unknown>): boolean | undefined {
    const organization = optionalBoolean(input, 'OrganizationEnabled');
    if (organization && !this.o.organizationId) throw new ApiError('OrganizationsNotInUseException', 'This account is not a member of an organization (opentrail: no api.organizationId is configured).');
    return organization;
  }

  async createEventDataStore(input: Record<string, unknown>, caller: Caller) {
    const name = optionalString(input, 'Name');
    if (name === undefined || name === '') throw new ApiError('InvalidParameterException', 'Name is required.');
    storeName(name);
    const selectors = optionalList(input, 'AdvancedEventSelectors');
    const organization = this.organization(input) ?? false;
    const mode = billingMode(input) ?? 'EXTENDABLE_RETENTION_PRICING';
    const days = retention(input) ?? DEFAULT_RETENTION_DAYS[mode];
    const tags = tagsOf(optionalList(input, 'TagsList') ?? []);
    if (tags.length > MAX_TAGS) throw new ApiError('InvalidTagParameterException', `The number of tags per event data store has exceeded the permitted amount. Currently, the limit is ${MAX_TAGS}.`);
    const startIngestion = optionalBoolean(input, 'StartIngestion') ?? true;
    const candidate: EventDataStoreInput = {
      id: randomUUID(),
      name,
      accountId: caller.accountId,
      homeRegion: caller.region,
      ...(selectors ? { advancedEventSelectors: advancedSelectorsInput(selectors) } : {}),
      multiRegionEnabled: optionalBoolean(input, 'MultiRegionEnabled') ?? true,
      ...(organization ? { organizationId: this.o.organizationId } : {}),
      retentionPeriodDays: days,
      terminationProtectionEnabled: optionalBoolean(input, 'TerminationProtectionEnabled') ?? true,
      billingMode: mode,
    };
    validStore(candidate);
    return this.exclusive(async () => {
      const mine = this.mine(caller);
      if (mine.some((r) => r.definition.name === name)) throw new ApiError('EventDataStoreAlreadyExistsException', `An event data store named ${name} already exists.`);
      if (mine.filter((r) => r.status !== 'PENDING_DELETION').length >= this.o.maxStoresPerRegion) {
        throw new ApiError('EventDataStoreMaxLimitExceededException', `Your account has ${this.o.maxStoresPerRegion} event data stores in ${caller.region}, the maximum.`);
      }
      const kmsKeyId = await this.kmsKey(input);
      const definition = validStore({ ...candidate, ...(kmsKeyId ? { kmsKeyId } : {}) });
      const now = this.o.now();
      const record: EventDataStoreRecord = { definition, status: startIngestion ? 'ENABLED' : 'STOPPED_INGESTION', tags, createdAt: now, updatedAt: now };
      await this.o.store.put(record);
      const { Status, ...rest } = describeEventDataStore(record);
      // CloudTrail answers a new store with status CREATED (ingestion starts right after) and its tags.
      return { ...rest, Status: startIngestion ? 'CREATED' : Status, TagsList: tags.map((t) => ({ Key: t.key, ...(t.value !== undefined ? { Value: t.value } : {}) })) };
    });
  }

  getEventDataStore(input: Record<string, unknown>, caller: Caller) {
    // Federation (Glue/Lake Formation) does not exist here: the store's own SQL is the way in.
    return { ...describeEventDataStore(this.require(input, caller)), FederationStatus: 'DISABLED' };
  }

  listEventDataStores(input: Record<string, unknown>, caller: Caller) {
    const max = member(input, 'MaxResults');
    if (max !== undefined && max !== null && (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 1000)) throw new ApiError('InvalidMaxResultsException', 'MaxResults must be an integer from 1 to 1000.');
    const size = typeof max === 'number' ? max : LIST_DEFAULT_PAGE;
    const token = optionalString(input, 'NextToken');
    const after = token === undefined ? undefined : decodeToken(token);
    const all = this.mine(caller).filter((r) => after === undefined || r.definition.id > after);
    const page = all.slice(0, size);
    return {
      // botocore marks every other member deprecated: "no longer returned by ListEventDataStores".
      EventDataStores: page.map((r) => ({ EventDataStoreArn: eventDataStoreArn(r.definition), Name: r.definition.name })),
      ...(all.length > size ? { NextToken: encodeToken(page[page.length - 1]!.definition.id) } : {}),
    };
  }

  async updateEventDataStore(input: Record<string, unknown>, caller: Caller) {
    const name = optionalString(input, 'Name');
    if (name !== undefined) storeName(name);
    const selectors = optionalList(input, 'AdvancedEventSelectors');
    const organization = this.organization(input);
    const mode = billingMode(input);
    const days = retention(input);
    const multiRegion = optionalBoolean(input, 'MultiRegionEnabled');
    const protection = optionalBoolean(input, 'TerminationProtectionEnabled');
    const next = await this.change(input, caller, async (record) => {
      if (record.status === 'PENDING_DELETION') throw new ApiError('InactiveEventDataStoreException', `The event data store ${eventDataStoreArn(record.definition)} is pending deletion.`);
      const old = record.definition;
      if (name !== undefined && name !== old.name && this.mine(caller).some((r) => r.definition.name === name)) throw new ApiError('EventDataStoreAlreadyExistsException', `An event data store named ${name} already exists.`);
      // CloudTrail lets a store move from the fixed seven-year plan to extendable pricing, not back.
      if (mode === 'FIXED_RETENTION_PRICING' && old.billingMode === 'EXTENDABLE_RETENTION_PRICING') throw new ApiError('InvalidParameterException', 'The billing mode cannot be changed from EXTENDABLE_RETENTION_PRICING to FIXED_RETENTION_PRICING.');
      const kmsKeyId = await this.kmsKey(input);
      if (old.kmsKeyId !== undefined && kmsKeyId !== undefined && kmsKeyId !== old.kmsKeyId) throw new ApiError('InvalidParameterException', 'The KMS key of an event data store cannot be changed once set.');
      const candidate: EventDataStoreInput = { ...old };
      if (name !== undefined) candidate.name = name;
      if (selectors) candidate.advancedEventSelectors = advancedSelectorsInput(selectors);
      if (multiRegion !== undefined) candidate.multiRegionEnabled = multiRegion;
      if (organization !== undefined) {
        if (organization) candidate.organizationId = this.o.organizationId!;
        else delete candidate.organizationId;
      }
      if (mode !== undefined) candidate.billingMode = mode;
      if (days !== undefined) candidate.retentionPeriodDays = days;
      if (protection !== undefined) candidate.terminationProtectionEnabled = protection;
      if (kmsKeyId !== undefined) candidate.kmsKeyId = kmsKeyId;
      return { ...record, definition: validStore(candidate) };
    });
    return describeEventDataStore(next);
  }

  async deleteEventDataStore(input: Record<string, unknown>, caller: Caller) {
    await this.change(input, caller, (record) => {
      if (record.status === 'PENDING_DELETION') throw new ApiError('InactiveEventDataStoreException', `The event data store ${eventDataStoreArn(record.definition)} is already pending deletion.`);
      if (record.definition.terminationProtectionEnabled) throw new ApiError('EventDataStoreTerminationProtectedException', `The event data store ${eventDataStoreArn(record.definition)} cannot be deleted because termination protection is enabled for it.`);
      return { ...record, status: 'PENDING_DELETION', deletedAt: this.o.now() };
    });
    return {};
  }

  async restoreEventDataStore(input: Record<string, unknown>, caller: Caller) {
    const next = await this.change(input, caller, (record) => {
      if (record.status !== 'PENDING_DELETION') throw new ApiError('InvalidEventDataStoreStatusException', `The event data store ${eventDataStoreArn(record.definition)} is ${record.status}, not PENDING_DELETION.`);
      const { deletedAt: _deleted, ...rest } = record;
      return { ...rest, status: 'ENABLED' };
    });
    return describeEventDataStore(next);
  }

  // ---- Tags (AddTags, RemoveTags, ListTags name a store by its ARN, as a trail) ----

  /** Whether a ResourceId names an event data store (its ARN form); anything else is a trail's business. */
  static names(resourceId: unknown): boolean {
    return typeof resourceId === 'string' && /^arn:aws[a-z-]{0,20}:cloudtrail:[^:]*:\d{12}:eventdatastore\//.test(resourceId);
  }

  /** The caller's store a ResourceId ARN names. */
  private tagged(arn: string, caller: Caller): EventDataStoreRecord {
    const parts = parseEventDataStoreArn(arn);
    if (!parts) throw new ApiError('EventDataStoreARNInvalidException', `The event data store ARN ${arn.slice(0, 300)} is not valid.`);
    const record = this.o.store.get(parts.id);
    if (!record || eventDataStoreArn(record.definition) !== arn || record.definition.accountId !== caller.accountId) throw new ApiError('ResourceNotFoundException', `Resource not found: ${arn.slice(0, 300)}`);
    return record;
  }

  async addTags(arn: string, tags: ReturnType<typeof tagsOf>, caller: Caller): Promise<void> {
    this.tagged(arn, caller);
    await this.exclusive(async () => {
      const record = this.tagged(arn, caller);
      const merged = new Map(record.tags.map((t) => [t.key, t]));
      for (const t of tags) merged.set(t.key, t);
      if (merged.size > MAX_TAGS) throw new ApiError('TagsLimitExceededException', `The number of tags per event data store has exceeded the permitted amount. Currently, the limit is ${MAX_TAGS}.`);
      await this.o.store.put({ ...record, tags: [...merged.values()], updatedAt: this.o.now() });
    });
  }

  async removeTags(arn: string, keys: ReadonlySet<string>, caller: Caller): Promise<void> {
    this.tagged(arn, caller);
    await this.exclusive(async () => {
      const record = this.tagged(arn, caller);
      const kept = record.tags.filter((t) => !keys.has(t.key));
      if (kept.length !== record.tags.length) await this.o.store.put({ ...record, tags: kept, updatedAt: this.o.now() });
    });
  }

  listTags(arn: string, caller: Caller) {
    return this.tagged(arn, caller).tags.map((t) => ({ Key: t.key, ...(t.value !== undefined ? { Value: t.value } : {}) }));
  }

  async startEventDataStoreIngestion(input: Record<string, unknown>, caller: Caller) {
    await this.change(input, caller, (record) => {
      if (record.status !== 'STOPPED_INGESTION') throw new ApiError('InvalidEventDataStoreStatusException', `The event data store ${eventDataStoreArn(record.definition)} is ${record.status}; ingestion starts from STOPPED_INGESTION only.`);
      return { ...record, status: 'ENABLED' };
    });
    return {};
  }

  async stopEventDataStoreIngestion(input: Record<string, unknown>, caller: Caller) {
    await this.change(input, caller, (record) => {
      if (record.status !== 'ENABLED') throw new ApiError('InvalidEventDataStoreStatusException', `The event data store ${eventDataStoreArn(record.definition)} is ${record.status}; ingestion stops from ENABLED only.`);
      return { ...record, status: 'STOPPED_INGESTION' };
    });
    return {};
  }
}
