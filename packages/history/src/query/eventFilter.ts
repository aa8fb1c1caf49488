import { PERMISSION_ERROR_CODES } from './permissionErrors.js';
import { isAddress, SOURCE_INET_EXPRESSION, type SourceAddress } from './sourceAddress.js';
import { isoMicros, type Micros } from './timeRange.js';

/**
 * What a history query selects, in domain terms: LookupEvents fills one attribute, opentrail's
 * QueryEvents any number, resource history a resource plus "changes only". Every member becomes a
 * parameterised predicate; no request text is ever spliced into SQL.
 */
export type CategoryScope =
  /** LookupEvents without EventCategory: CloudTrail's event history holds management events. */
  | 'management'
  /** EventCategory `insight`: only Insights events. */
  | 'insight'
  /** opentrail's queries: every category except Insights. */
  | 'all-but-insight';

export interface EventFilter {
  region: string;
  category: CategoryScope;
  eventId?: string;
  eventName?: string;
  eventSource?: string;
  username?: string;
  accessKeyId?: string;
  accountId?: string;
  readOnly?: boolean;
  /** Only events that may change something: readOnly false or unknown. */
  changesOnly?: boolean;
  errorCode?: string;
  /** Only calls refused for lack of permission (PERMISSION_ERROR_CODES). */
  accessDenied?: boolean;
  /** Only calls that succeeded (no errorCode). */
  succeededOnly?: boolean;
  sourceAddress?: SourceAddress;
  /** ResourceName (ARN or plain name) and/or ResourceType: served from event_resources. */
  resourceName?: string;
  resourceType?: string;
}

/** Inclusive bounds, already clamped to retention. */
export interface TimeRange {
  start: Micros;
  end: Micros;
}

/** Collects positional parameters: `$n` placeholders and their values, in order. */
export class SqlParameters {
  readonly values: unknown[] = [];

  add(value: unknown, cast?: string): string {
    this.values.push(value);
    return cast ? `$${this.values.length}::${cast}` : `$${this.values.length}`;
  }
}

export const EVENT_COLUMNS =
  'e.event_id, e.event_name, e.event_source, e.read_only, e.username, e.access_key_id, e.source_ip, e.error_code, e.account_id, e.region, e.event_category, e.resources, e.record, ' +
  '(extract(epoch from e.event_time) * 1000000)::bigint::text AS time_us';

export interface EventRow {
  event_id: string;
  event_name: string;
  event_source: string;
  read_only: boolean | null;
  username: string | null;
  access_key_id: string | null;
  source_ip: string | null;
  error_code: string | null;
  account_id: string;
  region: string;
  event_category: string;
  resources: unknown;
  record: string;
  time_us: string;
}

/** The predicates on `events e` (not the time window, not the resource join). */
export function eventPredicates(filter: EventFilter, p: SqlParameters): string[] {
  const where = [`e.region = ${p.add(filter.region)}`];
  if (filter.category === 'management') where.push(`e.event_category = 'Management'`);
  else if (filter.category === 'insight') where.push(`e.event_category = 'Insight'`);
  else where.push(`e.event_category <> 'Insight'`);
  const equal = (column: string, value: string | undefined) => value !== undefined && where.push(`${column} = ${p.add(value)}`);
  equal('e.event_id', filter.eventId);
  equal('e.event_name', filter.eventName);
  equal('e.event_source', filter.eventSource);
  equal('e.username', filter.username);
  equal('e.access_key_id', filter.accessKeyId);
  equal('e.account_id', filter.accountId);
  equal('e.error_code', filter.errorCode);
  // A literal, not a parameter: a generic plan can then use the partial index of the writes
  // (events_region_writes, migrations/002), and the value is one of two, not request text.
  if (filter.readOnly !== undefined) where.push(filter.readOnly ? 'e.read_only = true' : 'e.read_only = false');
  if (filter.changesOnly) where.push('e.read_only IS NOT TRUE');
  if (filter.accessDenied === true) where.push(`e.error_code = ANY(${p.add(PERMISSION_ERROR_CODES, 'text[]')})`);
  if (filter.accessDenied === false) where.push(`(e.error_code IS NULL OR NOT e.error_code = ANY(${p.add(PERMISSION_ERROR_CODES, 'text[]')}))`);
  if (filter.succeededOnly) where.push('e.error_code IS NULL');
  const address = filter.sourceAddress;
  // Addresses through the inet index (events_region_source_inet): an exact address as equality
  // there (and on the text, which must match as given), a CIDR block as containment, which the
  // planner turns into a range of that index. A service name is matched on the text alone.
  if (address?.kind === 'exact') {
    if (isAddress(address.value)) where.push(`${SOURCE_INET_EXPRESSION} = ${p.add(address.value, 'inet')}`);
    where.push(`e.source_ip = ${p.add(address.value)}`);
  }
  if (address?.kind === 'cidr') where.push(`${SOURCE_INET_EXPRESSION} <<= ${p.add(address.value, 'inet')}`);
  return where;
}

