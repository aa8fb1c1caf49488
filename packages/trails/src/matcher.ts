import { eventAccountId } from '@opentrail/cloudtrail';
import type { ApiCallEvent } from '@opentrail/serde';
import { trailArn } from './describe.js';
import type { Trail } from './schema.js';
import { compileSelectors, type EventPredicate } from './selectors.js';

/** Services whose events CloudTrail calls global (delivered in us-east-1; spec §1.3 awsRegion). */
export const GLOBAL_SERVICE_SOURCES = new Set(['iam.amazonaws.com', 'sts.amazonaws.com', 'cloudfront.amazonaws.com', 'signin.amazonaws.com']);

/** A trail with its selectors compiled. */
export interface CompiledTrail {
  trail: Trail;
  /** arn:aws:cloudtrail:<homeRegion>:<accountId>:trail/<name> */
  arn: string;
  /** Whether an event in the trail's scope is one its selectors log. */
  selects: EventPredicate;
  /** Insights types the trail delivers. */
  insightTypes: ReadonlySet<string>;
  /** Whether the trail covers this account and region. */
  covers(accountId: string, region: string): boolean;
}

export interface TrailMatcher {
  readonly trails: readonly CompiledTrail[];
  /**
   * The trails that log this event, in configuration order: ordinary records by scope and event
   * selectors, Insights records (eventType AwsCloudTrailInsight) by scope and insight selectors.
   */
  select(event: ApiCallEvent, readOnlyHint?: boolean | null): CompiledTrail[];
  /** The trail called `name`, if any. */
  byName(name: string): CompiledTrail | undefined;
}

const NO_TRAILS: CompiledTrail[] = [];
/** Bound on the memo of trails in scope per (account, region). */
const SCOPE_MEMO_LIMIT = 100_000;

function compileTrail(trail: Trail): CompiledTrail {
  const accounts = trail.accounts === 'all' ? undefined : new Set(trail.accounts);
  const regions = trail.regions === 'all' ? undefined : new Set(trail.regions);
  return {
    trail,
    arn: trailArn(trail),
    selects: compileSelectors(trail),
    insightTypes: new Set(trail.insightSelectors.map((s) => s.insightType)),
    covers: (accountId, region) => (!accounts || accounts.has(accountId)) && (!regions || regions.has(region)),
  };
}

/** The insight type of an Insights record, read from its insightDetails JSON text. */
function insightTypeOf(event: ApiCallEvent): string | undefined {
  if (!event.insightDetails) return undefined;
  try {
    const details = JSON.parse(event.insightDetails) as { insightType?: unknown };
    return typeof details.insightType === 'string' ? details.insightType : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Compiles trails once; `select` then runs per event. Which trails cover an (account, region) is
 * memoised, so an event costs a map lookup plus its trails' selector predicates.
 */
export function compileTrails(trails: readonly Trail[]): TrailMatcher {
  const compiled = trails.map(compileTrail);
  const names = new Map(compiled.map((t) => [t.trail.name, t]));
  const scopes = new Map<string, CompiledTrail[]>();
  const inScope = (accountId: string, region: string): CompiledTrail[] => {
    const key = `${accountId}/${region}`;
    let found = scopes.get(key);
    if (!found) {
      if (scopes.size >= SCOPE_MEMO_LIMIT) scopes.clear();
      found = compiled.filter((t) => t.covers(accountId, region));
      scopes.set(key, found.length ? found : NO_TRAILS);
    }
    return found;
  };
  return {
    trails: compiled,
    byName: (name) => names.get(name),
    select(event, readOnlyHint) {
      const candidates = inScope(eventAccountId(event), event.awsRegion);
      if (candidates.length === 0) return NO_TRAILS;
      if (event.eventType === 'AwsCloudTrailInsight') {
        const type = insightTypeOf(event);
        return type === undefined ? NO_TRAILS : candidates.filter((t) => t.insightTypes.has(type));
      }
      const global = event.eventSource !== null && GLOBAL_SERVICE_SOURCES.has(event.eventSource);
      const selected: CompiledTrail[] = [];
      for (const t of candidates) {
        if (global && !t.trail.includeGlobalServiceEvents) continue;
        if (t.selects(event, readOnlyHint)) selected.push(t);
      }
      return selected;
    },
  };
}
