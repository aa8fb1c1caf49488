import { LakeQueryError, LakeQueryRefused, type LakeQueries, type LakeQueryStore, type QueryStatus, type EventDataStoreCatalog } from '@opentrail/lake';
import { ApiError } from './errors.js';
import { callerStore } from './eventDataStoreOperations.js';
import type { Caller } from './operations.js';
import { member, optionalList, optionalString } from './trailRequests.js';

/**
 * CloudTrail Lake's query operations (botocore's model: StartQuery, GetQueryResults,
 * DescribeQuery, ListQueries, CancelQuery) over LakeQueries (packages/lake): the shapes, the
 * checks of each member, and CloudTrail's error codes. Query IDs are the caller's: another
 * account's query is not found.
 */
export interface LakeQueryOperationsOptions {
  queries: LakeQueries;
  store: LakeQueryStore;
  stores: EventDataStoreCatalog;
}

const UUID = /^[a-f0-9-]{36}$/;
const STATUSES: readonly QueryStatus[] = ['QUEUED', 'RUNNING', 'FINISHED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];
const DEFAULT_RESULTS_PAGE = 1000;
const seconds = (ms: number) => ms / 1000;

function intMember(input: Record<string, unknown>, name: string, min: number, max: number, code: string): number | undefined {
  const value = member(input, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new ApiError(code, `${name} must be an integer from ${min} to ${max}.`);
  return value;
}

function timeMember(input: Record<string, unknown>, name: string): number | undefined {
  const value = member(input, name);
  if (value === undefined || value === null) return undefined;
  const ms = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? (Number.isFinite(Number(value)) ? Number(value) * 1000 : Date.parse(value)) : NaN;
  if (!Number.isFinite(ms)) throw new ApiError('SerializationException', `${name} must be a timestamp (epoch seconds)`);
  return ms;
}

/** Opaque page tokens, bound to their query (or store): a token of another cannot be replayed here. */
function token(kind: string, scope: string, position: string): string {
  return Buffer.from(`${kind}:${scope}:${position}`, 'utf8').toString('base64url');
}
function untoken(value: string, kind: string, scope: string): string {
  const text = /^[A-Za-z0-9_-]{4,1000}$/.test(value) ? Buffer.from(value, 'base64url').toString('utf8') : '';
  const head = `${kind}:${scope}:`;
  if (!text.startsWith(head)) throw new ApiError('InvalidNextTokenException', 'The NextToken is not valid.');
  return text.slice(head.length);
}

export class LakeQueryOperations {
  constructor(private readonly o: LakeQueryOperationsOptions) {}

  /** The caller's store an `EventDataStore` member names (ARN or ID), not pending deletion. */
  private storeOf(input: Record<string, unknown>, caller: Caller, required: boolean): string | undefined {
    const ref = optionalString(input, 'EventDataStore');
    if (ref === undefined || ref === '') {
      if (required) throw new ApiError('InvalidParameterException', 'EventDataStore is required.');
      return undefined;
    }
    const record = callerStore(this.o.stores, ref, caller);
    if (record.status === 'PENDING_DELETION') throw new ApiError('InactiveEventDataStoreException', `The event data store ${ref.slice(0, 300)} is pending deletion.`);
    return record.definition.id;
  }

  private async queryOf(input: Record<string, unknown>, caller: Caller) {
    const queryId = optionalString(input, 'QueryId');
    if (queryId === undefined || !UUID.test(queryId)) throw new ApiError('InvalidParameterException', 'QueryId must be the 36-character ID StartQuery returned.');
    const store = this.storeOf(input, caller, false);
    const query = await this.o.queries.current(queryId);
    if (!query || query.accountId !== caller.accountId || query.region !== caller.region || (store !== undefined && !query.stores.includes(store))) {
      throw new ApiError('QueryIdNotFoundException', `The query ID ${queryId} does not exist or does not map to a query.`);
    }
    return query;
  }

  async startQuery(input: Record<string, unknown>, caller: Caller) {
    const statement = optionalString(input, 'QueryStatement');
    if (member(input, 'QueryAlias') !== undefined) throw new ApiError('UnsupportedOperationException', 'QueryAlias names dashboard widgets, which opentrail does not have: send QueryStatement.');
    if (statement === undefined || statement === '') throw new ApiError('InvalidParameterException', 'QueryStatement is required.');
    const list = optionalList(input, 'QueryParameters');
    if (list?.some((p) => typeof p !== 'string')) throw new ApiError('SerializationException', 'QueryParameters must be a list of strings');
    const deliveryS3Uri = optionalString(input, 'DeliveryS3Uri');
    try {
      const { queryId } = await this.o.queries.start({ statement, ...(list ? { parameters: list as string[] } : {}), ...(deliveryS3Uri ? { deliveryS3Uri } : {}) }, caller);
      return { QueryId: queryId };
    } catch (err) {
      if (err instanceof LakeQueryError) throw new ApiError(err.code, err.message);
      if (err instanceof LakeQueryRefused) throw new ApiError(err.code, err.message);
      throw err;
    }
  }

  async getQueryResults(input: Record<string, unknown>, caller: Caller) {
    const query = await this.queryOf(input, caller);
    const size = intMember(input, 'MaxQueryResults', 1, 1000, 'InvalidMaxResultsException') ?? DEFAULT_RESULTS_PAGE;
    const next = optionalString(input, 'NextToken');
    const from = next === undefined ? 0 : Number(untoken(next, 'r', query.queryId));
    if (!Number.isSafeInteger(from) || from < 0) throw new ApiError('InvalidNextTokenException', 'The NextToken is not valid.');
    const rows = await this.o.store.rows(query.queryId, from, size);
    // Rows are complete once the query is final; before, a page may end where the engine has got to.
    const more = from + rows.length < query.resultsCount || (query.status === 'RUNNING' || query.status === 'QUEUED');
    return {
      QueryStatus: query.status,
      QueryStatistics: { ResultsCount: rows.length, TotalResultsCount: query.resultsCount, BytesScanned: query.bytesScanned },
      QueryResultRows: rows.map((row) => row.map(([column, value]) => ({ [column]: value }))),
      ...(more && rows.length > 0 ? { NextToken: token('r', query.queryId, String(from + rows.length)) } : {}),
      ...(query.errorMessage !== undefined ? { ErrorMessage: query.errorMessage } : {}),
    };
  }

  async describeQuery(input: Record<string, unknown>, caller: Caller) {
    const query = await this.queryOf(input, caller);
    return {
      QueryId: query.queryId,
      QueryString: query.statement,
      QueryStatus: query.status,
      QueryStatistics: {
        EventsMatched: query.resultsCount,
        EventsScanned: query.eventsScanned,
        BytesScanned: query.bytesScanned,
        ...(query.executionMs !== undefined ? { ExecutionTimeInMillis: query.executionMs } : {}),
        CreationTime: seconds(query.createdAt),
      },
      ...(query.errorMessage !== undefined ? { ErrorMessage: query.errorMessage } : {}),
      ...(query.deliveryS3Uri !== undefined ? { DeliveryS3Uri: query.deliveryS3Uri } : {}),
      ...(query.deliveryStatus !== undefined ? { DeliveryStatus: query.deliveryStatus } : {}),
    };
  }

  async listQueries(input: Record<string, unknown>, caller: Caller) {
    const storeId = this.storeOf(input, caller, true)!;
    const limit = intMember(input, 'MaxResults', 1, 1000, 'InvalidMaxResultsException') ?? 1000;
    const startMs = timeMember(input, 'StartTime');
    const endMs = timeMember(input, 'EndTime');
    if (startMs !== undefined && endMs !== undefined && startMs > endMs) throw new ApiError('InvalidDateRangeException', 'StartTime must be before EndTime.');
    const status = optionalString(input, 'QueryStatus');
    if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) throw new ApiError('InvalidQueryStatusException', `QueryStatus must be one of ${STATUSES.join(', ')}.`);
    const next = optionalString(input, 'NextToken');
    let after: { createdAt: number; queryId: string } | undefined;
    if (next !== undefined) {
      const m = /^(\d{1,16}):([a-f0-9-]{36})$/.exec(untoken(next, 'q', storeId));
      if (!m) throw new ApiError('InvalidNextTokenException', 'The NextToken is not valid.');
      after = { createdAt: Number(m[1]), queryId: m[2]! };
    }
    const found = await this.o.store.list({ accountId: caller.accountId, region: caller.region, storeId, ...(startMs !== undefined ? { startMs } : {}), ...(endMs !== undefined ? { endMs } : {}), ...(status ? { status: status as QueryStatus } : {}), ...(after ? { after } : {}), limit: limit + 1 });
    const page = found.slice(0, limit);
    const last = page[page.length - 1];
    return {
      Queries: page.map((q) => ({ QueryId: q.queryId, QueryStatus: q.status, CreationTime: seconds(q.createdAt) })),
      ...(found.length > limit && last ? { NextToken: token('q', storeId, `${last.createdAt}:${last.queryId}`) } : {}),
    };
  }

  async cancelQuery(input: Record<string, unknown>, caller: Caller) {
    const query = await this.queryOf(input, caller);
    if (query.status !== 'QUEUED' && query.status !== 'RUNNING') throw new ApiError('InactiveQueryException', `The query ${query.queryId} is ${query.status}: only a queued or running query can be cancelled.`);
    if (!(await this.o.queries.cancel(query.queryId))) {
      const now = await this.o.store.get(query.queryId);
      throw new ApiError('InactiveQueryException', `The query ${query.queryId} is ${now?.status ?? 'gone'}: only a queued or running query can be cancelled.`);
    }
    return { QueryId: query.queryId, QueryStatus: 'CANCELLED' };
  }
}