export interface WindowBounds {
  /** Inclusive lower bound. */
  from: Micros;
  /** Upper bound: inclusive (`<=`) on a query's first window, exclusive below it. */
  to: Micros;
  toInclusive: boolean;
  /** The keyset position of the page before: `(event_time, event_id) < (time, id)`. */
  after?: { time: Micros; eventId: string };
}

/**
 * One window's statement: newest first by (event_time, event_id), LIMIT n. Resource filters drive
 * the scan from event_resources (its (region, resource_name|resource_type, event_time DESC,
 * event_id DESC) index, DISTINCT folding an event that names the resource twice) and fetch each
 * event by its primary key in a LATERAL subquery. The LIMIT 1 there keeps it a per-row lookup: a
 * flattened join let a generic plan merge-join every event of the window (measured: 10x slower).
 */
export function windowStatement(filter: EventFilter, bounds: WindowBounds, limit: number): { text: string; values: unknown[] } {
  const p = new SqlParameters();
  const where = eventPredicates(filter, p);
  const from = p.add(isoMicros(bounds.from), 'timestamptz');
  const to = p.add(isoMicros(bounds.to), 'timestamptz');
  const window = (alias: string) => [`${alias}.event_time >= ${from}`, `${alias}.event_time ${bounds.toInclusive ? '<=' : '<'} ${to}`];
  const after = (alias: string) => (bounds.after ? [`(${alias}.event_time, ${alias}.event_id) < (${p.add(isoMicros(bounds.after.time), 'timestamptz')}, ${p.add(bounds.after.eventId)})`] : []);
  if (filter.resourceName === undefined && filter.resourceType === undefined) {
    where.push(...window('e'), ...after('e'));
    return { text: `SELECT ${EVENT_COLUMNS} FROM events e WHERE ${where.join(' AND ')} ORDER BY e.event_time DESC, e.event_id DESC LIMIT ${p.add(limit, 'int')}`, values: p.values };
  }
  const byResource = [`r.region = ${p.add(filter.region)}`, ...window('r'), ...after('r')];
  if (filter.resourceName !== undefined) byResource.push(`r.resource_name = ${p.add(filter.resourceName)}`);
  if (filter.resourceType !== undefined) byResource.push(`r.resource_type = ${p.add(filter.resourceType)}`);
  where.push(...window('e'), 'e.event_id = r.event_id', 'e.event_time = r.event_time');
  return {
    text:
      `SELECT e.* FROM (SELECT DISTINCT r.event_time, r.event_id FROM event_resources r WHERE ${byResource.join(' AND ')} ORDER BY r.event_time DESC, r.event_id DESC) r ` +
      `CROSS JOIN LATERAL (SELECT ${EVENT_COLUMNS} FROM events e WHERE ${where.join(' AND ')} LIMIT 1) e ` +
      `ORDER BY r.event_time DESC, r.event_id DESC LIMIT ${p.add(limit, 'int')}`,
    values: p.values,
  };
}
