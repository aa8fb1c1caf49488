import { trailSchema, type Trail, type TrailInput, type TrailTag } from '@opentrail/trails';
import { ApiError } from './errors.js';

/**
 * Reading the trail operations' requests (botocore's CloudTrail model: member names, types,
 * required members) into opentrail's trail definition, with CloudTrail's error codes and messages.
 * Every check is done here, before anything is stored: a request either becomes a valid
 * `Trail` (the `trails:` schema accepts it) or is refused with the code CloudTrail gives.
 */

type Input = Record<string, unknown>;

/** A member of the request body, only if the body itself has it (never one of Object.prototype's). */
export function member(input: Input, name: string): unknown {
  return Object.hasOwn(input, name) ? input[name] : undefined;
}

export function optionalString(input: Input, name: string): string | undefined {
  const value = member(input, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ApiError('SerializationException', `${name} must be a string`);
  return value;
}

export function optionalBoolean(input: Input, name: string): boolean | undefined {
  const value = member(input, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new ApiError('SerializationException', `${name} must be a boolean`);
  return value;
}

export function optionalList(input: Input, name: string): unknown[] | undefined {
  const value = member(input, name);
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new ApiError('SerializationException', `${name} must be a list`);
  return value;
}

function isObject(value: unknown): value is Input {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The trail name rules of the BOTO `TrailName` doc (spec §5.2), each with its own message. */
export function trailNameProblem(name: string): string | undefined {
  if (name.length < 3) return `Trail name too short. Minimum allowed length: 3 characters. Specified name length: ${name.length} characters.`;
  if (name.length > 128) return `Trail name too long. Maximum allowed length: 128 characters. Specified name length: ${name.length} characters.`;
  if (!/^[A-Za-z0-9]/.test(name)) return 'Trail name must starts with a letter or number.';
  if (!/[A-Za-z0-9]$/.test(name)) return 'Trail name must ends with a letter or number.';
  if (!/^[A-Za-z0-9._-]+$/.test(name)) return 'Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).';
  if (/[._-]{2}/.test(name)) return 'Trail name cannot contain adjacent periods (.), hyphens (-) or underscores (_).';
  return undefined;
}

/** `arn:aws:cloudtrail:<region>:<account>:trail/<name>`: each part bounded, so the match is linear. */
const TRAIL_ARN = /^arn:(aws[a-z-]{0,20}):cloudtrail:([a-z]{2}(?:-[a-z]+){1,3}-\d{1,2}):(\d{12}):trail\/([^/]{1,128})$/;

export interface TrailArnParts {
  partition: string;
  region: string;
  accountId: string;
  name: string;
}

export function parseTrailArn(arn: string): TrailArnParts | undefined {
  const m = TRAIL_ARN.exec(arn);
  if (!m || trailNameProblem(m[4]!) !== undefined) return undefined;
  return { partition: m[1]!, region: m[2]!, accountId: m[3]!, name: m[4]! };
}

export const invalidArn = (arn: string) => new ApiError('CloudTrailARNInvalidException', `Invalid trail ARN: ${arn.slice(0, 300)}. A trail ARN has the form arn:aws:cloudtrail:us-east-2:123456789012:trail/MyTrail.`);

/** How a request names a trail: by name (in the caller's region) or by ARN (anywhere). */
export type TrailRef = { kind: 'name'; name: string } | ({ kind: 'arn'; arn: string } & TrailArnParts);

/**
 * The trail a request names in `memberName` (Name, TrailName): a valid name or a valid trail ARN.
 * An ARN-looking value that is not a trail ARN is CloudTrailARNInvalidException; anything else
 * that is not a valid name InvalidTrailNameException.
 */
export function trailRef(input: Input, memberName: string): TrailRef {
  const value = optionalString(input, memberName);
  if (value === undefined || value === '') throw new ApiError('InvalidTrailNameException', 'Trail name or ARN must not be empty.');
  if (value.startsWith('arn:')) {
    const parts = parseTrailArn(value);
    if (!parts) throw invalidArn(value);
    return { kind: 'arn', arn: value, ...parts };
  }
  const problem = trailNameProblem(value);
  if (problem) throw new ApiError('InvalidTrailNameException', problem);
  return { kind: 'name', name: value };
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IP_LIKE = /^\d{1,3}(?:\.\d{1,3}){3}$/;

export function bucketProblem(bucket: string): string | undefined {
  if (!BUCKET_NAME.test(bucket) || IP_LIKE.test(bucket) || bucket.includes('..') || bucket.includes('.-') || bucket.includes('-.')) return `Bucket name is not valid: ${bucket.slice(0, 300)}`;
  return undefined;
}

/** S3KeyPrefix: at most 200 characters (CloudTrail's limit), not starting or ending with "/", no empty segment. */
export function prefixProblem(prefix: string): string | undefined {
  if (prefix.length > 200) return `Prefix is too long. Maximum allowed length: 200 characters. Specified prefix length: ${prefix.length} characters.`;
  if (prefix.startsWith('/') || prefix.endsWith('/') || prefix.includes('//')) return `Invalid S3 key prefix: ${prefix}. It must not start or end with "/" or contain "//".`;
  // Control characters would make keys no client can write back.
  for (let i = 0; i < prefix.length; i++) {
    const c = prefix.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return 'Invalid S3 key prefix: it contains control characters.';
  }
  return undefined;
}

const SNS_TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]{0,20}:sns:([a-z]{2}(?:-[a-z]+){1,3}-\d{1,2}):(\d{12}):([A-Za-z0-9_-]{1,256})$/;

/** A topic given as name (in the trail's region and account) or ARN: the topic's ARN. */
export function snsTopicArnOf(nameOrArn: string, region: string, accountId: string): string {
  if (SNS_TOPIC_ARN.test(nameOrArn)) return nameOrArn;
  if (SNS_TOPIC_NAME.test(nameOrArn)) return `arn:aws:sns:${region}:${accountId}:${nameOrArn}`;
  throw new ApiError('InvalidSnsTopicNameException', `SNS topic name is not valid: ${nameOrArn.slice(0, 300)}. Use a topic name (letters, digits, "_", "-"; at most 256 characters) or a topic ARN.`);
}

const KMS_KEY_ID = /^(?:arn:aws[a-z-]{0,20}:kms:[a-z0-9-]{1,30}:\d{12}:(?:key|alias)\/[\w/+=,.@-]{1,256}|alias\/[\w/+=,.@-]{1,256}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|mrk-[0-9a-f]{32})$/;

export function checkKmsKeyId(keyId: string): void {
  if (!KMS_KEY_ID.test(keyId)) throw new ApiError('InvalidKmsKeyIdException', `Invalid KMS key id: ${keyId.slice(0, 300)}. Use a key id, a key ARN, alias/<name> or an alias ARN.`);
}

const LOG_GROUP_ARN = /^arn:aws[a-z-]{0,20}:logs:[a-z0-9-]{1,30}:\d{12}:log-group:[\w./#-]{1,512}(?::\*)?$/;
const ROLE_ARN = /^arn:aws[a-z-]{0,20}:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/** CloudWatchLogsLogGroupArn and CloudWatchLogsRoleArn: both or neither; "" (UpdateTrail) clears them. */
export function cloudWatchLogsOf(logGroupArn: string | undefined, roleArn: string | undefined): { logGroupArn: string; roleArn: string } | null | undefined {
  if (logGroupArn === undefined && roleArn === undefined) return undefined;
  if ((logGroupArn ?? '') === '' && (roleArn ?? '') === '') return null;
  if (!logGroupArn || !LOG_GROUP_ARN.test(logGroupArn)) throw new ApiError('InvalidCloudWatchLogsLogGroupArnException', 'You must specify a valid CloudWatch Logs log group ARN together with a role ARN.');
  if (!roleArn || !ROLE_ARN.test(roleArn)) throw new ApiError('InvalidCloudWatchLogsRoleArnException', 'You must specify a valid IAM role ARN for CloudWatch Logs delivery together with a log group ARN.');
  return { logGroupArn, roleArn };
}

/** Tags per trail (CloudTrail: 50). */
export const MAX_TAGS_PER_TRAIL = 50;
/** Letters, digits, spaces and `_ . : / = + - @` (the IAM tag character set). */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** A TagsList (AddTags, RemoveTags, CreateTrail): keys 1–128, values 0–256 characters, no `aws:` keys. */
export function tagsOf(list: unknown[], requireValue = false): TrailTag[] {
  if (list.length > 200) throw new ApiError('TagsLimitExceededException', `The number of tags in the request exceeds 200.`);
  const seen = new Set<string>();
  return list.map((raw) => {
    if (!isObject(raw)) throw new ApiError('InvalidTagParameterException', 'Each tag must be an object with a Key and an optional Value.');
    const key = member(raw, 'Key');
    const value = member(raw, 'Value');
    if (typeof key !== 'string' || key.length < 1 || key.length > 128 || !TAG_TEXT.test(key)) throw new ApiError('InvalidTagParameterException', `Tag key is not valid: it must be 1 to 128 letters, digits, spaces or _ . : / = + - @.`);
    if (key.toLowerCase().startsWith('aws:')) throw new ApiError('InvalidTagParameterException', `Tag keys starting with "aws:" are reserved for AWS use: ${key}`);
    if (value !== undefined && value !== null && (typeof value !== 'string' || value.length > 256 || !TAG_TEXT.test(value))) throw new ApiError('InvalidTagParameterException', `Tag value of key ${key} is not valid: it must be at most 256 letters, digits, spaces or _ . : / = + - @.`);
    if (requireValue && typeof value !== 'string') throw new ApiError('InvalidTagParameterException', `Tag ${key} has no value.`);
    if (seen.has(key)) throw new ApiError('InvalidTagParameterException', `Tag key ${key} appears more than once in the request.`);
    seen.add(key);
    return typeof value === 'string' ? { key, value } : { key };
  });
}

const OPERATORS = [
  ['Equals', 'equals'],
  ['StartsWith', 'startsWith'],
  ['EndsWith', 'endsWith'],
  ['NotEquals', 'notEquals'],
  ['NotStartsWith', 'notStartsWith'],
  ['NotEndsWith', 'notEndsWith'],
] as const;

const badSelectors = (message: string) => new ApiError('InvalidEventSelectorsException', message);

/** PutEventSelectors' EventSelectors (PascalCase) as the trail schema's eventSelectors; the schema checks values. */
export function basicSelectorsInput(list: unknown[]): NonNullable<TrailInput['eventSelectors']> {
  if (list.length > 5) throw badSelectors(`A trail can have at most 5 event selectors; the request has ${list.length}.`);
  return list.map((raw, i) => {
    if (!isObject(raw)) throw badSelectors(`EventSelectors[${i}] must be an object.`);
    const resources = member(raw, 'DataResources');
    if (resources !== undefined && resources !== null && !Array.isArray(resources)) throw badSelectors(`EventSelectors[${i}].DataResources must be a list.`);
    const rw = member(raw, 'ReadWriteType');
    const mgmt = member(raw, 'IncludeManagementEvents');
    const exclude = member(raw, 'ExcludeManagementEventSources');
    return {
      ...(rw !== undefined && rw !== null ? { readWriteType: rw as 'All' } : {}),
      ...(mgmt !== undefined && mgmt !== null ? { includeManagementEvents: mgmt as boolean } : {}),
      dataResources: ((resources as unknown[] | null | undefined) ?? []).map((r, j) => {
        if (!isObject(r)) throw badSelectors(`EventSelectors[${i}].DataResources[${j}] must be an object.`);
        return { type: member(r, 'Type') as 'AWS::S3::Object', values: (member(r, 'Values') ?? []) as string[] };
      }),
      ...(exclude !== undefined && exclude !== null ? { excludeManagementEventSources: exclude as 'kms.amazonaws.com'[] } : {}),
    };
  });
}

/** PutEventSelectors' AdvancedEventSelectors as the schema's advancedEventSelectors. */
export function advancedSelectorsInput(list: unknown[]): NonNullable<TrailInput['advancedEventSelectors']> {
  if (list.length === 0) throw badSelectors('AdvancedEventSelectors must hold at least one selector.');
  return list.map((raw, i) => {
    if (!isObject(raw)) throw badSelectors(`AdvancedEventSelectors[${i}] must be an object.`);
    const fields = member(raw, 'FieldSelectors');
    if (!Array.isArray(fields) || fields.length === 0) throw badSelectors(`AdvancedEventSelectors[${i}].FieldSelectors must hold at least one field selector.`);
    const name = member(raw, 'Name');
    return {
      ...(name !== undefined && name !== null ? { name: name as string } : {}),
      fieldSelectors: fields.map((f, j) => {
        if (!isObject(f)) throw badSelectors(`AdvancedEventSelectors[${i}].FieldSelectors[${j}] must be an object.`);
        const out: Record<string, unknown> = { field: member(f, 'Field') };
        for (const [api, ours] of OPERATORS) {
          const values = member(f, api);
          if (values !== undefined && values !== null) out[ours] = values;
        }
        return out as { field: string };
      }),
    };
  });
}

/** PutInsightSelectors' InsightSelectors as the schema's insightSelectors; each type at most once. */
export function insightSelectorsInput(list: unknown[]): NonNullable<TrailInput['insightSelectors']> {
  const bad = (message: string) => new ApiError('InvalidInsightSelectorsException', message);
  const seen = new Set<string>();
  return list.map((raw, i) => {
    if (!isObject(raw)) throw bad(`InsightSelectors[${i}] must be an object.`);
    const type = member(raw, 'InsightType');
    if (type !== 'ApiCallRateInsight' && type !== 'ApiErrorRateInsight') throw bad(`InsightSelectors[${i}].InsightType must be ApiCallRateInsight or ApiErrorRateInsight.`);
    if (seen.has(type)) throw bad(`InsightType ${type} appears more than once.`);
    seen.add(type);
    const categories = member(raw, 'EventCategories');
    if (categories === undefined || categories === null) return { insightType: type };
    if (!Array.isArray(categories) || categories.length === 0 || categories.length > 2 || !categories.every((c) => c === 'Management' || c === 'Data') || new Set(categories).size !== categories.length) {
      throw bad(`InsightSelectors[${i}].EventCategories must list Management and/or Data, each once.`);
    }
    return { insightType: type, eventCategories: categories as ('Management' | 'Data')[] };
  });
}

/** Which error code a schema problem at this path is, for a request that got past the checks above. */
function codeForPath(head: unknown): string {
  switch (head) {
    case 'name':
      return 'InvalidTrailNameException';
    case 'bucket':
      return 'InvalidS3BucketNameException';
    case 'prefix':
      return 'InvalidS3PrefixException';
    case 'eventSelectors':
    case 'advancedEventSelectors':
      return 'InvalidEventSelectorsException';
    case 'insightSelectors':
      return 'InvalidInsightSelectorsException';
    case 'encryption':
      return 'InvalidKmsKeyIdException';
    case 'notifications':
      return 'InvalidSnsTopicNameException';
    case 'cloudWatchLogs':
      return 'InvalidCloudWatchLogsLogGroupArnException';
    default:
      return 'InvalidParameterException';
  }
}

const API_PATH: Record<string, string> = {
  eventSelectors: 'EventSelectors',
  advancedEventSelectors: 'AdvancedEventSelectors',
  fieldSelectors: 'FieldSelectors',
  dataResources: 'DataResources',
  readWriteType: 'ReadWriteType',
  includeManagementEvents: 'IncludeManagementEvents',
  excludeManagementEventSources: 'ExcludeManagementEventSources',
  insightSelectors: 'InsightSelectors',
  field: 'Field',
  name: 'Name',
  type: 'Type',
  values: 'Values',
  ...Object.fromEntries(OPERATORS.map(([api, ours]) => [ours, api])),
};

/** `AdvancedEventSelectors[0].FieldSelectors[2].Field`: where the problem is, in the API's member names. */
function apiPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${Object.hasOwn(API_PATH, String(p)) ? API_PATH[String(p)] : String(p)}`)).join('');
}

/** Validates a complete definition with the `trails:` schema (the same rules as a configured trail). */
export function validTrail(candidate: TrailInput): Trail {
  const parsed = trailSchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new ApiError(codeForPath(issue.path[0]), `${apiPath(issue.path)}: ${issue.message}`.slice(0, 1000));
}
