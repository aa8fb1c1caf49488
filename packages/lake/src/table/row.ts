import type { CloudTrailRecord } from '@opentrail/cloudtrail';
import { jsonText, ownValue } from './json-text.js';
import { type LakeField, type LakeType, lakeSchema } from './schema.js';
import { parseLakeTimestamp } from './timestamp.js';

/**
 * One row of the Lake table, as toLakeRow builds it and the Parquet file holds it. Names are
 * lakeSchema's; every value may be null (the record lacks the member, or holds something of
 * another JSON type, which then lives on in eventjson only).
 *
 * Maps are JS Maps, never objects: their keys are data (`__proto__`, `constructor`, …).
 * Timestamps are epoch milliseconds (UTC).
 */
export type LakeMap = ReadonlyMap<string, string | null>;

export interface LakeSessionIssuer {
  type: string | null;
  principalid: string | null;
  arn: string | null;
  accountid: string | null;
  username: string | null;
}

export interface LakeSessionContext {
  attributes: { creationdate: number | null; mfaauthenticated: string | null } | null;
  sessionissuer: LakeSessionIssuer | null;
  webidfederationdata: { federatedprovider: string | null; attributes: LakeMap | null } | null;
  sourceidentity: string | null;
  ec2roledelivery: string | null;
  ec2issuedinvpc: string | null;
}

export interface LakeUserIdentity {
  type: string | null;
  principalid: string | null;
  arn: string | null;
  accountid: string | null;
  accesskeyid: string | null;
  username: string | null;
  sessioncontext: LakeSessionContext | null;
  onbehalfof: { userid: string | null; identitystorearn: string | null } | null;
  inscopeof: { sourcearn: string | null; sourceaccount: string | null; issuertype: string | null; credentialsissuedto: string | null } | null;
  invokedby: string | null;
  identityprovider: string | null;
  credentialid: string | null;
}

export interface LakeResource {
  accountid: string | null;
  type: string | null;
  arn: string | null;
  arnprefix: string | null;
}

/** The columns a Parquet file stores: everything but the partition column. */
export interface LakeFileRow {
  eventversion: string | null;
  useridentity: LakeUserIdentity | null;
  eventtime: number | null;
  eventsource: string | null;
  eventname: string | null;
  awsregion: string | null;
  sourceipaddress: string | null;
  useragent: string | null;
  errorcode: string | null;
  errormessage: string | null;
  requestparameters: LakeMap | null;
  responseelements: LakeMap | null;
  additionaleventdata: LakeMap | null;
  requestid: string | null;
  eventid: string | null;
  readonly: boolean | null;
  resources: (LakeResource | null)[] | null;
  eventtype: string | null;
  apiversion: string | null;
  managementevent: boolean | null;
  recipientaccountid: string | null;
  sharedeventid: string | null;
  annotation: string | null;
  vpcendpointid: string | null;
  vpcendpointaccountid: string | null;
  serviceeventdetails: LakeMap | null;
  addendum: LakeMap | null;
  edgedevicedetails: LakeMap | null;
  insightdetails: LakeMap | null;
  eventcategory: string | null;
  tlsdetails: { tlsversion: string | null; ciphersuite: string | null; clientprovidedhostheader: string | null } | null;
  sessioncredentialfromconsole: string | null;
  eventjson: string | null;
  eventjsonchecksum: string | null;
}

export interface LakeRow extends LakeFileRow {
  /**
   * The partition: eventTime's UTC day, 'YYYY-MM-DD'. Null only when the record has no valid
   * eventTime, which the pipeline refuses before anything is archived (validateRecord).
   */
  eventdate: string | null;
}

/**
 * A CloudTrail record (the JSON object as a log file holds it) as a Lake row.
 *
 * Never throws, whatever the input: members are read as own data members only (a name never
 * reaches the prototype chain, no getter runs), a member of the wrong JSON type is null, strings
 * are made well-formed (a lone surrogate has no UTF-8 form; Parquet would hold U+FFFD anyway), and
 * nested values become JSON text through jsonText, which bounds depth. Time is linear in the
 * record's size: the schema, not the data, decides how deep the walk goes outside JSON text, and a
 * free-form member is written at most twice (its map values, and eventjson). `options.eventJson`
 * is the record's JSON text when the caller has it already; it is taken as it is.
 */
