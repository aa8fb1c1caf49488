/**
 * The columns of the Lake table: CloudTrail Lake's documented SQL schema for CloudTrail events.
 *
 * Source (called LAKE-SCHEMA below): AWS CloudTrail User Guide, "Supported SQL schemas for event data
 * stores", section "Supported schema for CloudTrail event record fields",
 * docs.aws.amazon.com/awscloudtrail/latest/userguide/query-supported-event-schemas.html (current
 * page, 2025/2026, the one that carries the "no longer open to new customers from May 31, 2026"
 * note). It lists Hive-style types (string, timestamp, boolean, map<string,string>, struct<…>,
 * array<…>); each maps to one Trino type: string → VARCHAR, timestamp → TIMESTAMP(3) (CloudTrail
 * times have second precision, cloudtrail-spec.md §1.3; milliseconds is the unit the Parquet files
 * hold, see arrow-types.ts), boolean → BOOLEAN, map → MAP, struct → ROW, array → ARRAY.
 *
 * Column and field order follow LAKE-SCHEMA. Where we depart from it or it is silent, the entry
 * says so ("our choice").
 */

/** A column type, in Trino's terms. One tree drives the Arrow types, the DDL and the row builder. */
export type LakeType =
  | { readonly kind: 'varchar' }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'timestamp' }
  /** MAP(VARCHAR, VARCHAR): the only map LAKE-SCHEMA has. */
  | { readonly kind: 'map' }
  | { readonly kind: 'row'; readonly fields: readonly LakeField[] }
  | { readonly kind: 'array'; readonly element: LakeType };

export interface LakeField {
  /** The lower-case Lake name: what SQL sees (Trino names are case-insensitive). */
  readonly name: string;
  readonly type: LakeType;
  /**
   * The record member the value comes from (`sourceIPAddress` for `sourceipaddress`), or undefined
   * for a column derived from the whole record. Lake's names are the members' names lower-cased.
   */
  readonly member: string | undefined;
}

const varchar: LakeType = { kind: 'varchar' };
const boolean: LakeType = { kind: 'boolean' };
const timestamp: LakeType = { kind: 'timestamp' };
const map: LakeType = { kind: 'map' };
const row = (...fields: LakeField[]): LakeType => ({ kind: 'row', fields });
const arrayOf = (element: LakeType): LakeType => ({ kind: 'array', element });
/** A field filled from the record member `member`, named as Lake names it: lower-cased. */
const field = (member: string, type: LakeType): LakeField => ({ name: member.toLowerCase(), type, member });
/** A field computed from the whole record rather than read from one member. */
const derived = (name: string, type: LakeType): LakeField => ({ name, type, member: undefined });

/** LAKE-SCHEMA `useridentity`: struct<…> with the members below, in its order. */
const userIdentityType = row(
  field('type', varchar),
  field('principalId', varchar),
  field('arn', varchar),
  field('accountId', varchar),
  field('accessKeyId', varchar),
  field('userName', varchar),
  field(
    'sessionContext',
    row(
      // LAKE-SCHEMA types creationdate as timestamp although records carry it as a string, in
      // ISO-8601 basic or extended form (cloudtrail-spec.md §1.4, both accepted).
      field('attributes', row(field('creationDate', timestamp), field('mfaAuthenticated', varchar))),
      field(
        'sessionIssuer',
        row(field('type', varchar), field('principalId', varchar), field('arn', varchar), field('accountId', varchar), field('userName', varchar)),
      ),
      field('webIdFederationData', row(field('federatedProvider', varchar), field('attributes', map))),
      field('sourceIdentity', varchar),
      field('ec2RoleDelivery', varchar),
      // The member as AWS's sample query spells it (userIdentity.sessionContext.ec2IssuedInVPC,
      // list-all-events-in-a-flatten-table-format.sql); the record's exact casing is unverified.
      field('ec2IssuedInVPC', varchar),
    ),
  ),
  field('onBehalfOf', row(field('userId', varchar), field('identityStoreArn', varchar))),
  field(
    'inScopeOf',
    row(
      field('sourceArn', varchar),
      field('sourceAccount', varchar),
      field('issuerType', varchar),
      // LAKE-SCHEMA spells this `credentiaisissuedto`, an evident typo of the record member
      // `credentialsIssuedTo` (cloudtrail-spec.md §1.4). Our choice: the record member lower-cased,
      // like every other Lake name. Open question until checked against a real event data store.
      field('credentialsIssuedTo', varchar),
    ),
  ),
  field('invokedBy', varchar),
  field('identityProvider', varchar),
  // Not in LAKE-SCHEMA; the record has it for Identity Center bearer tokens (cloudtrail-spec.md
  // §1.4). Our choice: appended last, so that every documented field keeps its position.
  field('credentialId', varchar),
);

