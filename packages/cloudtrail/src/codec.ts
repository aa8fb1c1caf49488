import type { ApiCallEvent, Resource, UserIdentity } from '@opentrail/serde';
import type { CloudTrailRecord } from './record.js';

/**
 * The mapping between a CloudTrail record (JSON) and its Avro form, ApiCallEvent.
 *
 * A member goes into its typed field when its value fits (a string where a string belongs, …);
 * free-form members become JSON text; anything else — unknown members, or a value that does not
 * fit its field, such as an explicit null — goes into `additionalFields`. So every record
 * round-trips without loss, and the JSON writer below can splice the JSON text back in without
 * parsing it.
 */

type Kind = 'string' | 'boolean' | 'json' | 'userIdentity' | 'resources';

/** Members in CloudTrail's documented order (cloudtrail-spec.md §1.3): the order log files use. */
const EVENT_MEMBERS: readonly (readonly [keyof ApiCallEvent, Kind])[] = [
  ['eventVersion', 'string'],
  ['userIdentity', 'userIdentity'],
  ['eventTime', 'string'],
  ['eventSource', 'string'],
  ['eventName', 'string'],
  ['awsRegion', 'string'],
  ['sourceIPAddress', 'string'],
  ['userAgent', 'string'],
  ['errorCode', 'string'],
  ['errorMessage', 'string'],
  ['requestParameters', 'json'],
  ['responseElements', 'json'],
  ['additionalEventData', 'json'],
  ['requestID', 'string'],
  ['eventID', 'string'],
  ['eventType', 'string'],
  ['apiVersion', 'string'],
  ['managementEvent', 'boolean'],
  ['readOnly', 'boolean'],
  ['resources', 'resources'],
  ['recipientAccountId', 'string'],
  ['serviceEventDetails', 'json'],
  ['sharedEventID', 'string'],
  ['vpcEndpointId', 'string'],
  ['vpcEndpointAccountId', 'string'],
  // Only Insights records have it, and CloudTrail writes it before eventCategory there (§7.2).
  ['insightDetails', 'json'],
  ['eventCategory', 'string'],
  ['addendum', 'json'],
  ['sessionCredentialFromConsole', 'string'],
  ['edgeDeviceDetails', 'json'],
  ['tlsDetails', 'json'],
  ['eventContext', 'json'],
  ['annotation', 'string'],
];

const IDENTITY_MEMBERS: readonly (readonly [keyof UserIdentity, Kind])[] = [
  ['type', 'string'],
  ['principalId', 'string'],
  ['arn', 'string'],
  ['accountId', 'string'],
  ['accessKeyId', 'string'],
  ['userName', 'string'],
  ['invokedBy', 'string'],
  ['identityProvider', 'string'],
  ['credentialId', 'string'],
  ['sessionContext', 'json'],
  ['onBehalfOf', 'json'],
  ['inScopeOf', 'json'],
  ['invokedByDelegate', 'json'],
];

const EVENT_KIND = new Map<string, Kind>(EVENT_MEMBERS);
const IDENTITY_KIND = new Map<string, Kind>(IDENTITY_MEMBERS);

/** Fields the Avro schema requires; a record without them cannot be encoded (the producer fills them). */
export const REQUIRED_MEMBERS = ['eventVersion', 'eventTime', 'awsRegion', 'eventID'] as const;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fits(kind: Kind, value: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'json':
      return true;
    case 'userIdentity':
      return isPlainObject(value);
    case 'resources':
      return Array.isArray(value) && value.every(isTypedResource);
  }
}

const RESOURCE_KEYS = new Set(['ARN', 'accountId', 'type']);
function isTypedResource(entry: unknown): boolean {
  return isPlainObject(entry) && Object.entries(entry).every(([k, v]) => RESOURCE_KEYS.has(k) && typeof v === 'string');
}

function emptyIdentity(): UserIdentity {
  return {
    type: null, principalId: null, arn: null, accountId: null, accessKeyId: null, userName: null,
    invokedBy: null, identityProvider: null, credentialId: null, sessionContext: null, onBehalfOf: null,
    inScopeOf: null, invokedByDelegate: null, additionalFields: null,
  };
}

