import { HistoryQueryError } from './errors.js';
import type { CategoryScope, EventFilter } from './eventFilter.js';
import { parseSourceAddress } from './sourceAddress.js';
import { parseTimestamp, type Micros } from './timeRange.js';

/**
 * Request validation, at the boundary: JSON input (hostile until checked) to a typed query, or a
 * HistoryQueryError with CloudTrail's code. Nothing here touches the database.
 */
export interface PageRequest {
  filter: EventFilter;
  /** As the client gave them (undefined = default); clamped to retention when the query runs. */
  startTime?: Micros;
  endTime?: Micros;
  maxResults: number;
  nextToken?: string;
  /** The parameters a NextToken is bound to. */
  binding: readonly unknown[];
}

export const LOOKUP_ATTRIBUTE_KEYS = ['EventId', 'EventName', 'ReadOnly', 'Username', 'ResourceType', 'ResourceName', 'EventSource', 'AccessKeyId'] as const;
export type LookupAttributeKey = (typeof LOOKUP_ATTRIBUTE_KEYS)[number];
const INSIGHT_KEYS: ReadonlySet<string> = new Set(['EventId', 'EventName', 'EventSource']);

/** §5.1: `_`, space, `,` and newline count as two characters. */
export function attributeValueLength(value: string): number {
  let n = 0;
  for (const ch of value) n += ch === '_' || ch === ' ' || ch === ',' || ch === '\n' ? 2 : 1;
  return n;
}

function maxResults(value: unknown): number {
  if (value === undefined || value === null) return 50;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 50) {
    throw new HistoryQueryError('InvalidMaxResultsException', 'MaxResults must be an integer between 1 and 50');
  }
  return value;
}

function nextToken(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '') throw new HistoryQueryError('InvalidNextTokenException', 'Invalid NextToken');
  return value;
}

function times(input: Record<string, unknown>): { startTime?: Micros; endTime?: Micros } {
  const startTime = parseTimestamp(input.StartTime, 'StartTime');
  const endTime = parseTimestamp(input.EndTime, 'EndTime');
  if (startTime !== undefined && endTime !== undefined && startTime > endTime) {
    throw new HistoryQueryError('InvalidTimeRangeException', 'Start time must be before end time');
  }
  return { ...(startTime !== undefined ? { startTime } : {}), ...(endTime !== undefined ? { endTime } : {}) };
}

function category(value: unknown, otherwise: CategoryScope): CategoryScope {
  if (value === undefined || value === null) return otherwise;
  if (value === 'insight') return 'insight';
  throw new HistoryQueryError('InvalidEventCategoryException', `Invalid EventCategory ${typeof value === 'string' ? JSON.stringify(value.slice(0, 64)) : typeof value}: the only valid value is insight`);
}

export function parseLookupEvents(input: Record<string, unknown>, region: string): PageRequest {
  const attributes = input.LookupAttributes ?? [];
  if (!Array.isArray(attributes)) throw new HistoryQueryError('InvalidLookupAttributesException', 'LookupAttributes must be a list');
  if (attributes.length > 1) throw new HistoryQueryError('InvalidLookupAttributesException', 'You cannot have more than one lookup attribute.');
  const filter: EventFilter = { region, category: category(input.EventCategory, 'management') };
  let attribute: [string, string] | undefined;
  if (attributes.length === 1) {
    const a = attributes[0] as { AttributeKey?: unknown; AttributeValue?: unknown } | null;
    const key = a?.AttributeKey;
    const value = a?.AttributeValue;
    if (typeof key !== 'string' || !(LOOKUP_ATTRIBUTE_KEYS as readonly string[]).includes(key)) {
      throw new HistoryQueryError('InvalidLookupAttributesException', `Invalid AttributeKey ${JSON.stringify(String(key).slice(0, 64))}: must be one of ${LOOKUP_ATTRIBUTE_KEYS.join(', ')}`);
    }
    if (typeof value !== 'string' || value.length === 0 || attributeValueLength(value) > 2000) {
      throw new HistoryQueryError('InvalidLookupAttributesException', 'AttributeValue must be between 1 and 2000 characters long');
    }
    if (filter.category === 'insight' && !INSIGHT_KEYS.has(key)) {
      throw new HistoryQueryError('InvalidLookupAttributesException', `AttributeKey ${key} is not valid for Insights events: use EventId, EventName or EventSource`);
    }
    applyAttribute(filter, key as LookupAttributeKey, value);
    attribute = [key, value];
  }
  const t = times(input);
  return {
    filter,
    ...t,
    maxResults: maxResults(input.MaxResults),
    ...optional('nextToken', nextToken(input.NextToken)),
    binding: ['LookupEvents', region, filter.category, attribute ?? null, t.startTime ?? null, t.endTime ?? null],
  };
}

