import { HistoryQueryError, type HistoryQueries } from '@opentrail/history';
import { describeTrail, trailArn, type Trail } from '@opentrail/trails';
import type { ApiState } from './apiState.js';
import type { ConsoleOperations } from './consoleOperations.js';
import type { RateLimiter } from './rateLimit.js';
import type { Target } from './targets.js';

/**
 * The CloudTrail operations (cloudtrail-spec.md §3.3, §5.2, §5.3), over the trails configuration
 * and the state read from Kafka. Timestamps are epoch seconds; optional members are left out when
 * unknown, as CloudTrail does.
 */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const seconds = (ms: number) => ms / 1000;
const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

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

/** A trail is visible in `region` when it lives there or, as a shadow, when it logs there. */
function visible(trail: Trail, region: string, includeShadow: boolean): boolean {
  if (trail.homeRegion === region) return true;
  return includeShadow && (trail.regions === 'all' || trail.regions.includes(region));
}

const ARN = /^arn:aws[\w-]*:cloudtrail:([a-z0-9-]+):(\d{12}):trail\/(.+)$/;

/** Who is calling: the access key that signed and the region of its credential scope. */
export interface Caller {
  accessKeyId: string;
  region: string;
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

export class Operations {
  /** The web console's actions (consoleOperations.ts), when main.ts wires them. */
  consoleOperations: ConsoleOperations | undefined;

  constructor(
    private readonly trails: Trail[],
    private readonly state: ApiState,
    private readonly history?: HistoryOperations,
    private readonly now: () => number = Date.now,
  ) {}

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
      switch (operation) {
        case 'ListPublicKeys':
          return this.listPublicKeys(input);
        case 'DescribeTrails':
          return this.describeTrails(input, caller.region);
        case 'GetTrailStatus':
          return this.getTrailStatus(input, caller.region);
        case 'LookupEvents':
          return this.historyCall(caller, 'lookupEventsLimit', (h) => h.lookupEvents(input, caller.region));
      }
    }
    throw new ApiError('UnknownOperationException', `Operation ${operation} is not supported by opentrail`);
  }

  private async historyCall<T>(caller: Caller, limit: 'lookupEventsLimit' | 'queryEventsLimit', call: (queries: HistoryQueries) => Promise<T>): Promise<T> {
    if (!this.history) throw new ApiError('UnsupportedOperationException', 'Event history is not configured on this API (api.history.databaseUrl)');
    // CloudTrail's quota is per account and region; opentrail's callers are its access keys.
    if (!this.history[limit].take(`${caller.accessKeyId}\n${caller.region}`)) throw new ApiError('ThrottlingException', 'Rate exceeded');
    try {
      return await call(this.history.queries);
    } catch (err) {
      if (err instanceof HistoryQueryError) throw new ApiError(err.code, err.message);
      throw err;
    }
  }

  listPublicKeys(input: Record<string, unknown>) {
    const now = this.now();
    const start = timeParam(input.StartTime, 'StartTime') ?? now;
    const end = timeParam(input.EndTime, 'EndTime') ?? now;
    if (start > end) throw new ApiError('InvalidTimeRangeException', 'Start time must be earlier than end time');
    const list = [...this.state.keys.values()]
      .filter((k) => k.validityStart <= end && (k.validityEnd === null || k.validityEnd > start))
      .sort((a, b) => a.validityStart - b.validityStart)
      .map((k) => ({
        // JSON 1.1 blobs are base64 text: decoded, PKCS#1 RSAPublicKey DER (spec §3.3).
        Value: k.publicKeyDer.toString('base64'),
        ValidityStartTime: seconds(k.validityStart),
        ...(k.validityEnd !== null ? { ValidityEndTime: seconds(k.validityEnd) } : {}),
        Fingerprint: k.fingerprint,
      }));
    return { PublicKeyList: list };
  }

  describeTrails(input: Record<string, unknown>, region: string) {
    const names = input.trailNameList;
    if (names !== undefined && names !== null && !(Array.isArray(names) && names.every((n) => typeof n === 'string'))) throw new ApiError('SerializationException', 'trailNameList must be a list of strings');
    const includeShadow = input.includeShadowTrails !== false;
    const wanted = (names as string[] | undefined) ?? [];
    const trails = this.trails.filter((t) => {
      if (wanted.length === 0) return visible(t, region, includeShadow);
      // A name matches trails of this region; an ARN matches its trail anywhere.
      return wanted.some((n) => (ARN.test(n) ? n === trailArn(t) : n === t.name && t.homeRegion === region));
    });
    return { trailList: trails.map(describeTrail) };
  }

  getTrailStatus(input: Record<string, unknown>, region: string) {
    const name = input.Name;
    if (typeof name !== 'string' || name === '') throw new ApiError('InvalidTrailNameException', 'Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).');
    let trail: Trail | undefined;
    if (name.startsWith('arn:')) {
      if (!ARN.test(name)) throw new ApiError('CloudTrailARNInvalidException', `${name} is not a valid trail ARN`);
      trail = this.trails.find((t) => trailArn(t) === name);
    } else {
      trail = this.trails.find((t) => t.name === name && visible(t, region, true));
    }
    if (!trail) throw new ApiError('TrailNotFoundException', `Unknown trail: ${name} in region ${region}`);
    const a = this.state.trailActivity(trail.name);
    return {
      IsLogging: true,
      ...(a.latestDeliveryTime !== undefined ? { LatestDeliveryTime: seconds(a.latestDeliveryTime), LatestDeliveryAttemptTime: isoSeconds(a.latestDeliveryTime), LatestDeliveryAttemptSucceeded: isoSeconds(a.latestDeliveryTime) } : {}),
      ...(trail.digests.enabled && a.latestDigestDeliveryTime !== undefined ? { LatestDigestDeliveryTime: seconds(a.latestDigestDeliveryTime) } : {}),
      ...(a.firstDeliveryTime !== undefined ? { StartLoggingTime: seconds(a.firstDeliveryTime), TimeLoggingStarted: isoSeconds(a.firstDeliveryTime) } : {}),
    };
  }
}