function emptyEvent(): ApiCallEvent {
  return {
    eventVersion: '', userIdentity: null, eventTime: '', eventSource: null, eventName: null, awsRegion: '',
    sourceIPAddress: null, userAgent: null, errorCode: null, errorMessage: null, requestParameters: null,
    responseElements: null, additionalEventData: null, requestID: null, eventID: '', eventType: null,
    apiVersion: null, managementEvent: null, readOnly: null, resources: null, recipientAccountId: null,
    serviceEventDetails: null, sharedEventID: null, vpcEndpointId: null, vpcEndpointAccountId: null,
    eventCategory: null, addendum: null, sessionCredentialFromConsole: null, edgeDeviceDetails: null,
    tlsDetails: null, eventContext: null, insightDetails: null, annotation: null, additionalFields: null,
  };
}

/**
 * Members that go to additionalFields are collected in a null-prototype object: in a plain one,
 * a member named `__proto__` would set the prototype instead of becoming a member, and be lost.
 */
function membersBag(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>;
}

function toUserIdentity(json: Record<string, unknown>): UserIdentity {
  const identity = emptyIdentity() as unknown as Record<string, unknown>;
  const extra = membersBag();
  for (const [member, value] of Object.entries(json)) {
    if (value === undefined) continue;
    const kind = IDENTITY_KIND.get(member);
    if (kind && fits(kind, value)) identity[member] = kind === 'json' ? JSON.stringify(value) : value;
    else extra[member] = value;
  }
  if (Object.keys(extra).length > 0) identity.additionalFields = JSON.stringify(extra);
  return identity as unknown as UserIdentity;
}

/** CloudTrail JSON → ApiCallEvent. Throws if a required member is missing or not a string. */
export function toApiCallEvent(record: CloudTrailRecord): ApiCallEvent {
  const event = emptyEvent() as unknown as Record<string, unknown>;
  const extra = membersBag();
  for (const [member, value] of Object.entries(record)) {
    if (value === undefined) continue;
    const kind = EVENT_KIND.get(member);
    if (!kind || !fits(kind, value)) {
      extra[member] = value;
      continue;
    }
    switch (kind) {
      case 'json':
        event[member] = JSON.stringify(value);
        break;
      case 'userIdentity':
        event[member] = toUserIdentity(value as Record<string, unknown>);
        break;
      case 'resources':
        event[member] = (value as Record<string, string>[]).map(
          (r): Resource => ({ ARN: r.ARN ?? null, accountId: r.accountId ?? null, type: r.type ?? null }),
        );
        break;
      default:
        event[member] = value;
    }
  }
  for (const member of REQUIRED_MEMBERS) {
    if (typeof record[member] !== 'string') throw new TypeError(`${member} must be a string`);
  }
  if (Object.keys(extra).length > 0) event.additionalFields = JSON.stringify(extra);
  return event as unknown as ApiCallEvent;
}

// Precomputed `"member":` prefixes: the writer is on the archiver's hot path.
const quoted = (name: string) => `${JSON.stringify(name)}:`;
const EVENT_WRITERS = EVENT_MEMBERS.map(([name, kind]) => [name, kind, quoted(name)] as const);
const IDENTITY_WRITERS = IDENTITY_MEMBERS.map(([name, kind]) => [name, kind, quoted(name)] as const);

function writeResources(resources: Resource[]): string {
  let out = '[';
  for (let i = 0; i < resources.length; i++) {
    const r = resources[i]!;
    let item = '';
    if (r.ARN !== null) item += `"ARN":${JSON.stringify(r.ARN)}`;
    if (r.accountId !== null) item += `${item ? ',' : ''}"accountId":${JSON.stringify(r.accountId)}`;
    if (r.type !== null) item += `${item ? ',' : ''}"type":${JSON.stringify(r.type)}`;
    out += `${i ? ',' : ''}{${item}}`;
  }
  return `${out}]`;
}

/** Appends the members of a JSON object text (`{"a":1}` → `"a":1`) after what is already written. */
function spliceMembers(written: string, objectJson: string | null): string {
  if (objectJson === null || objectJson.length <= 2) return written;
  const inner = objectJson.slice(1, -1);
  return written.length > 1 ? `${written},${inner}` : `${written}${inner}`;
}

/** UTF-8 bytes of userIdentity's JSON as the log file holds it (MAX_USER_IDENTITY_BYTES limits it). */
export function userIdentityJsonBytes(identity: UserIdentity): number {
  return Buffer.byteLength(writeUserIdentity(identity));
}

function writeUserIdentity(identity: UserIdentity): string {
  let out = '{';
  const fields = identity as unknown as Record<string, string | null>;
  for (const [name, , prefix] of IDENTITY_WRITERS) {
    const value = fields[name];
    if (value === null || value === undefined) continue;
    if (out.length > 1) out += ',';
    // JSON members are already JSON text; strings need quoting.
    out += prefix + (IDENTITY_KIND.get(name) === 'json' ? value : JSON.stringify(value));
  }
  return `${spliceMembers(out, identity.additionalFields)}}`;
}