function applyAttribute(filter: EventFilter, key: LookupAttributeKey, value: string) {
  switch (key) {
    case 'EventId':
      filter.eventId = value;
      return;
    case 'EventName':
      filter.eventName = value;
      return;
    case 'EventSource':
      filter.eventSource = value;
      return;
    case 'Username':
      filter.username = value;
      return;
    case 'AccessKeyId':
      filter.accessKeyId = value;
      return;
    case 'ResourceName':
      filter.resourceName = value;
      return;
    case 'ResourceType':
      filter.resourceType = value;
      return;
    case 'ReadOnly':
      if (value !== 'true' && value !== 'false') throw new HistoryQueryError('InvalidLookupAttributesException', 'The ReadOnly attribute value must be true or false');
      filter.readOnly = value === 'true';
  }
}

const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));

function text(input: Record<string, unknown>, member: string, max = 2000): string | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw new HistoryQueryError('InvalidParameterException', `${member} must be a string of 1 to ${max} characters`);
  return value;
}

function flag(input: Record<string, unknown>, member: string): boolean | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new HistoryQueryError('InvalidParameterException', `${member} must be true or false`);
  return value;
}

/** The members of opentrail's QueryEvents, each an optional filter; all given ones must hold. */
export const QUERY_EVENTS_MEMBERS = [
  'Username',
  'EventName',
  'EventSource',
  'EventId',
  'AccessKeyId',
  'ResourceName',
  'ResourceType',
  'SourceIPAddress',
  'ErrorCode',
  'AccessDenied',
  'ReadOnly',
  'AccountId',
  'Region',
  'EventCategory',
  'StartTime',
  'EndTime',
  'MaxResults',
  'NextToken',
] as const;

const ALLOWED_QUERY_MEMBERS: ReadonlySet<string> = new Set(QUERY_EVENTS_MEMBERS);

function refuseUnknown(input: Record<string, unknown>, allowed: ReadonlySet<string>, operation: string) {
  for (const member of Object.keys(input)) {
    if (!allowed.has(member)) throw new HistoryQueryError('InvalidParameterException', `${operation} has no member ${JSON.stringify(member.slice(0, 64))}`);
  }
}

/**
 * QueryEvents: LookupEvents' answer and pagination with any combination of filters. Region
 * defaults to the region the request was signed for; EventCategory `insight` selects Insights,
 * absent means every other category (management, data, network activity).
 */
export function parseQueryEvents(input: Record<string, unknown>, signedRegion: string): PageRequest {
  refuseUnknown(input, ALLOWED_QUERY_MEMBERS, 'QueryEvents');
  const region = text(input, 'Region', 64) ?? signedRegion;
  const address = text(input, 'SourceIPAddress', 253);
  const filter: EventFilter = {
    region,
    category: category(input.EventCategory, 'all-but-insight'),
    ...optional('username', text(input, 'Username')),
    ...optional('eventName', text(input, 'EventName')),
    ...optional('eventSource', text(input, 'EventSource')),
    ...optional('eventId', text(input, 'EventId')),
    ...optional('accessKeyId', text(input, 'AccessKeyId')),
    ...optional('resourceName', text(input, 'ResourceName')),
    ...optional('resourceType', text(input, 'ResourceType')),
    ...optional('errorCode', text(input, 'ErrorCode', 256)),
    ...optional('accessDenied', flag(input, 'AccessDenied')),
    ...optional('readOnly', flag(input, 'ReadOnly')),
    ...optional('accountId', text(input, 'AccountId', 64)),
    ...optional('sourceAddress', address === undefined ? undefined : parseSourceAddress(address)),
  };
  const t = times(input);
  return {
    filter,
    ...t,
    maxResults: maxResults(input.MaxResults),
    ...optional('nextToken', nextToken(input.NextToken)),
    binding: ['QueryEvents', signedRegion, filter, t.startTime ?? null, t.endTime ?? null],
  };
}

const ALLOWED_HISTORY_MEMBERS: ReadonlySet<string> = new Set(['ResourceName', 'ResourceType', 'IncludeFailed', 'Region', 'StartTime', 'EndTime', 'MaxResults', 'NextToken']);

/**
 * GetResourceHistory: every change to one resource (events that are not read-only), newest first.
 * Failed calls changed nothing and are left out unless IncludeFailed is true. MaxResults 1 is
 * "the last change to X".
 */
export function parseResourceHistory(input: Record<string, unknown>, signedRegion: string): PageRequest {
  refuseUnknown(input, ALLOWED_HISTORY_MEMBERS, 'GetResourceHistory');
  const resourceName = text(input, 'ResourceName');
  if (resourceName === undefined) throw new HistoryQueryError('InvalidParameterException', 'ResourceName is required (an ARN or a plain name or id)');
  const includeFailed = flag(input, 'IncludeFailed') ?? false;
  const filter: EventFilter = {
    region: text(input, 'Region', 64) ?? signedRegion,
    category: 'all-but-insight',
    resourceName,
    ...optional('resourceType', text(input, 'ResourceType')),
    changesOnly: true,
    ...(includeFailed ? {} : { succeededOnly: true }),
  };
  const t = times(input);
  return {
    filter,
    ...t,
    maxResults: maxResults(input.MaxResults),
    ...optional('nextToken', nextToken(input.NextToken)),
    binding: ['GetResourceHistory', signedRegion, filter, t.startTime ?? null, t.endTime ?? null],
  };
}
