import { writeRecordJson, type CloudTrailRecord } from '@opentrail/cloudtrail';
import type { ApiCallEvent, EnrichedEvent, Enrichment } from '@opentrail/serde';
import { OpentrailError } from '@opentrail/errors';

/** Members that travel as JSON text (schemas/api-call-event.avsc): parsed only when a rule reads them. */
export const JSON_TEXT_MEMBERS: ReadonlySet<string> = new Set([
  'requestParameters', 'responseElements', 'additionalEventData', 'serviceEventDetails', 'addendum',
  'edgeDeviceDetails', 'tlsDetails', 'eventContext', 'insightDetails',
]);

/** Members with a typed Avro field (a string or a boolean): read as they are. */
export const TYPED_MEMBERS: ReadonlySet<string> = new Set([
  'eventVersion', 'eventTime', 'eventSource', 'eventName', 'awsRegion', 'sourceIPAddress', 'userAgent',
  'errorCode', 'errorMessage', 'requestID', 'eventID', 'eventType', 'apiVersion', 'managementEvent',
  'readOnly', 'recipientAccountId', 'sharedEventID', 'vpcEndpointId', 'vpcEndpointAccountId',
  'eventCategory', 'sessionCredentialFromConsole', 'annotation',
]);

export const IDENTITY_TYPED_MEMBERS: ReadonlySet<string> = new Set(['type', 'principalId', 'arn', 'accountId', 'accessKeyId', 'userName', 'invokedBy', 'identityProvider', 'credentialId']);
export const IDENTITY_JSON_MEMBERS: ReadonlySet<string> = new Set(['sessionContext', 'onBehalfOf', 'inScopeOf', 'invokedByDelegate']);

const NOT_PARSED = Symbol('not parsed');

/** An event value a rule cannot evaluate (not a fault of the rule): the reason. */
export class RuleInputError extends OpentrailError<'INVALID_RULE_INPUT'> {
  constructor(reason: string) {
    super('INVALID_RULE_INPUT', reason);
  }
}

/**
 * One event as rules see it: the CloudTrail record, read straight from its Avro form. Typed members
 * cost nothing; JSON-text members (requestParameters, …) and the catch-all additionalFields are
 * parsed the first time a rule reads them and kept for the other rules, so an event that only
 * meets eventSource/eventName tests is never parsed at all.
 *
 * Absent members read as `undefined`, explicit JSON nulls as `null` (CloudTrail's
 * `"requestParameters": null` is text "null"; an explicit null of a typed member travels in
 * additionalFields, see @opentrail/cloudtrail codec).
 */
export class RuleEvent {
  readonly event: ApiCallEvent;
  readonly enrichment: Enrichment | null;
  private readonly parsed = new Map<string, unknown>();
  private extra: Record<string, unknown> | null | typeof NOT_PARSED = NOT_PARSED;
  private identityExtra: Record<string, unknown> | null | typeof NOT_PARSED = NOT_PARSED;
  private json: string | undefined;
  private recordObject: CloudTrailRecord | undefined;
  private resourceList: Record<string, string>[] | undefined;
  /** Lower-cased texts and objects' JSON texts, shared by every case-insensitive rule that reads the same value. */
  private lowered: Map<string, string> | undefined;
  private objectTexts: Map<object, string> | undefined;

  constructor(value: EnrichedEvent | ApiCallEvent) {
    if ('event' in value && 'enrichment' in value) {
      this.event = value.event;
      this.enrichment = value.enrichment;
    } else {
      this.event = value;
      this.enrichment = null;
    }
  }

  /** A typed member; null in Avro means absent unless additionalFields holds an explicit value. */
  typed(name: string): unknown {
    const value = (this.event as unknown as Record<string, unknown>)[name];
    return value !== null && value !== undefined ? value : this.extraMember(name);
  }

  /** A JSON-text member, parsed once. */
  jsonMember(name: string): unknown {
    const text = (this.event as unknown as Record<string, string | null>)[name];
    if (text === null || text === undefined) return this.extraMember(name);
    let value = this.parsed.get(name);
    if (value === undefined && !this.parsed.has(name)) {
      value = parseJson(text);
      this.parsed.set(name, value);
    }
    return value;
  }

