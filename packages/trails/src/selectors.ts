import type { ApiCallEvent } from '@opentrail/serde';
import type { AdvancedEventSelector, EventSelector, FieldSelector } from './schema.js';
import { isWholeServiceArn } from './selectorRules.js';

/**
 * Event selectors compiled into predicates (cloudtrail-spec.md §6), once per configuration, so that
 * matching an event costs a few comparisons: this runs for every event of every trail.
 *
 * `readOnlyHint` is what the enricher derived for events that carry no readOnly of their own
 * (`enrichment.service.readOnly`); the record's own value always wins.
 */
export type EventPredicate = (event: ApiCallEvent, readOnlyHint?: boolean | null) => boolean;

/**
 * The category of an event (spec §1.7). Records before eventVersion 1.07 carry none: they are
 * management events unless they say otherwise (managementEvent false, or a type that implies one).
 */
export function eventCategoryOf(event: ApiCallEvent): string {
  if (event.eventCategory) return event.eventCategory;
  if (event.eventType === 'AwsCloudTrailInsight') return 'Insight';
  if (event.eventType === 'AwsVpceEvent') return 'NetworkActivity';
  if (event.managementEvent === false) return 'Data';
  return 'Management';
}

export function readOnlyOf(event: ApiCallEvent, hint?: boolean | null): boolean | null {
  return event.readOnly ?? hint ?? null;
}

function readWriteMatches(type: EventSelector['readWriteType'], readOnly: boolean | null): boolean {
  if (type === 'All') return true;
  // An event that does not say whether it reads or writes is neither ReadOnly nor WriteOnly.
  return type === 'ReadOnly' ? readOnly === true : readOnly === false;
}

/**
 * A data resource value: `arn:aws:s3` / `arn:aws:lambda` selects every resource of the type; for S3
 * objects a value is a prefix of object ARNs (`arn:aws:s3:::bucket/` = every object in the bucket);
 * for other types it names one resource.
 */
function compileDataResource(resource: EventSelector['dataResources'][number]): (type: string | null, arn: string | null) => boolean {
  const everything = resource.values.some(isWholeServiceArn);
  const prefixes = resource.type === 'AWS::S3::Object' ? resource.values.filter((v) => !isWholeServiceArn(v)) : [];
  const exact = new Set(resource.type === 'AWS::S3::Object' ? [] : resource.values.filter((v) => !isWholeServiceArn(v)));
  return (type, arn) => {
    if (type !== resource.type) return false;
    if (everything) return true;
    if (arn === null) return false;
    return exact.has(arn) || prefixes.some((p) => arn.startsWith(p));
  };
}

/** A basic event selector (spec §6.1). Basic selectors never select network activity or Insights. */
export function compileBasicSelector(selector: EventSelector): EventPredicate {
  const excluded = new Set<string>(selector.excludeManagementEventSources);
  const resources = selector.dataResources.map(compileDataResource);
  return (event, hint) => {
    if (!readWriteMatches(selector.readWriteType, readOnlyOf(event, hint))) return false;
    const category = eventCategoryOf(event);
    if (category === 'Management') return selector.includeManagementEvents && !excluded.has(event.eventSource ?? '');
    if (category === 'Data') {
      if (resources.length === 0) return false;
      return resourcesOf(event).some((r) => resources.some((matches) => matches(r.type, r.ARN)));
    }
    return false;
  };
}

/** A resource as selectors see it: `ARNPrefix` entries (S3 list calls) count as an ARN prefix. */
export interface ResourceView {
  type: string | null;
  ARN: string | null;
}

const NO_RESOURCES: readonly ResourceView[] = [];
const overflowResources = new WeakMap<ApiCallEvent, readonly ResourceView[]>();

/**
 * The resources of an event. A `resources` array that does not fit the typed Avro field (an entry
 * with `ARNPrefix`, as S3 list calls have, or other members) travels in `additionalFields`; it is
 * read from there (parsed once per event) so such data events are selected like any other.
 */
export function resourcesOf(event: ApiCallEvent): readonly ResourceView[] {
  if (event.resources) return event.resources;
  const extra = event.additionalFields;
  if (extra === null || !extra.includes('"resources"')) return NO_RESOURCES;
  let found = overflowResources.get(event);
  if (!found) {
    found = NO_RESOURCES;
    try {
      const list = (JSON.parse(extra) as { resources?: unknown }).resources;
      if (Array.isArray(list)) {
        found = list.flatMap((r): ResourceView[] => {
          if (typeof r !== 'object' || r === null) return [];
          const { type, ARN, ARNPrefix } = r as Record<string, unknown>;
          const arn = typeof ARN === 'string' ? ARN : typeof ARNPrefix === 'string' ? ARNPrefix : null;
          return [{ type: typeof type === 'string' ? type : null, ARN: arn }];
        });
      }
    } catch {
      // additionalFields is checked to be a JSON object before events reach a trail; nothing to select on otherwise.
    }
    overflowResources.set(event, found);
  }
  return found;
}

type FieldValues = (event: ApiCallEvent, hint: boolean | null | undefined) => string | readonly string[] | undefined;

const NONE: readonly string[] = [];