/**
 * The table's data columns, in LAKE-SCHEMA order. Members LAKE-SCHEMA has no column for
 * (`eventContext`, `tlsDetails.keyExchange`, `userIdentity.invokedByDelegate`,
 * `sessionContext.assumedRoot`, unknown members, …) are in `eventjson` only, as in Lake.
 */
export const lakeSchema: readonly LakeField[] = [
  field('eventVersion', varchar),
  field('userIdentity', userIdentityType),
  field('eventTime', timestamp),
  field('eventSource', varchar),
  field('eventName', varchar),
  field('awsRegion', varchar),
  field('sourceIPAddress', varchar),
  field('userAgent', varchar),
  field('errorCode', varchar),
  field('errorMessage', varchar),
  // The three free-form members are map<string,string> in LAKE-SCHEMA: one entry per top-level
  // member, the value as text. Non-string values are JSON text: AWS's own sample queries read them
  // with json_extract_scalar(element_at(requestParameters, 'PublicAccessBlockConfiguration'),
  // '$.BlockPublicPolicy') and element_at(requestParameters, 'ipPermissions') LIKE '%0.0.0.0/0%'
  // (github.com/aws-samples/cloud-trail-lake-query-samples, s3-buckets-public-access-block-
  // historical-changes.sql, ec2-public-security-group.sql). See lakeMapValue in row.ts.
  field('requestParameters', map),
  field('responseElements', map),
  field('additionalEventData', map),
  field('requestID', varchar),
  field('eventID', varchar),
  field('readOnly', boolean),
  // Record entries are {ARN, accountId, type}, or {ARNPrefix, …} for S3 list calls
  // (packages/trails/src/selectors.ts); LAKE-SCHEMA has arn and arnprefix for them.
  field('resources', arrayOf(row(field('accountId', varchar), field('type', varchar), field('ARN', varchar), field('ARNPrefix', varchar)))),
  field('eventType', varchar),
  field('apiVersion', varchar),
  field('managementEvent', boolean),
  field('recipientAccountId', varchar),
  field('sharedEventID', varchar),
  field('annotation', varchar),
  field('vpcEndpointId', varchar),
  field('vpcEndpointAccountId', varchar),
  field('serviceEventDetails', map),
  field('addendum', map),
  field('edgeDeviceDetails', map),
  field('insightDetails', map),
  field('eventCategory', varchar),
  // LAKE-SCHEMA has three members; the record's newer keyExchange is in eventjson only.
  field('tlsDetails', row(field('tlsVersion', varchar), field('cipherSuite', varchar), field('clientProvidedHostHeader', varchar))),
  // A string in the record ("true") and in LAKE-SCHEMA alike.
  field('sessionCredentialFromConsole', varchar),
  // The whole record as JSON text: Lake's own sample queries reach members the columns do not
  // hold through it (json_extract_scalar(eventjson, '$.requestParameters.tagSet.items[0].key'),
  // tag-history-by-resource.sql). Also what ingest recovery rebuilds the record from.
  derived('eventjson', varchar),
  // LAKE-SCHEMA lists it but documents neither the algorithm nor the text form. Our choice: the
  // column exists (queries naming it still run) and holds null until that is known.
  derived('eventjsonchecksum', varchar),
];

/**
 * The Hive partition column: the UTC day of eventTime, 'YYYY-MM-DD'. Not in LAKE-SCHEMA (Lake does
 * not expose its storage layout); ours, so that a time-bounded query reads only its days. Hive
 * requires partition columns after the data columns, and derives their values from the object
 * path (`eventdate=2026-12-07/`), so the Parquet files do not store it.
 */
export const LAKE_PARTITION_COLUMN: LakeField = derived('eventdate', varchar);

/**
 * The Trino spelling of a type, as the DDL writes it. ROW field names are quoted: `type` and the
 * like are, or could become, Trino keywords; the names are lakeSchema's ([a-z0-9]), so quoting
 * needs no escaping.
 */
export function trinoType(type: LakeType): string {
  switch (type.kind) {
    case 'varchar':
      return 'VARCHAR';
    case 'boolean':
      return 'BOOLEAN';
    case 'timestamp':
      return 'TIMESTAMP(3)';
    case 'map':
      return 'MAP(VARCHAR, VARCHAR)';
    case 'row':
      return `ROW(${type.fields.map((f) => `"${f.name}" ${trinoType(f.type)}`).join(', ')})`;
    case 'array':
      return `ARRAY(${trinoType(type.element)})`;
  }
}