  /** A member of userIdentity (typed, JSON text, or in its additionalFields). */
  identityMember(name: string): unknown {
    const identity = this.event.userIdentity;
    if (identity === null) {
      const fromExtra = this.extraMember('userIdentity');
      return isObject(fromExtra) ? ownValue(fromExtra, name) : undefined;
    }
    const fields = identity as unknown as Record<string, string | null>;
    if (IDENTITY_TYPED_MEMBERS.has(name)) {
      const value = fields[name];
      if (value !== null && value !== undefined) return value;
    } else if (IDENTITY_JSON_MEMBERS.has(name)) {
      const text = fields[name];
      if (text !== null && text !== undefined) {
        const key = `userIdentity.${name}`;
        if (!this.parsed.has(key)) this.parsed.set(key, parseJson(text));
        return this.parsed.get(key);
      }
    }
    if (this.identityExtra === NOT_PARSED) this.identityExtra = identity.additionalFields ? (parseJson(identity.additionalFields) as Record<string, unknown>) : null;
    return this.identityExtra ? ownValue(this.identityExtra, name) : undefined;
  }

  /** resources as CloudTrail writes them (members that are null are left out). */
  resources(): unknown {
    const list = this.event.resources;
    if (list === null) return this.extraMember('resources');
    return (this.resourceList ??= list.map((r) => {
      const out: Record<string, string> = {};
      if (r.ARN !== null) out.ARN = r.ARN;
      if (r.accountId !== null) out.accountId = r.accountId;
      if (r.type !== null) out.type = r.type;
      return out;
    }));
  }

  /** A top-level member that has no field of its own (or whose value did not fit it). */
  extraMember(name: string): unknown {
    if (this.extra === NOT_PARSED) {
      const text = this.event.additionalFields;
      // Most records have no such member: a substring test spares parsing the catch-all for each
      // rule that asks for an absent typed member (errorCode of a successful call, …).
      if (text === null || !text.includes(`"${name}":`)) return undefined;
      this.extra = parseJson(text) as Record<string, unknown>;
    }
    return this.extra ? ownValue(this.extra, name) : undefined;
  }

  /**
   * `text.toLowerCase()`, computed once per event: Sigma compares case-insensitively, and with many
   * rules on the same field (userAgent, eventName) each would otherwise lower-case it again.
   */
  lower(text: string): string {
    const cache = (this.lowered ??= new Map());
    let lowered = cache.get(text);
    if (lowered === undefined) {
      lowered = text.toLowerCase();
      cache.set(text, lowered);
    }
    return lowered;
  }

  /** An object's JSON text (Sigma compares whole objects as text), computed once per event and object. */
  objectText(value: object): string {
    const cache = (this.objectTexts ??= new Map());
    let text = cache.get(value);
    if (text === undefined) {
      try {
        text = JSON.stringify(value);
      } catch (err) {
        // JSON.stringify recurses: an object nested deeper than the stack allows cannot be compared
        // as text. Say so instead of a bare RangeError (the alerter counts it as a rule error on this
        // event and goes on; the producer's depth limit keeps such records out in the first place).
        if (err instanceof RangeError) throw new RuleInputError('an object is nested too deeply to be compared as JSON text');
        throw err;
      }
      cache.set(value, text);
    }
    return text;
  }

  /** The record's CloudTrail JSON text (for samples, keyword searches and whole-identity reads). */
  recordJson(): string {
    return (this.json ??= writeRecordJson(this.event));
  }

  record(): CloudTrailRecord {
    return (this.recordObject ??= JSON.parse(this.recordJson()) as CloudTrailRecord);
  }

  /** Event time in ms since the epoch. */
  get time(): number {
    return Date.parse(this.event.eventTime);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // The runtime's validation refuses such events; a rule must never crash on one that slipped through.
    return undefined;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function ownValue(object: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
}
