import type { ApiCallEvent } from '@opentrail/serde';

/** A resource as LookupEvents shows it (`Event.Resources[]`). ResourceType may be null. */
export interface LookupResource {
  ResourceType: string | null;
  ResourceName: string;
}

/** What an event is found under: every name a ResourceName lookup matches (ARN and plain name/id). */
export interface ResourceKey {
  type: string | null;
  name: string;
}

export interface EventResources {
  /** For the `resources` column: what LookupEvents shows. */
  shown: LookupResource[];
  /** For event_resources: one row per name, both forms when known. */
  keys: ResourceKey[];
}

/** Where a value sits in requestParameters/responseElements: member names; `*` walks every array element. */
type Path = readonly string[];

interface Derivation {
  /** CloudTrail's resource type name. */
  type: string;
  /** Where the names are; the first path that yields values wins. */
  from: readonly { member: 'requestParameters' | 'responseElements'; path: Path }[];
  /** The ARN of a plain name (undefined: the value is already an ARN, or no ARN can be built). */
  arn?: (name: string, scope: Scope) => string | undefined;
  /** The plain name of a value that is not one (a URL, an ARN plainOfArn would misread); default: plainOfArn for ARNs, else the value. */
  plain?: (value: string) => string | undefined;
}

interface Scope {
  partition: string;
  region: string;
  account: string;
  /** Other members of the same request, e.g. the bucket of an object key. */
  request: unknown;
}

const req = (...path: string[]) => ({ member: 'requestParameters' as const, path });
const res = (...path: string[]) => ({ member: 'responseElements' as const, path });
const regional = (service: string, resource: (name: string) => string) => (name: string, s: Scope) =>
  s.account ? `arn:${s.partition}:${service}:${s.region}:${s.account}:${resource(name)}` : undefined;
const global = (service: string, resource: (name: string) => string) => (name: string, s: Scope) =>
  s.account ? `arn:${s.partition}:${service}::${s.account}:${resource(name)}` : undefined;

/**
 * Resource derivation for records without a `resources` member, per event source: which request
 * parameters and response elements name which resource type. Declarative on purpose: adding a
 * service is adding lines here (and a case to the table test).
 */
export const DERIVATIONS: ReadonlyMap<string, readonly Derivation[]> = new Map<string, Derivation[]>([
  ['s3.amazonaws.com', [
    { type: 'AWS::S3::Bucket', from: [req('bucketName')], arn: (name, s) => `arn:${s.partition}:s3:::${name}` },
    {
      type: 'AWS::S3::Object',
      from: [req('key')],
      arn: (key, s) => {
        const bucket = stringAt(s.request, ['bucketName'])[0];
        return bucket ? `arn:${s.partition}:s3:::${bucket}/${key}` : undefined;
      },
    },
  ]],
  ['iam.amazonaws.com', [
    { type: 'AWS::IAM::User', from: [req('userName'), res('user', 'userName')], arn: global('iam', (n) => `user/${n}`) },
    { type: 'AWS::IAM::Role', from: [req('roleName'), res('role', 'roleName')], arn: global('iam', (n) => `role/${n}`) },
    { type: 'AWS::IAM::Policy', from: [req('policyArn'), res('policy', 'arn')] },
    // Inline policies (PutRolePolicy, PutUserPolicy…) have a name only.
    { type: 'AWS::IAM::Policy', from: [req('policyName')] },
  ]],
  ['ec2.amazonaws.com', [
    {
      type: 'AWS::EC2::Instance',
      from: [req('instanceId'), req('instancesSet', 'items', '*', 'instanceId'), res('instancesSet', 'items', '*', 'instanceId')],
      arn: regional('ec2', (n) => `instance/${n}`),
    },
    {
      type: 'AWS::EC2::SecurityGroup',
      from: [req('groupId'), res('groupId'), req('groupSet', 'items', '*', 'groupId')],
      arn: regional('ec2', (n) => `security-group/${n}`),
    },
    { type: 'AWS::EC2::Volume', from: [req('volumeId'), res('volumeId')], arn: regional('ec2', (n) => `volume/${n}`) },
    { type: 'AWS::EC2::VPC', from: [req('vpcId'), res('vpc', 'vpcId')], arn: regional('ec2', (n) => `vpc/${n}`) },
  ]],
  ['lambda.amazonaws.com', [
    { type: 'AWS::Lambda::Function', from: [req('functionName'), res('functionName')], arn: regional('lambda', (n) => `function:${n}`),
      // arn:aws:lambda:region:account:function:name[:qualifier]
      plain: (v) => (v.startsWith('arn:') ? v.split(':')[6] : undefined) },
  ]],
  ['kms.amazonaws.com', [
    {
      type: 'AWS::KMS::Key',
      from: [req('keyId'), res('keyMetadata', 'keyId')],
      // Aliases (alias/…) name a key but are not its id: no key ARN can be built from one.
      arn: (n, s) => (/^[0-9a-f-]{36}$|^mrk-[0-9a-f]{32}$/.test(n) ? regional('kms', (k) => `key/${k}`)(n, s) : undefined),
    },
  ]],
  ['rds.amazonaws.com', [
    { type: 'AWS::RDS::DBInstance', from: [req('dBInstanceIdentifier'), res('dBInstanceIdentifier')], arn: regional('rds', (n) => `db:${n}`) },
  ]],
  ['dynamodb.amazonaws.com', [
    { type: 'AWS::DynamoDB::Table', from: [req('tableName'), res('tableDescription', 'tableName')], arn: regional('dynamodb', (n) => `table/${n}`) },
  ]],
  ['sns.amazonaws.com', [
    { type: 'AWS::SNS::Topic', from: [req('topicArn'), res('topicArn')] },
    { type: 'AWS::SNS::Topic', from: [req('name')], arn: regional('sns', (n) => n) },
  ]],
  ['sqs.amazonaws.com', [
    // https://sqs.region.amazonaws.com/account/name
    { type: 'AWS::SQS::Queue', from: [req('queueUrl'), res('queueUrl')], plain: lastSlashSegment, arn: regional('sqs', (n) => n) },
    { type: 'AWS::SQS::Queue', from: [req('queueName')], arn: regional('sqs', (n) => n) },
  ]],
  ['cloudtrail.amazonaws.com', [
    { type: 'AWS::CloudTrail::Trail', from: [req('name'), req('trailName'), res('trailARN')], arn: regional('cloudtrail', (n) => `trail/${n}`) },
  ]],
]);

