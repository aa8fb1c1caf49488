import { activitySummary, HistoryQueryError, parseActivitySummary, type Queryable } from '@opentrail/history';
import type { DeliveryLag } from './activitySummary.js';
import { alertOutput, type RecentAlerts } from './alertsFeed.js';
import { ApiError, type Caller } from './operations.js';
import type { RateLimiter } from './rateLimit.js';

/**
 * opentrail's actions for the web console (issue 15), under `OpenTrail_20261201.`:
 * - `ListRecentAlerts {MaxResults? (1-100, default 50), StartTime?}`: the newest alerts the
 *   alerter committed, newest first, with their rule and matching event ids.
 * - `GetActivitySummary {StartTime?, EndTime?}` (at most 24 hours; default the last hour):
 *   events per minute, top callers and top failed calls of the caller's region (PostgreSQL),
 *   and the delivery lag of the log files delivered in the range (the deliveries topic).
 */
export const CONSOLE_OPERATIONS = ['ListRecentAlerts', 'GetActivitySummary'] as const;

export interface ConsoleOperationsOptions {
  alerts: RecentAlerts;
  deliveryLag: DeliveryLag;
  /** The history database; without it GetActivitySummary answers UnsupportedOperationException. */
  db?: Queryable;
  limit: RateLimiter;
  now?: () => number;
}

export class ConsoleOperations {
  private readonly now: () => number;

  constructor(private readonly o: ConsoleOperationsOptions) {
    this.now = o.now ?? Date.now;
  }

  handles(operation: string): boolean {
    return (CONSOLE_OPERATIONS as readonly string[]).includes(operation);
  }

  async run(operation: string, input: Record<string, unknown>, caller: Caller): Promise<unknown> {
    if (!this.o.limit.take(`${caller.accessKeyId}\n${caller.region}`)) throw new ApiError('ThrottlingException', 'Rate exceeded');
    if (operation === 'ListRecentAlerts') return this.listRecentAlerts(input);
    return this.getActivitySummary(input, caller.region);
  }

  listRecentAlerts(input: Record<string, unknown>) {
    for (const key of Object.keys(input)) {
      if (key !== 'MaxResults' && key !== 'StartTime') throw new ApiError('InvalidParameterException', `Unknown parameter: ${key.slice(0, 100)}`);
    }
    const max = input.MaxResults ?? 50;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 100) throw new ApiError('InvalidMaxResultsException', 'MaxResults must be an integer from 1 to 100');
    const since = input.StartTime ?? 0;
    if (typeof since !== 'number' || !Number.isFinite(since)) throw new ApiError('SerializationException', 'StartTime must be a timestamp (epoch seconds)');
    return { Alerts: this.o.alerts.recent(max, since * 1000).map(alertOutput) };
  }

  async getActivitySummary(input: Record<string, unknown>, region: string) {
    if (!this.o.db) throw new ApiError('UnsupportedOperationException', 'Event history is not configured on this API (api.history.databaseUrl)');
    try {
      const request = parseActivitySummary(input, region, this.now());
      const summary = await activitySummary(this.o.db, request);
      return { ...summary, DeliveryLag: this.o.deliveryLag.summary(request.startMs, request.endMs) };
    } catch (err) {
      if (err instanceof HistoryQueryError) throw new ApiError(err.code, err.message);
      throw err;
    }
  }
}