/**
 * ApiCallEvent → the record's CloudTrail JSON text, as it goes into a log file. Free-form members
 * are spliced in as the JSON text they travel as: nothing is parsed and re-serialised.
 */
export function writeRecordJson(event: ApiCallEvent): string {
  let out = '{';
  const fields = event as unknown as Record<string, unknown>;
  for (const [name, kind, prefix] of EVENT_WRITERS) {
    const value = fields[name];
    if (value === null || value === undefined) continue;
    if (out.length > 1) out += ',';
    switch (kind) {
      case 'string':
        out += prefix + JSON.stringify(value);
        break;
      case 'boolean':
        out += prefix + (value ? 'true' : 'false');
        break;
      case 'json':
        out += prefix + (value as string);
        break;
      case 'userIdentity':
        out += prefix + writeUserIdentity(value as UserIdentity);
        break;
      case 'resources':
        out += prefix + writeResources(value as Resource[]);
        break;
    }
  }
  return `${spliceMembers(out, event.additionalFields)}}`;
}

/** ApiCallEvent → CloudTrail record object. */
export function toCloudTrailRecord(event: ApiCallEvent): CloudTrailRecord {
  return JSON.parse(writeRecordJson(event)) as CloudTrailRecord;
}

/**
 * Checks what the JSON writer relies on, for events that did not come through toApiCallEvent (a
 * producer writing Avro directly): every JSON-text member parses, and additionalFields is an object.
 * Returns a description of the first problem, or undefined.
 */
export function checkJsonMembers(event: ApiCallEvent): string | undefined {
  const fields = event as unknown as Record<string, unknown>;
  for (const name of EVENT_JSON_MEMBERS) {
    const text = fields[name];
    if (typeof text === 'string' && !parses(text)) return `${name} is not valid JSON text`;
  }
  const extra = objectText(event.additionalFields);
  if (extra === undefined) return 'additionalFields is not a JSON object';
  const twice = collision(extra, fields, EVENT_KIND);
  if (twice !== undefined) return `additionalFields holds ${JSON.stringify(twice)}, which the event also has as a field: the log line would name it twice`;
  const identity = event.userIdentity;
  if (identity) {
    const idFields = identity as unknown as Record<string, unknown>;
    for (const name of IDENTITY_JSON_MEMBERS) {
      const text = idFields[name];
      if (typeof text === 'string' && !parses(text)) return `userIdentity.${name} is not valid JSON text`;
    }
    const idExtra = objectText(identity.additionalFields);
    if (idExtra === undefined) return 'userIdentity.additionalFields is not a JSON object';
    const idTwice = collision(idExtra, idFields, IDENTITY_KIND);
    if (idTwice !== undefined) return `userIdentity.additionalFields holds ${JSON.stringify(idTwice)}, which userIdentity also has as a field: the log line would name it twice`;
  }
  return undefined;
}

/** A member of additionalFields that is also a non-null typed field (toApiCallEvent never does that). */
function collision(extra: Record<string, unknown> | null, fields: Record<string, unknown>, kinds: Map<string, Kind>): string | undefined {
  if (extra === null) return undefined;
  for (const name of Object.keys(extra)) {
    if (kinds.has(name) && fields[name] !== null && fields[name] !== undefined) return name;
  }
  return undefined;
}

// Every consumer of the raw topic runs checkJsonMembers on every event: the member lists are
// computed once, and the texts most members hold ("null", "{}") are recognised without a parse.
const EVENT_JSON_MEMBERS = EVENT_MEMBERS.filter(([, kind]) => kind === 'json').map(([name]) => name as string);
const IDENTITY_JSON_MEMBERS = IDENTITY_MEMBERS.filter(([, kind]) => kind === 'json').map(([name]) => name as string);
const TRIVIAL_JSON = new Set(['null', '{}', '[]', 'true', 'false', '""']);

function parses(text: string): boolean {
  if (text.length <= 5 && TRIVIAL_JSON.has(text)) return true;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The object a JSON text holds (null for none), or undefined when it is not an object's text. */
function objectText(text: string | null): Record<string, unknown> | null | undefined {
  if (text === null || text === '{}') return null;
  try {
    const value: unknown = JSON.parse(text);
    return isPlainObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