/** Names longer than this are not indexed (LookupEvents values are at most 2000 characters). */
const MAX_NAME = 2000;
/** Values read per path at most (an instancesSet of 10,000 items is not 10,000 index rows). */
const MAX_VALUES = 100;

/**
 * The resources of an event: the record's own `resources` member where present (shown by ARN,
 * indexed by ARN and plain name), else derived from its parameters through DERIVATIONS (shown by
 * name, indexed by name and ARN where one can be built).
 */
export function eventResources(event: ApiCallEvent): EventResources {
  const shown: LookupResource[] = [];
  const keys = new KeyCollector();
  if (event.resources && event.resources.length > 0) {
    for (const r of event.resources) {
      if (!r.ARN || r.ARN.length > MAX_NAME) continue;
      shown.push({ ResourceType: r.type ?? null, ResourceName: r.ARN });
      keys.add(r.type ?? null, r.ARN);
      keys.add(r.type ?? null, plainOfArn(r.ARN));
    }
    return { shown: dedupeShown(shown), keys: keys.list() };
  }
  const derivations = event.eventSource ? DERIVATIONS.get(event.eventSource) : undefined;
  if (!derivations) return { shown, keys: [] };
  // Each member parsed when a derivation first needs it: responseElements (often the larger) is
  // read only when the request parameters did not name the resource.
  const parsed = new Map<'requestParameters' | 'responseElements', unknown>();
  const member = (name: 'requestParameters' | 'responseElements') => {
    if (!parsed.has(name)) parsed.set(name, parseJson(event[name]));
    return parsed.get(name);
  };
  const arnParts = (event.userIdentity?.arn ?? '').split(':');
  const scope: Scope = {
    partition: arnParts[0] === 'arn' && arnParts[1] ? arnParts[1] : 'aws',
    region: event.awsRegion,
    account: event.recipientAccountId ?? event.userIdentity?.accountId ?? '',
    request: member('requestParameters'),
  };
  for (const d of derivations) {
    for (const source of d.from) {
      const values = stringAt(member(source.member), source.path);
      if (values.length === 0) continue;
      for (const value of values) {
        const isArn = value.startsWith('arn:');
        const name = d.plain?.(value) ?? (isArn ? plainOfArn(value) : undefined) ?? value;
        const arn = isArn ? value : d.arn?.(name, scope);
        shown.push({ ResourceType: d.type, ResourceName: name });
        keys.add(d.type, name);
        if (arn) keys.add(d.type, arn);
        keys.add(d.type, value);
      }
      break;
    }
  }
  return { shown: dedupeShown(shown), keys: keys.list() };
}

class KeyCollector {
  private readonly seen = new Set<string>();
  private readonly keys: ResourceKey[] = [];
  add(type: string | null, name: string | undefined) {
    if (!name || name.length > MAX_NAME) return;
    const id = `${type ?? ''}\u0001${name}`;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.keys.push({ type, name });
  }
  list() {
    return this.keys;
  }
}

function dedupeShown(shown: LookupResource[]): LookupResource[] {
  const seen = new Set<string>();
  return shown.filter((r) => {
    const id = `${r.ResourceType ?? ''}\u0001${r.ResourceName}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/**
 * The plain name of an ARN: the resource part after `type/` or `type:` (the last `/` or `:`
 * segment), except S3, whose resource part is the bucket (or bucket/key) itself.
 */
export function plainOfArn(arn: string): string | undefined {
  const parts = arn.split(':');
  if (parts[0] !== 'arn' || parts.length < 6) return undefined;
  const resource = parts.slice(5).join(':');
  if (parts[2] === 's3') return resource || undefined;
  const cut = Math.max(resource.lastIndexOf('/'), resource.lastIndexOf(':'));
  return resource.slice(cut + 1) || undefined;
}

function lastSlashSegment(value: string): string | undefined {
  return value.slice(value.lastIndexOf('/') + 1) || undefined;
}

function parseJson(text: string | null): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The strings at `path` in `value`; own members only, `*` over array elements. Bounded by the path's length. */
export function stringAt(value: unknown, path: Path): string[] {
  let current: unknown[] = [value];
  for (const step of path) {
    const next: unknown[] = [];
    for (const v of current) {
      if (step === '*') {
        if (Array.isArray(v)) next.push(...v.slice(0, MAX_VALUES));
      } else if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.hasOwn(v, step)) {
        next.push((v as Record<string, unknown>)[step]);
      }
    }
    current = next;
  }
  return current.filter((v): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME).slice(0, MAX_VALUES);
}
