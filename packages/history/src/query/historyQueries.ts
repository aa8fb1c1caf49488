import { historyEvent, lookupEvent, type HistoryEvent, type LookupEvent } from './eventShape.js';
import type { TimeRange } from './eventFilter.js';
import { NextTokenCodec } from './nextToken.js';
import { walkPage, type Planning, type Queryable } from './pageWalk.js';
import { parseLookupEvents, parseQueryEvents, parseResourceHistory, type PageRequest } from './requests.js';
import { microsFromMillis, MICROS_PER_DAY } from './timeRange.js';

/**
 * The event-history queries the API serves: CloudTrail's LookupEvents and opentrail's QueryEvents
 * and GetResourceHistory. Input is the request's JSON body, validated here; output is the response
 * body. Scope: the region the request names (its SigV4 credential scope for LookupEvents) and the
 * retention period; CloudTrail's 90 days unless the deployment keeps less or more.
 */
export interface HistoryQueriesOptions {
  /** Connections planning each statement for its values (openQueryPool, planning 'custom'). */
  db: Queryable;
  /** Connections caching generic plans, for LookupEvents (openQueryPool, planning 'prepared'). @default db */
  lookupDb?: Queryable;
  tokens: NextTokenCodec;
  retentionDays: number;
  now?: () => number;
}

export interface LookupEventsResponse {
  Events: LookupEvent[];
  NextToken?: string;
}

export interface QueryEventsResponse {
  Events: HistoryEvent[];
  NextToken?: string;
}

// Events stamped in the future (skewed clocks) are found up to a day ahead; beyond that an EndTime
// far in the future would only walk empty windows.
const FUTURE_SLACK = MICROS_PER_DAY;

export class HistoryQueries {
  private readonly now: () => number;

  constructor(private readonly o: HistoryQueriesOptions) {
    this.now = o.now ?? Date.now;
  }

  lookupEvents(input: Record<string, unknown>, region: string): Promise<LookupEventsResponse> {
    return this.page(parseLookupEvents(input, region), lookupEvent, 'prepared');
  }

  queryEvents(input: Record<string, unknown>, region: string): Promise<QueryEventsResponse> {
    return this.page(parseQueryEvents(input, region), historyEvent);
  }

  resourceHistory(input: Record<string, unknown>, region: string): Promise<QueryEventsResponse> {
    return this.page(parseResourceHistory(input, region), historyEvent, 'prepared');
  }

  private range(request: PageRequest): TimeRange | undefined {
    const now = microsFromMillis(this.now());
    const oldest = now - BigInt(this.o.retentionDays) * MICROS_PER_DAY;
    const start = request.startTime !== undefined && request.startTime > oldest ? request.startTime : oldest;
    const latest = now + FUTURE_SLACK;
    const end = request.endTime !== undefined && request.endTime < latest ? request.endTime : latest;
    return start <= end ? { start, end } : undefined;
  }

  private async page<E>(request: PageRequest, shape: (row: Parameters<typeof lookupEvent>[0]) => E, planning: Planning = 'custom'): Promise<{ Events: E[]; NextToken?: string }> {
    const binding = NextTokenCodec.bind(request.binding);
    // The token is checked before the range: a bad token is refused even when nothing would match.
    const after = request.nextToken !== undefined ? this.o.tokens.decode(request.nextToken, binding) : undefined;
    const range = this.range(request);
    if (!range) return { Events: [] };
    const db = planning === 'prepared' ? (this.o.lookupDb ?? this.o.db) : this.o.db;
    const page = await walkPage(db, request.filter, range, after, request.maxResults, planning);
    return { Events: page.rows.map(shape), ...(page.next ? { NextToken: this.o.tokens.encode(binding, page.next) } : {}) };
  }
}
