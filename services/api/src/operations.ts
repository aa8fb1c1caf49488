import { HistoryQueryError, type HistoryQueries } from '@opentrail/history';
import type { DigestPublicKey } from '@opentrail/serde';
import type { ConsoleOperations } from './consoleOperations.js';
import { ApiError } from './errors.js';
import type { RateLimiter } from './rateLimit.js';
import type { Target } from './targets.js';
import { EventDataStoreOperations, type EventDataStoreOperationsOptions } from './eventDataStoreOperations.js';
import type { LakeQueryOperations } from './lakeQueryOperations.js';
import { TrailOperations, type TrailOperationsOptions } from './trailOperations.js';
import { member, optionalList, optionalString, tagsOf } from './trailRequests.js';

export { ApiError } from './errors.js';

const seconds = (ms: number) => ms / 1000;

function timeParam(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return value * 1000;
  if (typeof value === 'string' && value.trim() !== '') {
    // The CLI and SDKs send epoch seconds; ISO text is accepted too.
    const n = Number(value);
    const ms = Number.isFinite(n) ? n * 1000 : Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  throw new ApiError('SerializationException', `${name} must be a timestamp (epoch seconds)`);
}

/** Who is calling: the access key that signed, the region of its credential scope, and the account it acts for. */
export interface Caller {
  accessKeyId: string;
  region: string;
  /** The caller's account (its principal's, authorization.ts; a bare access key's accountId, else api.defaultAccountId): a trail it creates belongs to it. */
  accountId: string;
  /** The principal's ARN (an IAM user, the root, or a role session). */
  principalArn?: string;
  /** The user name, or a role session's name. */
  userName?: string;
}

/**
 * Event history (cloudtrail-spec.md §5.1 and opentrail's own actions): the queries, and a quota
 * per caller and region for each family of calls.
 */
export interface HistoryOperations {
  queries: HistoryQueries;
  lookupEventsLimit: RateLimiter;
  queryEventsLimit: RateLimiter;
}

/** The digest public keys (ApiState reads them from the keys topic). */
export interface PublicKeySource {
  readonly keys: ReadonlyMap<string, DigestPublicKey>;
}

/** CloudTrail's quotas (cloudtrail-spec.md §5): Get/Describe/List 10 TPS, every other call 1 TPS, per account, region and operation. */
export interface TrailCallLimits {
  reads: RateLimiter;
  writes: RateLimiter;
}

export interface OperationsOptions extends TrailOperationsOptions {
  keys: PublicKeySource;
  history?: HistoryOperations;
  limits?: TrailCallLimits;
  /** CloudTrail Lake's event data stores; without them those operations are UnsupportedOperationException. */
  eventDataStores?: EventDataStoreOperationsOptions;
  /** CloudTrail Lake's queries; without them those operations are UnsupportedOperationException. */
  lakeQueries?: LakeQueryOperations;
  /** ListPublicKeys page size. @default 50 */
  publicKeysPageSize?: number;
}

type Handler = (input: Record<string, unknown>, caller: Caller) => unknown;

/**
 * The API's operations: CloudTrail's (trailOperations.ts for trails, ListPublicKeys here, event
 * history through HistoryQueries) and opentrail's own history actions. This is the dispatcher.
 */
export class Operations {
  readonly trails: TrailOperations;
  readonly eventDataStores: EventDataStoreOperations | undefined;
  /** The web console's actions (consoleOperations.ts), when main.ts wires them. */
  consoleOperations: ConsoleOperations | undefined;
  private readonly cloudtrail: Map<string, Handler>;
  private readonly now: () => number;

  constructor(private readonly o: OperationsOptions) {
    this.now = o.now;
    const t = (this.trails = new TrailOperations(o));
    this.cloudtrail = new Map<string, Handler>([
      ['CreateTrail', (i, c) => t.createTrail(i, c)],
      ['UpdateTrail', (i, c) => t.updateTrail(i, c)],
      ['DeleteTrail', (i, c) => t.deleteTrail(i, c)],
      ['GetTrail', (i, c) => t.getTrail(i, c)],
      ['DescribeTrails', (i, c) => t.describeTrails(i, c)],
      ['ListTrails', (i) => t.listTrails(i)],
      ['StartLogging', (i, c) => t.startLogging(i, c)],
      ['StopLogging', (i, c) => t.stopLogging(i, c)],
      ['GetTrailStatus', (i, c) => t.getTrailStatus(i, c)],
      ['PutEventSelectors', (i, c) => t.putEventSelectors(i, c)],
      ['GetEventSelectors', (i, c) => t.getEventSelectors(i, c)],
      ['PutInsightSelectors', (i, c) => t.putInsightSelectors(i, c)],
      ['GetInsightSelectors', (i, c) => t.getInsightSelectors(i, c)],
      // Tags name trails and event data stores by ARN: a store's ARN goes to the stores.
      ['AddTags', (i, c) => (this.eventDataStores && EventDataStoreOperations.names(member(i, 'ResourceId')) ? this.storeTags('add', i, c) : t.addTags(i, c))],
      ['RemoveTags', (i, c) => (this.eventDataStores && EventDataStoreOperations.names(member(i, 'ResourceId')) ? this.storeTags('remove', i, c) : t.removeTags(i, c))],
      ['ListTags', (i, c) => this.listTags(i, c)],
      ['ListPublicKeys', (i) => this.listPublicKeys(i)],
    ]);
    const e = (this.eventDataStores = o.eventDataStores && new EventDataStoreOperations(o.eventDataStores));
    const lake = (call: (ops: EventDataStoreOperations) => unknown): unknown => {
      if (!e) throw new ApiError('UnsupportedOperationException', 'CloudTrail Lake is not configured on this API');
      return call(e);
    };
    for (const [name, handler] of [
      ['CreateEventDataStore', (i, c) => lake((ops) => ops.createEventDataStore(i, c))],
      ['GetEventDataStore', (i, c) => lake((ops) => ops.getEventDataStore(i, c))],
      ['ListEventDataStores', (i, c) => lake((ops) => ops.listEventDataStores(i, c))],
      ['UpdateEventDataStore', (i, c) => lake((ops) => ops.updateEventDataStore(i, c))],
      ['DeleteEventDataStore', (i, c) => lake((ops) => ops.deleteEventDataStore(i, c))],
      ['RestoreEventDataStore', (i, c) => lake((ops) => ops.restoreEventDataStore(i, c))],
      ['StartEventDataStoreIngestion', (i, c) => lake((ops) => ops.startEventDataStoreIngestion(i, c))],
      ['StopEventDataStoreIngestion', (i, c) => lake((ops) => ops.stopEventDataStoreIngestion(i, c))],
    ] as [string, Handler][]) {
      this.cloudtrail.set(name, handler);
    }
    const queries = (call: (ops: LakeQueryOperations) => unknown): unknown => {
      if (!o.lakeQueries) throw new ApiError('UnsupportedOperationException', 'CloudTrail Lake queries are not configured on this API (api.lake.trinoUrl)');
      return call(o.lakeQueries);
    };
    for (const [name, handler] of [
      ['StartQuery', (i, c) => queries((ops) => ops.startQuery(i, c))],
      ['GetQueryResults', (i, c) => queries((ops) => ops.getQueryResults(i, c))],
      ['DescribeQuery', (i, c) => queries((ops) => ops.describeQuery(i, c))],
      ['ListQueries', (i, c) => queries((ops) => ops.listQueries(i, c))],
      ['CancelQuery', (i, c) => queries((ops) => ops.cancelQuery(i, c))],
    ] as [string, Handler][]) {
      this.cloudtrail.set(name, handler);
    }
  }

  async run(target: NonNullable<Target>, input: Record<string, unknown>, caller: Caller): Promise<unknown> {
    const { operation } = target;
    if (target.api === 'opentrail') {
      if (this.consoleOperations?.handles(operation)) return this.consoleOperations.run(operation, input, caller);
      switch (operation) {
        case 'QueryEvents':
          return this.historyCall(caller, 'queryEventsLimit', (h) => h.queryEvents(input, caller.region));
        case 'GetResourceHistory':
          return this.historyCall(caller, 'queryEventsLimit', (h) => h.resourceHistory(input, caller.region));
      }
    } else {
      if (operation === 'LookupEvents') return this.historyCall(caller, 'lookupEventsLimit', (h) => h.lookupEvents(input, caller.region));
      const handler = this.cloudtrail.get(operation);
      if (handler) {
        const limit = /^(?:Get|Describe|List)/.test(operation) ? this.o.limits?.reads : this.o.limits?.writes;
        if (limit && !limit.take(`${caller.accountId}\n${caller.region}\n${operation}`)) throw new ApiError('ThrottlingException', 'Rate exceeded');
        return handler(input, caller);
      }
    }
    throw new ApiError('UnknownOperationException', `Operation ${operation} is not supported by opentrail`);
  }

  /** AddTags / RemoveTags on an event data store's ARN. */
  private async storeTags(kind: 'add' | 'remove', input: Record<string, unknown>, caller: Caller) {
    const list = optionalList(input, 'TagsList');
    if (!list) throw new ApiError('InvalidTagParameterException', 'TagsList is required.');
    const tags = tagsOf(list);
    const arn = member(input, 'ResourceId') as string;
    if (kind === 'add') await this.eventDataStores!.addTags(arn, tags, caller);
    else await this.eventDataStores!.removeTags(arn, new Set(tags.map((t) => t.key)), caller);
    return {};
  }

  /** ListTags over trails and event data stores alike, each ARN answered by its owner. */
  private listTags(input: Record<string, unknown>, caller: Caller) {
    const ids = optionalList(input, 'ResourceIdList');
    const stores = this.eventDataStores;
    if (!stores || !ids?.some((id) => EventDataStoreOperations.names(id))) return this.trails.listTags(input, caller);
    if (ids.length > 20) throw new ApiError('InvalidParameterException', 'ResourceIdList may name at most 20 resources.');
    if (optionalString(input, 'NextToken') !== undefined) throw new ApiError('InvalidTokenException', 'The NextToken is not valid.');
    return {
      ResourceTagList: ids.map((id) =>
        EventDataStoreOperations.names(id)
          ? { ResourceId: id as string, TagsList: stores.listTags(id as string, caller) }
          : this.trails.listTags({ ResourceIdList: [id] }, caller).ResourceTagList[0]!,
      ),
    };
  }

  private async historyCall<T>(caller: Caller, limit: 'lookupEventsLimit' | 'queryEventsLimit', call: (queries: HistoryQueries) => Promise<T>): Promise<T> {
    const history = this.o.history;
    if (!history) throw new ApiError('UnsupportedOperationException', 'Event history is not configured on this API (api.history.databaseUrl)');
    // CloudTrail's quota is per account and region; opentrail's callers are its access keys.
    if (!history[limit].take(`${caller.accessKeyId}\n${caller.region}`)) throw new ApiError('ThrottlingException', 'Rate exceeded');
    try {
      return await call(history.queries);
    } catch (err) {
      if (err instanceof HistoryQueryError) throw new ApiError(err.code, err.message);
      throw err;
    }
  }

  /** ListPublicKeys (spec §3.3), in pages of publicKeysPageSize ordered by validity start; NextToken continues after the last key. */
  listPublicKeys(input: Record<string, unknown>) {
    const now = this.now();
    const start = timeParam(input.StartTime, 'StartTime') ?? now;
    const end = timeParam(input.EndTime, 'EndTime') ?? now;
    if (start > end) throw new ApiError('InvalidTimeRangeException', 'Start time must be earlier than end time');
    const token = optionalString(input, 'NextToken');
    const after = token === undefined ? undefined : decodeKeyToken(token);
    const size = this.o.publicKeysPageSize ?? 50;
    const list = [...this.o.keys.keys.values()]
      .filter((k) => k.validityStart <= end && (k.validityEnd === null || k.validityEnd > start))
      .sort((a, b) => a.validityStart - b.validityStart || (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0))
      .filter((k) => !after || k.validityStart > after.start || (k.validityStart === after.start && k.fingerprint > after.fingerprint));
    const page = list.slice(0, size);
    const last = page[page.length - 1];
    return {
      PublicKeyList: page.map((k) => ({
        // JSON 1.1 blobs are base64 text: decoded, PKCS#1 RSAPublicKey DER (spec §3.3).
        Value: k.publicKeyDer.toString('base64'),
        ValidityStartTime: seconds(k.validityStart),
        ...(k.validityEnd !== null ? { ValidityEndTime: seconds(k.validityEnd) } : {}),
        Fingerprint: k.fingerprint,
      })),
      ...(list.length > size && last ? { NextToken: Buffer.from(`k:${last.validityStart}:${last.fingerprint}`, 'utf8').toString('base64url') } : {}),
    };
  }
}

function decodeKeyToken(token: string): { start: number; fingerprint: string } {
  const text = /^[A-Za-z0-9_-]{1,400}$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  const m = /^k:(\d{1,16}):([0-9a-f]{1,64})$/.exec(text);
  if (!m) throw new ApiError('InvalidTokenException', 'The NextToken is not valid.');
  return { start: Number(m[1]), fingerprint: m[2]! };
}