function fieldReader(field: string, resourceTypes: Set<string> | undefined): FieldValues {
  switch (field) {
    case 'eventCategory':
      return (e) => eventCategoryOf(e);
    case 'readOnly':
      return (e, hint) => {
        const readOnly = readOnlyOf(e, hint);
        return readOnly === null ? undefined : String(readOnly);
      };
    case 'eventSource':
      return (e) => e.eventSource ?? undefined;
    case 'eventName':
      return (e) => e.eventName ?? undefined;
    case 'errorCode':
      return (e) => e.errorCode ?? undefined;
    case 'vpcEndpointId':
      return (e) => e.vpcEndpointId ?? undefined;
    case 'eventType':
      return (e) => e.eventType ?? undefined;
    // The two below are selectable by event data stores only (selectorRules.ts).
    case 'userIdentity.arn':
      return (e) => e.userIdentity?.arn ?? undefined;
    case 'sessionCredentialFromConsole':
      return (e) => e.sessionCredentialFromConsole ?? undefined;
    case 'resources.type':
      return (e) => resourcesOf(e).flatMap((r) => (r.type === null ? [] : [r.type]));
    case 'resources.ARN':
      // The ARN condition applies to the resources of the selector's resources.type (the object,
      // not its bucket, for AWS::S3::Object).
      return (e) => resourcesOf(e).flatMap((r) => (r.ARN === null || (resourceTypes && (r.type === null || !resourceTypes.has(r.type))) ? [] : [r.ARN]));
    default:
      return () => undefined;
  }
}

type ValueTest = (value: string) => boolean;

function operatorTests(selector: FieldSelector) {
  const positive: ValueTest[] = [];
  const negative: ValueTest[] = [];
  if (selector.equals) {
    const set = new Set(selector.equals);
    positive.push((v) => set.has(v));
  }
  if (selector.startsWith) {
    const list = selector.startsWith;
    positive.push((v) => list.some((p) => v.startsWith(p)));
  }
  if (selector.endsWith) {
    const list = selector.endsWith;
    positive.push((v) => list.some((s) => v.endsWith(s)));
  }
  if (selector.notEquals) {
    const set = new Set(selector.notEquals);
    negative.push((v) => set.has(v));
  }
  if (selector.notStartsWith) {
    const list = selector.notStartsWith;
    negative.push((v) => list.some((p) => v.startsWith(p)));
  }
  if (selector.notEndsWith) {
    const list = selector.notEndsWith;
    negative.push((v) => list.some((s) => v.endsWith(s)));
  }
  return { positive, negative };
}

/**
 * One field selector: values within an operator are OR-ed; a negative operator holds when the
 * field matches none of its values; the operators of one field selector must all hold. For
 * multi-valued fields (resources), a positive operator needs one resource that matches, a negative
 * one needs every resource to match none. A missing field fails positive operators and passes
 * negative ones.
 */
export function compileFieldSelector(selector: FieldSelector, resourceTypes?: Set<string>): EventPredicate {
  const read = fieldReader(selector.field, resourceTypes);
  const { positive, negative } = operatorTests(selector);
  return (event, hint) => {
    const raw = read(event, hint);
    const values: readonly string[] = raw === undefined ? NONE : typeof raw === 'string' ? [raw] : raw;
    for (const test of positive) if (!values.some(test)) return false;
    for (const test of negative) if (values.some(test)) return false;
    return true;
  };
}

/** An advanced event selector (spec §6.2): all of its field selectors hold. */
export function compileAdvancedSelector(selector: AdvancedEventSelector): EventPredicate {
  const types = selector.fieldSelectors.find((f) => f.field === 'resources.type')?.equals;
  const resourceTypes = types ? new Set(types) : undefined;
  // Cheap, most selective conditions first: the category decides most events.
  const ordered = [...selector.fieldSelectors].sort((a, b) => rank(a.field) - rank(b.field));
  const conditions = ordered.map((f) => compileFieldSelector(f, resourceTypes));
  return (event, hint) => {
    for (const condition of conditions) if (!condition(event, hint)) return false;
    return true;
  };
}

function rank(field: string): number {
  return field === 'eventCategory' ? 0 : field === 'readOnly' ? 1 : field.startsWith('resources.') ? 3 : 2;
}

/** CloudTrail's default when a trail has no selectors: every management event, read and write. */
export const DEFAULT_EVENT_SELECTORS: EventSelector[] = [{ readWriteType: 'All', includeManagementEvents: true, dataResources: [], excludeManagementEventSources: [] }];

/** A trail's selectors as one predicate: an event is logged if any selector matches it. */
export function compileSelectors(trail: { eventSelectors?: EventSelector[]; advancedEventSelectors?: AdvancedEventSelector[] }): EventPredicate {
  const predicates = trail.advancedEventSelectors ? trail.advancedEventSelectors.map(compileAdvancedSelector) : (trail.eventSelectors ?? DEFAULT_EVENT_SELECTORS).map(compileBasicSelector);
  if (predicates.length === 1) return predicates[0]!;
  return (event, hint) => {
    for (const predicate of predicates) if (predicate(event, hint)) return true;
    return false;
  };
}