export function toLakeRow(record: CloudTrailRecord, options: { eventJson?: string } = {}): LakeRow {
  const source: unknown = record;
  const row = Object.create(null) as Record<string, unknown>;
  const object = isJsonObject(source) ? source : undefined;
  for (const field of lakeSchema) {
    row[field.name] = field.member === undefined || object === undefined ? null : lakeValue(ownValue(object, field.member), field.type);
  }
  // The caller may have the record's text already (the lake service: the log-file line the archiver
  // writes, writeRecordJson), which is cheaper than writing it again.
  row.eventjson = object === undefined ? null : (options.eventJson ?? jsonText(object) ?? null);
  const eventtime = row.eventtime as number | null;
  row.eventdate = eventtime === null ? null : new Date(eventtime).toISOString().slice(0, 10);
  // A plain object from here on: the names are lakeSchema's, and Arrow's builders and vitest's
  // equality expect ordinary objects.
  return { ...row } as unknown as LakeRow;
}

function lakeValue(value: unknown, type: LakeType): unknown {
  switch (type.kind) {
    case 'varchar':
      return typeof value === 'string' ? wellFormed(value) : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'timestamp':
      return typeof value === 'string' ? (parseLakeTimestamp(value) ?? null) : null;
    case 'map':
      return isJsonObject(value) ? lakeMap(value) : null;
    case 'row':
      return isJsonObject(value) ? lakeStruct(value, type.fields) : null;
    case 'array':
      // Elements read as own members: a hole is null, never Array.prototype[i].
      return Array.isArray(value) ? Array.from({ length: value.length }, (_, i) => lakeValue(ownValue(value, String(i)), type.element)) : null;
  }
}

function lakeStruct(object: object, fields: readonly LakeField[]): Record<string, unknown> {
  const struct: Record<string, unknown> = {};
  for (const field of fields) struct[field.name] = field.member === undefined ? null : lakeValue(ownValue(object, field.member), field.type);
  return struct;
}

/**
 * A free-form member as MAP(VARCHAR, VARCHAR): one entry per own member, in the record's order.
 * A name that two members share once made well-formed (two different lone surrogates both become
 * U+FFFD) keeps its first value: Trino refuses a map with a duplicate key.
 */
function lakeMap(object: object): Map<string, string | null> {
  const entries = new Map<string, string | null>();
  for (const name of Object.keys(object)) {
    const key = wellFormed(name);
    if (entries.has(key)) continue;
    entries.set(key, lakeMapValue(ownValue(object, name)));
  }
  return entries;
}

/**
 * A map value as Lake holds it: a string as itself, JSON null as SQL NULL, anything else (object,
 * array, number, boolean) as its JSON text, which json_extract / json_extract_scalar read
 * (schema.ts names the AWS sample queries). A value jsonText cannot write (nested beyond
 * LAKE_MAX_JSON_DEPTH) is NULL; the record's eventjson is then null too, since it holds the value.
 * Numbers and booleans as JSON text ('42', 'true') is our choice: the documentation is silent, and
 * it is also their plain text, so CAST(… AS BIGINT) and = 'true' work either way.
 */
export function lakeMapValue(value: unknown): string | null {
  if (typeof value === 'string') return wellFormed(value);
  if (value === null || value === undefined) return null;
  return jsonText(value) ?? null;
}

function isJsonObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const LONE_SURROGATE = /[\uD800-\uDFFF]/;

/** The string with each lone surrogate replaced by U+FFFD, as UTF-8 encoding would do. */
function wellFormed(text: string): string {
  // The test first: nearly every string has no surrogate at all.
  return LONE_SURROGATE.test(text) ? (text as unknown as { toWellFormed(): string }).toWellFormed() : text;
}
