/**
 * Synthetic CloudTrail traffic for demos and benchmarks: records shaped like the ones AWS writes
 * (cloudtrail-spec.md §1), from many accounts, regions, services and identity types, with errors,
 * console sign-ins and STS sessions whose temporary keys are used by later calls.
 *
 * Deterministic: the same seed (and the same clock) gives the same records, so a benchmark or a
 * test can reproduce its input exactly. Nothing here reads Math.random or the wall clock except
 * through the options.
 */
import { formatEventTime, javaMediumDate, type CloudTrailRecord, type UserIdentityJson } from '@opentrail/cloudtrail';

export interface TrafficGeneratorOptions {
  /** Seed of the pseudo-random sequence. @default 1 */
  seed?: number;
  /** Distinct accounts, their ids derived from the seed. @default 20 */
  accounts?: number;
  /** Explicit account ids instead of derived ones (12 digits each). */
  accountIds?: readonly string[];
  /** The time of each event, asked once per record. @default the wall clock */
  clock?: () => Date;
}

/** The STS session a later call uses: the key AssumeRole handed out and who holds it. */
interface Session {
  accountId: string;
  identity: UserIdentityJson;
  /** Calls this session still makes before it is forgotten. */
  remainingCalls: number;
}

interface Account {
  id: string;
  users: string[];
  roles: string[];
  /** Stable per-principal values, so a principal keeps its ids, key and home address. */
  buckets: string[];
  identityStoreId: string;
}

/** What an API template needs to fill its request and response. */
interface CallContext {
  g: TrafficGenerator;
  account: Account;
  region: string;
  callerArn: string;
  now: Date;
}

interface ApiTemplate {
  source: string;
  name: string;
  weight: number;
  readOnly: boolean;
  /** Data events (object, item, invocation level) rather than management events. */
  data?: boolean;
  /** IAM and other global services record in us-east-1. */
  global?: boolean;
  /** The error a refused call of this API gets. @default AccessDenied */
  denied?: { code: string; message: (action: string, arn: string, resource: string) => string };
  request: (c: CallContext) => Record<string, unknown> | null;
  response?: (c: CallContext) => Record<string, unknown> | null;
  resources?: (c: CallContext, request: Record<string, unknown> | null) => { ARN: string; accountId: string; type: string }[];
}

const REGIONS: readonly (readonly [string, number])[] = [
  ['us-east-1', 30],
  ['us-west-2', 14],
  ['eu-west-1', 12],
  ['eu-central-1', 9],
  ['ap-southeast-2', 6],
  ['ap-northeast-1', 6],
  ['us-east-2', 6],
  ['eu-west-2', 5],
  ['ca-central-1', 4],
  ['sa-east-1', 3],
  ['ap-south-1', 3],
  ['eu-north-1', 2],
];

const USER_NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'oscar', 'peggy', 'trent', 'victor', 'walter'];
const ROLE_NAMES = ['Admin', 'ReadOnly', 'Developer', 'DataEngineer', 'ci-deployer', 'lambda-orders-exec', 'ecs-task-billing', 'SecurityAudit', 'OrganizationAccountAccessRole', 'AWSReservedSSO_PowerUserAccess_6c1b9d2e'];
const SERVICE_PRINCIPALS = ['lambda.amazonaws.com', 'ec2.amazonaws.com', 'ecs-tasks.amazonaws.com', 'cloudformation.amazonaws.com', 'autoscaling.amazonaws.com', 'config.amazonaws.com'];

const USER_AGENTS: readonly (readonly [string, number])[] = [
  ['aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1014-aws exe/x86_64.ubuntu.22 prompt/off command/s3.cp', 6],
  ['Boto3/1.34.50 md/Botocore#1.34.50 ua/2.0 os/linux#6.1.79-99.164.amzn2023.x86_64 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.50', 8],
  ['aws-sdk-js/3.525.0 ua/2.0 os/linux#5.10.209-198.858.amzn2.x86_64 lang/js md/nodejs#20.11.1 api/dynamodb#3.525.0', 6],
  ['aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.149.1', 4],
  ['APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) terraform-provider-aws/5.39.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0', 3],
  ['aws-sdk-java/2.25.6 Linux/5.10.209-198.858.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/legacy', 3],
  ['AWS Internal', 1],
];
const BROWSER = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36';

const TLS = [
  { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256' },
  { tlsVersion: 'TLSv1.2', cipherSuite: 'ECDHE-RSA-AES128-GCM-SHA256' },
];

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const HEX = '0123456789abcdef';

const accessDenied = (action: string, arn: string, resource: string) =>
  `User: ${arn} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`;
const ec2Unauthorized = () => 'You are not authorized to perform this operation. Encoded authorization failure message: 4sT0bL0cKs-Ex4mPl3';

/** The API mix: weights say how often each call appears, roughly as a busy AWS estate makes them. */
const APIS: readonly ApiTemplate[] = [
  {
    source: 's3.amazonaws.com', name: 'GetObject', weight: 14, readOnly: true, data: true,
    request: (c) => ({ bucketName: c.g.pick(c.account.buckets), Host: `${c.g.pick(c.account.buckets)}.s3.${c.region}.amazonaws.com`, key: `orders/2026/${c.g.int(1, 12)}/${c.g.hex(12)}.json` }),
    response: () => null,
    resources: (c, r) => [
      { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${String(r!.bucketName)}/${String(r!.key)}`, accountId: c.account.id },
      { accountId: c.account.id, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${String(r!.bucketName)}` },
    ],
  },
  {
    source: 's3.amazonaws.com', name: 'PutObject', weight: 8, readOnly: false, data: true,
    request: (c) => ({ bucketName: c.g.pick(c.account.buckets), Host: `s3.${c.region}.amazonaws.com`, key: `uploads/${c.g.hex(8)}/${c.g.hex(16)}.parquet`, 'x-amz-server-side-encryption': 'aws:kms' }),
    response: (c) => ({ 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': `arn:aws:kms:${c.region}:${c.account.id}:key/${c.g.uuid()}` }),
    resources: (c, r) => [
      { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${String(r!.bucketName)}/${String(r!.key)}`, accountId: c.account.id },
      { accountId: c.account.id, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${String(r!.bucketName)}` },
    ],
  },
  { source: 's3.amazonaws.com', name: 'ListBuckets', weight: 3, readOnly: true, request: () => ({ Host: 's3.amazonaws.com' }), response: () => null },
  {
    source: 's3.amazonaws.com', name: 'PutBucketPolicy', weight: 0.3, readOnly: false,
    request: (c) => {
      const bucket = c.g.pick(c.account.buckets);
      return { bucketName: bucket, Host: `${bucket}.s3.amazonaws.com`, policy: '', bucketPolicy: { Version: '2012-10-17', Statement: [{ Sid: 'AllowReadFromVpc', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*`, Condition: { StringEquals: { 'aws:SourceVpce': `vpce-${c.g.hex(17)}` } } }] } };
    },
    response: () => null,
    resources: (c, r) => [{ accountId: c.account.id, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${String(r!.bucketName)}` }],
  },
  {
    source: 'ec2.amazonaws.com', name: 'DescribeInstances', weight: 8, readOnly: true,
    denied: { code: 'Client.UnauthorizedOperation', message: ec2Unauthorized },
    request: () => ({ instancesSet: {}, filterSet: { items: [{ name: 'instance-state-name', valueSet: { items: [{ value: 'running' }] } }] } }),
    response: () => null,
  },
  {
    source: 'ec2.amazonaws.com', name: 'RunInstances', weight: 0.6, readOnly: false,
    denied: { code: 'Client.UnauthorizedOperation', message: ec2Unauthorized },
    request: (c) => ({ instancesSet: { items: [{ imageId: `ami-${c.g.hex(17)}`, minCount: 1, maxCount: 1 }] }, instanceType: c.g.pick(['t3.micro', 'm6i.large', 'c7g.xlarge']), blockDeviceMapping: {}, monitoring: { enabled: false }, disableApiTermination: false, clientToken: c.g.uuid() }),
    response: (c) => ({ requestId: c.g.uuid(), reservationId: `r-${c.g.hex(17)}`, ownerId: c.account.id, instancesSet: { items: [{ instanceId: `i-${c.g.hex(17)}`, instanceState: { code: 0, name: 'pending' }, placement: { availabilityZone: `${c.region}a`, tenancy: 'default' } }] } }),
  },
  {
    source: 'ec2.amazonaws.com', name: 'AuthorizeSecurityGroupIngress', weight: 0.5, readOnly: false,
    denied: { code: 'Client.UnauthorizedOperation', message: ec2Unauthorized },
    request: (c) => securityGroupRule(c),
    response: (c) => ({ requestId: c.g.uuid(), _return: true, securityGroupRuleSet: { items: [{ groupOwnerId: c.account.id, isEgress: false, securityGroupRuleId: `sgr-${c.g.hex(17)}` }] } }),
  },
  {
    source: 'ec2.amazonaws.com', name: 'CreateSecurityGroup', weight: 0.2, readOnly: false,
    denied: { code: 'Client.UnauthorizedOperation', message: ec2Unauthorized },
    request: (c) => ({ groupName: `svc-${c.g.hex(6)}`, groupDescription: 'managed by terraform', vpcId: `vpc-${c.g.hex(17)}` }),
    response: (c) => ({ requestId: c.g.uuid(), _return: true, groupId: `sg-${c.g.hex(17)}` }),
  },
  {
    source: 'iam.amazonaws.com', name: 'GetUser', weight: 2, readOnly: true, global: true,
    request: (c) => ({ userName: c.g.pick(c.account.users) }),
    response: () => null,
  },
  { source: 'iam.amazonaws.com', name: 'ListRoles', weight: 2, readOnly: true, global: true, request: () => null, response: () => null },
  {
    source: 'iam.amazonaws.com', name: 'AttachRolePolicy', weight: 0.3, readOnly: false, global: true,
    request: (c) => ({ roleName: c.g.pick(c.account.roles), policyArn: c.g.pick(['arn:aws:iam::aws:policy/ReadOnlyAccess', 'arn:aws:iam::aws:policy/AmazonS3FullAccess', 'arn:aws:iam::aws:policy/AdministratorAccess']) }),
    response: () => null,
  },
  {
    source: 'iam.amazonaws.com', name: 'CreateAccessKey', weight: 0.2, readOnly: false, global: true,
    request: (c) => ({ userName: c.g.pick(c.account.users) }),
    response: (c) => ({ accessKey: { userName: c.g.pick(c.account.users), accessKeyId: `AKIA${c.g.chars(16)}`, status: 'Active', createDate: javaMediumDate(c.now) } }),
  },
  {
    source: 'kms.amazonaws.com', name: 'Decrypt', weight: 7, readOnly: true,
    request: (c) => ({ encryptionAlgorithm: 'SYMMETRIC_DEFAULT', encryptionContext: { 'aws:s3:arn': `arn:aws:s3:::${c.g.pick(c.account.buckets)}` } }),
    response: () => null,
    resources: (c) => [{ accountId: c.account.id, type: 'AWS::KMS::Key', ARN: `arn:aws:kms:${c.region}:${c.account.id}:key/${c.g.uuid()}` }],
  },
  {
    source: 'kms.amazonaws.com', name: 'GenerateDataKey', weight: 4, readOnly: true,
    request: (c) => ({ keyId: `arn:aws:kms:${c.region}:${c.account.id}:alias/app-data`, keySpec: 'AES_256', encryptionContext: { 'aws:s3:arn': `arn:aws:s3:::${c.g.pick(c.account.buckets)}` } }),
    response: () => null,
    resources: (c) => [{ accountId: c.account.id, type: 'AWS::KMS::Key', ARN: `arn:aws:kms:${c.region}:${c.account.id}:key/${c.g.uuid()}` }],
  },
  {
    source: 'dynamodb.amazonaws.com', name: 'GetItem', weight: 8, readOnly: true, data: true,
    request: (c) => ({ tableName: c.g.pick(['orders', 'customers', 'sessions', 'inventory']), key: { pk: {}, sk: {} }, consistentRead: false, projectionExpression: 'pk, sk, #s, updatedAt' }),
    response: () => null,
    resources: (c, r) => [{ accountId: c.account.id, type: 'AWS::DynamoDB::Table', ARN: `arn:aws:dynamodb:${c.region}:${c.account.id}:table/${String(r!.tableName)}` }],
  },
  {
    source: 'dynamodb.amazonaws.com', name: 'DescribeTable', weight: 2, readOnly: true,
    request: (c) => ({ tableName: c.g.pick(['orders', 'customers', 'sessions', 'inventory']) }),
    response: () => null,
    resources: (c, r) => [{ accountId: c.account.id, type: 'AWS::DynamoDB::Table', ARN: `arn:aws:dynamodb:${c.region}:${c.account.id}:table/${String(r!.tableName)}` }],
  },
  {
    source: 'lambda.amazonaws.com', name: 'Invoke', weight: 5, readOnly: false, data: true,
    request: (c) => ({ functionName: `arn:aws:lambda:${c.region}:${c.account.id}:function:${c.g.pick(['orders-api', 'image-resize', 'billing-export', 'auth-authorizer'])}`, invocationType: 'RequestResponse', logType: 'None', sourceArn: null }),
    response: () => null,
    resources: (c, r) => [{ accountId: c.account.id, type: 'AWS::Lambda::Function', ARN: String(r!.functionName) }],
  },
  { source: 'lambda.amazonaws.com', name: 'ListFunctions20150331', weight: 1.5, readOnly: true, request: () => null, response: () => null },
  {
    source: 'sts.amazonaws.com', name: 'GetCallerIdentity', weight: 4, readOnly: true, global: true,
    request: () => null, response: () => null,
  },
  {
    source: 'secretsmanager.amazonaws.com', name: 'GetSecretValue', weight: 3, readOnly: true,
    request: (c) => ({ secretId: `arn:aws:secretsmanager:${c.region}:${c.account.id}:secret:prod/${c.g.pick(['db', 'stripe', 'sendgrid'])}-${c.g.chars(6)}` }),
    response: () => null,
  },
  {
    source: 'ssm.amazonaws.com', name: 'GetParameters', weight: 3, readOnly: true,
    request: (c) => ({ names: [`/app/${c.g.pick(['orders', 'billing', 'web'])}/config`, '/app/shared/feature-flags'], withDecryption: true }),
    response: () => null,
  },
  {
    source: 'logs.amazonaws.com', name: 'CreateLogStream', weight: 2, readOnly: false,
    request: (c) => ({ logGroupName: `/aws/lambda/${c.g.pick(['orders-api', 'image-resize', 'billing-export'])}`, logStreamName: `2026/12/01/[$LATEST]${c.g.hex(32)}` }),
    response: () => null,
  },
  {
    source: 'cloudtrail.amazonaws.com', name: 'LookupEvents', weight: 0.8, readOnly: true,
    request: () => ({ maxResults: 50, lookupAttributes: [{ attributeKey: 'EventName', attributeValue: 'ConsoleLogin' }] }),
    response: () => null,
  },
  {
    source: 'sqs.amazonaws.com', name: 'SendMessage', weight: 2, readOnly: false,
    request: (c) => ({ queueUrl: `https://sqs.${c.region}.amazonaws.com/${c.account.id}/orders-events` }),
    response: (c) => ({ mD5OfMessageBody: c.g.hex(32), messageId: c.g.uuid() }),
  },
  {
    source: 'ecr.amazonaws.com', name: 'GetAuthorizationToken', weight: 1.5, readOnly: true,
    request: () => null,
    response: () => ({ authorizationData: [{ authorizationToken: 'HIDDEN_DUE_TO_SECURITY_REASONS', expiresAt: 'Dec 2, 2026, 5:00:00 AM', proxyEndpoint: 'https://ecr.aws' }] }),
  },
  {
    source: 'rds.amazonaws.com', name: 'DescribeDBInstances', weight: 1.5, readOnly: true,
    request: () => ({ maxRecords: 100 }), response: () => null,
  },
];

function securityGroupRule(c: CallContext): Record<string, unknown> {
  const port = c.g.pick([22, 443, 3389, 5432, 8080]);
  return {
    groupId: `sg-${c.g.hex(17)}`,
    ipPermissions: { items: [{ ipProtocol: 'tcp', fromPort: port, toPort: port, groups: {}, ipRanges: { items: [{ cidrIp: c.g.pick(['0.0.0.0/0', '10.0.0.0/8', `${c.g.publicIp()}/32`]) }] }, ipv6Ranges: {}, prefixListIds: {} }] },
  };
}

const TOTAL_WEIGHT = APIS.reduce((sum, api) => sum + api.weight, 0);

/**
 * A seeded, deterministic source of realistic synthetic CloudTrail records.
 *
 * `next()` returns the next record of the mix; the named methods make one record (or a short
 * sequence) of a kind on purpose, for scenarios such as the demo's alert triggers. Every record
 * passes `validateRecord` of @opentrail/cloudtrail and averages about 1.5 KB of JSON.
 */
export class TrafficGenerator {
  readonly accountIds: readonly string[];
  private readonly accounts: Account[];
  private readonly clock: () => Date;
  private state: [number, number, number, number];
  /** Live STS sessions (the newest last): their keys are what AssumedRole callers present. */
  private readonly sessions: Session[] = [];
  /** Calls queued to come out of next() before the mix resumes (an AssumeRole's first uses, …). */
  private readonly queued: CloudTrailRecord[] = [];
  private readonly homes = new Map<string, string>();
  private readonly keys = new Map<string, string>();

  constructor(options: TrafficGeneratorOptions = {}) {
    this.state = seedState(options.seed ?? 1);
    this.clock = options.clock ?? (() => new Date());
    const ids = options.accountIds ?? Array.from({ length: Math.max(1, options.accounts ?? 20) }, () => `${this.int(1, 9)}${this.digits(11)}`);
    for (const id of ids) if (!/^\d{12}$/.test(id)) throw new Error(`account id must be 12 digits, got ${JSON.stringify(id)}`);
    this.accountIds = [...new Set(ids)];
    this.accounts = this.accountIds.map((id) => ({
      id,
      users: this.sample(USER_NAMES, this.int(3, 8)),
      roles: this.sample(ROLE_NAMES, this.int(4, ROLE_NAMES.length)),
      buckets: [`${id}-app-data`, `logs-${this.hex(6)}`, `${this.pick(['orders', 'media', 'analytics'])}-${this.hex(4)}`],
      identityStoreId: `d-${this.digits(10)}`,
    }));
  }

  /** The next record of the mix. */
  next(): CloudTrailRecord {
    const queued = this.queued.shift();
    if (queued) return queued;
    const roll = this.float();
    if (roll < 0.04) return this.consoleSignIn();
    if (roll < 0.08) return this.assumeRole();
    if (roll < 0.09) return this.samlOrWebIdentityAssumeRole();
    if (roll < 0.1) return this.federationToken();
    if (roll < 0.115) return this.identityCenterCall();
    if (roll < 0.14) return this.serviceCall();
    if (roll < 0.142) return this.rootActivity();
    return this.apiCall();
  }

  /** A ConsoleLogin record (cloudtrail-spec.md §1.6): success or "Failed authentication", with or without MFA. */
  consoleSignIn(options: { accountId?: string; userName?: string; outcome?: 'Success' | 'Failure'; mfa?: boolean; sourceIPAddress?: string } = {}): CloudTrailRecord {
    const account = this.account(options.accountId);
    const userName = options.userName ?? this.pick(account.users);
    const outcome = options.outcome ?? (this.chance(0.15) ? 'Failure' : 'Success');
    const mfa = options.mfa ?? this.chance(0.7);
    const failed = outcome === 'Failure';
    return this.envelope({
      account,
      region: 'us-east-1',
      source: 'signin.amazonaws.com',
      name: 'ConsoleLogin',
      eventType: 'AwsConsoleSignIn',
      readOnly: false,
      identity: {
        type: 'IAMUser',
        principalId: this.principalId('AIDA', account.id, userName),
        // A failed sign-in names the user only when the name exists; the key is always empty.
        ...(failed ? {} : { arn: `arn:aws:iam::${account.id}:user/${userName}` }),
        accountId: account.id,
        accessKeyId: '',
        userName,
      },
      sourceIPAddress: options.sourceIPAddress ?? this.homeAddress(`${account.id}/${userName}`),
      userAgent: BROWSER,
      requestParameters: null,
      responseElements: { ConsoleLogin: outcome },
      additionalEventData: {
        LoginTo: 'https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_a1b2c3',
        MobileVersion: 'No',
        MFAUsed: mfa ? 'Yes' : 'No',
        ...(mfa ? { MFAIdentifier: `arn:aws:iam::${account.id}:mfa/${userName}` } : {}),
      },
      error: failed ? { code: undefined, message: 'Failed authentication' } : undefined,
      tls: false,
    });
  }

  /** A call by the account's root user itself (what CIS 4.3 alarms on). */
  rootActivity(options: { accountId?: string } = {}): CloudTrailRecord {
    const account = this.account(options.accountId);
    const api = this.pick(APIS.filter((a) => !a.data && a.readOnly));
    return this.callRecord(account, api, {
      type: 'Root',
      principalId: account.id,
      arn: `arn:aws:iam::${account.id}:root`,
      accountId: account.id,
      accessKeyId: `ASIA${this.chars(16)}`,
      sessionContext: { attributes: { creationDate: formatEventTime(this.clock()), mfaAuthenticated: 'false' } },
    }, { userAgent: BROWSER, error: false });
  }

  /** A security group rule change by an IAM user (CIS 4.10; bursts of them trip the thresholds pack). */
  securityGroupChange(options: { accountId?: string; region?: string; sourceIPAddress?: string } = {}): CloudTrailRecord {
    const account = this.account(options.accountId);
    const api = APIS.find((a) => a.name === 'AuthorizeSecurityGroupIngress')!;
    return this.callRecord(account, api, this.iamUser(account), { error: false, region: options.region, sourceIPAddress: options.sourceIPAddress });
  }

  /** A call refused with AccessDenied or Client.UnauthorizedOperation (CIS 4.1). */
  deniedCall(options: { accountId?: string } = {}): CloudTrailRecord {
    const account = this.account(options.accountId);
    return this.callRecord(account, this.pickApi(), this.caller(account), { error: true });
  }

  /**
   * An sts:AssumeRole by an IAM user (or, with `caller`, by a session: role chaining). The session's
   * temporary key is used by the next calls of next() and later ones, as a real session would.
   */
  assumeRole(options: { accountId?: string; roleName?: string; caller?: UserIdentityJson; usesNow?: number } = {}): CloudTrailRecord {
    const account = this.account(options.accountId);
    const caller = options.caller ?? (this.chance(0.15) ? this.awsService() : this.iamUser(account));
    const roleName = options.roleName ?? this.pick(account.roles);
    const sessionName = caller.type === 'AWSService' ? this.hex(32) : `${caller.userName ?? this.pick(USER_NAMES)}-${this.digits(10)}`;
    return this.issue(account, 'AssumeRole', caller, roleName, sessionName, options.usesNow ?? 2, { roleArn: `arn:aws:iam::${account.id}:role/${roleName}`, roleSessionName: sessionName, durationSeconds: 3600 });
  }

  /**
   * An AssumeRole chain: a user assumes one role, uses it, and that session assumes a second role
   * whose key is then used in turn. The records come out of next() in order.
   */
  assumeRoleChain(options: { accountId?: string } = {}): CloudTrailRecord[] {
    const account = this.account(options.accountId);
    const [first, second] = this.sample(account.roles, 2) as [string, string];
    const hop1 = this.assumeRole({ accountId: account.id, roleName: first, caller: this.iamUser(account), usesNow: 1 });
    const session1 = this.sessions[this.sessions.length - 1]!;
    const uses1 = this.queued.splice(0);
    const hop2 = this.assumeRole({ accountId: account.id, roleName: second, caller: session1.identity, usesNow: 2 });
    const uses2 = this.queued.splice(0);
    return [hop1, ...uses1, hop2, ...uses2];
  }

  // ---- the mix ----------------------------------------------------------------------------------

  private apiCall(): CloudTrailRecord {
    const account = this.account();
    return this.callRecord(account, this.pickApi(), this.caller(account), {});
  }

  /** Who makes an ordinary call: mostly role sessions (most AWS traffic is), then IAM users. */
  private caller(account: Account): UserIdentityJson {
    const live = this.sessions.filter((s) => s.accountId === account.id);
    if (live.length > 0 && this.chance(0.75)) {
      const session = this.pick(live);
      if (--session.remainingCalls <= 0) this.sessions.splice(this.sessions.indexOf(session), 1);
      return session.identity;
    }
    return this.iamUser(account);
  }

  /** AWS services acting for the account: AWSService identity, the service as the source. */
  private serviceCall(): CloudTrailRecord {
    const account = this.account();
    const identity = this.awsService();
    const api = this.pick(APIS.filter((a) => a.source === 'kms.amazonaws.com' || a.source === 'logs.amazonaws.com'));
    return this.callRecord(account, api, identity, { sourceIPAddress: identity.invokedBy, userAgent: identity.invokedBy, error: false });
  }

  private samlOrWebIdentityAssumeRole(): CloudTrailRecord {
    const account = this.account();
    const roleName = this.pick(account.roles);
    const roleArn = `arn:aws:iam::${account.id}:role/${roleName}`;
    if (this.chance(0.5)) {
      const provider = `arn:aws:iam::${account.id}:saml-provider/Okta`;
      const user = `${this.pick(USER_NAMES)}@example.com`;
      const caller: UserIdentityJson = { type: 'SAMLUser', principalId: `${this.hashOf(provider)}:${user}`, userName: user, identityProvider: this.hashOf(provider) };
      return this.issue(account, 'AssumeRoleWithSAML', caller, roleName, user, 1, { SAMLAssertionID: `_${this.hex(32)}`, roleSessionName: user, roleArn, principalArn: provider, durationSeconds: 3600 }, { subject: user, subjectType: 'persistent', issuer: 'http://www.okta.com/exk1a2b3c4d5e6f7g8h9', audience: 'https://signin.aws.amazon.com/saml', nameQualifier: this.hashOf(provider) });
    }
    const subject = `system:serviceaccount:${this.pick(['payments', 'orders', 'platform'])}:${this.pick(['api', 'worker'])}`;
    const issuer = `oidc.eks.${this.pickRegion()}.amazonaws.com/id/${this.hex(32).toUpperCase()}`;
    const caller: UserIdentityJson = { type: 'WebIdentityUser', principalId: `${issuer}:sts.amazonaws.com:${subject}`, userName: subject, identityProvider: issuer };
    const sessionName = `botocore-session-${this.digits(10)}`;
    return this.issue(account, 'AssumeRoleWithWebIdentity', caller, roleName, sessionName, 1, { roleArn, roleSessionName: sessionName }, { subjectFromWebIdentityToken: subject, provider: `arn:aws:iam::${account.id}:oidc-provider/${issuer}`, audience: 'sts.amazonaws.com' });
  }

  /** sts:GetFederationToken by an IAM user; the FederatedUser session then makes calls. */
  private federationToken(): CloudTrailRecord {
    const account = this.account();
    const caller = this.iamUser(account);
    const name = `${caller.userName!}-federated`;
    const accessKeyId = `ASIA${this.chars(16)}`;
    const now = this.clock();
    const federated: UserIdentityJson = {
      type: 'FederatedUser',
      principalId: `${account.id}:${name}`,
      arn: `arn:aws:sts::${account.id}:federated-user/${name}`,
      accountId: account.id,
      accessKeyId,
      sessionContext: {
        sessionIssuer: { type: 'IAMUser', principalId: caller.principalId, arn: caller.arn, accountId: account.id, userName: caller.userName },
        webIdFederationData: {},
        attributes: { creationDate: formatEventTime(now), mfaAuthenticated: 'false' },
      },
    };
    this.sessions.push({ accountId: account.id, identity: federated, remainingCalls: this.int(3, 12) });
    this.trimSessions();
    return this.envelope({
      account, region: this.pickRegion(), source: 'sts.amazonaws.com', name: 'GetFederationToken', readOnly: true,
      identity: caller, sourceIPAddress: this.homeAddress(caller.arn!), userAgent: this.userAgent(),
      requestParameters: { name, durationSeconds: 43_200 },
      responseElements: {
        credentials: { accessKeyId, sessionToken: this.sessionToken(), expiration: javaMediumDate(new Date(now.getTime() + 43_200_000)) },
        federatedUser: { federatedUserId: `${account.id}:${name}`, arn: federated.arn },
        packedPolicySize: 6,
      },
    });
  }

  /** A call of the IAM Identity Center portal by one of its users. */
  private identityCenterCall(): CloudTrailRecord {
    const account = this.account();
    const user = this.pick(account.users);
    const name = this.pick(['ListAccounts', 'ListAccountRoles', 'GetRoleCredentials']);
    return this.envelope({
      account, region: this.pickRegion(), source: 'sso.amazonaws.com', name, readOnly: true,
      identity: {
        type: 'IdentityCenterUser',
        accountId: account.id,
        onBehalfOf: { userId: this.stableUuid(`${account.id}/${user}`), identityStoreArn: `arn:aws:identitystore::${account.id}:identitystore/${account.identityStoreId}` },
        credentialId: this.chars(40),
      },
      sourceIPAddress: this.homeAddress(`${account.id}/${user}`), userAgent: BROWSER,
      requestParameters: name === 'GetRoleCredentials' ? { roleName: 'PowerUserAccess', accountId: this.pick(this.accountIds) } : { maxResults: 100 },
      responseElements: null,
      additionalEventData: { identityStoreId: account.identityStoreId, userName: user },
    });
  }

  // ---- building blocks --------------------------------------------------------------------------

  /** An STS call that issues a session: the record, the session remembered, and its first uses queued. */
  private issue(
    account: Account,
    api: 'AssumeRole' | 'AssumeRoleWithSAML' | 'AssumeRoleWithWebIdentity',
    caller: UserIdentityJson,
    roleName: string,
    sessionName: string,
    usesNow: number,
    requestParameters: Record<string, unknown>,
    extraResponse: Record<string, unknown> = {},
  ): CloudTrailRecord {
    const now = this.clock();
    const roleId = this.principalId('AROA', account.id, roleName);
    const roleArn = `arn:aws:iam::${account.id}:role/${roleName}`;
    const sessionArn = `arn:aws:sts::${account.id}:assumed-role/${roleName}/${sessionName}`;
    const accessKeyId = `ASIA${this.chars(16)}`;
    const callerMfa = (caller.sessionContext as { attributes?: { mfaAuthenticated?: string } } | undefined)?.attributes?.mfaAuthenticated;
    const assumed: UserIdentityJson = {
      type: 'AssumedRole',
      principalId: `${roleId}:${sessionName}`,
      arn: sessionArn,
      accountId: account.id,
      accessKeyId,
      sessionContext: {
        sessionIssuer: { type: 'Role', principalId: roleId, arn: roleArn, accountId: account.id, userName: roleName },
        webIdFederationData: api === 'AssumeRoleWithWebIdentity' ? { federatedProvider: caller.identityProvider, attributes: {} } : {},
        attributes: { creationDate: formatEventTime(now), mfaAuthenticated: callerMfa ?? 'false' },
      },
    };
    const session: Session = { accountId: account.id, identity: assumed, remainingCalls: this.int(4, 30) };
    this.sessions.push(session);
    this.trimSessions();
    const fromService = caller.type === 'AWSService';
    const record = this.envelope({
      account,
      region: this.pickRegion(),
      source: 'sts.amazonaws.com',
      name: api,
      readOnly: true,
      identity: caller,
      sourceIPAddress: fromService ? caller.invokedBy! : caller.type === 'AssumedRole' ? this.homeAddress(caller.arn!) : this.homeAddress(caller.arn ?? caller.principalId!),
      userAgent: fromService ? caller.invokedBy! : this.userAgent(),
      requestParameters,
      responseElements: {
        credentials: { accessKeyId, sessionToken: this.sessionToken(), expiration: javaMediumDate(new Date(now.getTime() + 3_600_000)) },
        assumedRoleUser: { assumedRoleId: `${roleId}:${sessionName}`, arn: sessionArn },
        ...extraResponse,
      },
      resources: [{ accountId: account.id, type: 'AWS::IAM::Role', ARN: roleArn }],
      tls: !fromService,
    });
    // The first calls of a fresh session follow it closely, as a script that just assumed a role does.
    for (let i = 0; i < usesNow && session.remainingCalls > 0; i++, session.remainingCalls--) {
      this.queued.push(this.callRecord(account, this.pickApi(), assumed, { error: false }));
    }
    return record;
  }

  private callRecord(
    account: Account,
    api: ApiTemplate,
    identity: UserIdentityJson,
    options: { error?: boolean; region?: string; sourceIPAddress?: string; userAgent?: string },
  ): CloudTrailRecord {
    const region = api.global ? 'us-east-1' : (options.region ?? this.pickRegion());
    const callerArn = identity.arn ?? `arn:aws:iam::${account.id}:root`;
    const c: CallContext = { g: this, account, region, callerArn, now: this.clock() };
    const requestParameters = api.request(c);
    const failed = options.error ?? this.chance(0.06);
    const resources = api.resources?.(c, requestParameters);
    const action = `${api.source.split('.')[0]!}:${api.name}`;
    return this.envelope({
      account,
      region,
      source: api.source,
      name: api.name,
      readOnly: api.readOnly,
      data: api.data,
      identity,
      sourceIPAddress: options.sourceIPAddress ?? (identity.type === 'AWSService' ? identity.invokedBy! : this.homeAddress(callerArn)),
      userAgent: options.userAgent ?? this.userAgent(),
      requestParameters,
      responseElements: failed ? null : (api.response?.(c) ?? null),
      resources,
      error: failed
        ? api.denied
          ? { code: api.denied.code, message: api.denied.message(action, callerArn, resources?.[0]?.ARN ?? '*') }
          : { code: 'AccessDenied', message: accessDenied(action, callerArn, resources?.[0]?.ARN ?? `arn:aws:${api.source.split('.')[0]!}:${region}:${account.id}:*`) }
        : undefined,
    });
  }

  /** The members every record has, in CloudTrail's order. */
  private envelope(p: {
    account: Account;
    region: string;
    source: string;
    name: string;
    readOnly: boolean;
    data?: boolean;
    eventType?: string;
    identity: UserIdentityJson;
    sourceIPAddress: string;
    userAgent: string;
    requestParameters: Record<string, unknown> | null;
    responseElements: Record<string, unknown> | null;
    additionalEventData?: Record<string, unknown>;
    resources?: { ARN: string; accountId: string; type: string }[];
    error?: { code: string | undefined; message: string };
    tls?: boolean;
  }): CloudTrailRecord {
    const record: CloudTrailRecord = {
      eventVersion: p.data ? '1.10' : '1.09',
      userIdentity: p.identity,
      eventTime: formatEventTime(this.clock()),
      eventSource: p.source,
      eventName: p.name,
      awsRegion: p.region,
      sourceIPAddress: p.sourceIPAddress,
      userAgent: p.userAgent,
    };
    if (p.error?.code) record.errorCode = p.error.code;
    if (p.error) record.errorMessage = p.error.message;
    record.requestParameters = p.requestParameters;
    record.responseElements = p.responseElements;
    if (p.additionalEventData) record.additionalEventData = p.additionalEventData;
    else if (p.source === 's3.amazonaws.com') record.additionalEventData = { SignatureVersion: 'SigV4', CipherSuite: 'TLS_AES_128_GCM_SHA256', bytesTransferredIn: 0, AuthenticationMethod: 'AuthHeader', 'x-amz-id-2': this.chars(56), bytesTransferredOut: this.int(0, 90_000) };
    record.requestID = p.source === 's3.amazonaws.com' ? this.chars(16) : this.uuid();
    record.eventID = this.uuid();
    record.readOnly = p.readOnly;
    if (p.resources) record.resources = p.resources;
    record.eventType = p.eventType ?? 'AwsApiCall';
    record.managementEvent = !p.data;
    record.recipientAccountId = p.account.id;
    record.eventCategory = p.data ? 'Data' : 'Management';
    if (p.tls !== false && p.identity.type !== 'AWSService') {
      const tls = this.pick(TLS);
      record.tlsDetails = { ...tls, clientProvidedHostHeader: `${p.source.split('.')[0]!}.${p.region}.amazonaws.com` };
    }
    if (p.source === 'sso.amazonaws.com') record.sessionCredentialFromConsole = 'true';
    return record;
  }

  private iamUser(account: Account): UserIdentityJson {
    const userName = this.pick(account.users);
    const arn = `arn:aws:iam::${account.id}:user/${userName}`;
    return { type: 'IAMUser', principalId: this.principalId('AIDA', account.id, userName), arn, accountId: account.id, accessKeyId: this.longTermKey(arn), userName };
  }

  private awsService(): UserIdentityJson {
    return { type: 'AWSService', invokedBy: this.pick(SERVICE_PRINCIPALS) };
  }

  private account(id?: string): Account {
    if (id === undefined) return this.pick(this.accounts);
    const account = this.accounts.find((a) => a.id === id);
    if (!account) throw new Error(`account ${id} is not one of this generator's accounts`);
    return account;
  }

  private pickApi(): ApiTemplate {
    let roll = this.float() * TOTAL_WEIGHT;
    for (const api of APIS) if ((roll -= api.weight) < 0) return api;
    return APIS[0]!;
  }

  private pickRegion(): string {
    return this.weighted(REGIONS);
  }

  private userAgent(): string {
    return this.weighted(USER_AGENTS);
  }

  private trimSessions() {
    // Bounded memory: the oldest sessions end first (their credentials would have expired anyway).
    if (this.sessions.length > 200) this.sessions.splice(0, this.sessions.length - 200);
  }

  /** A principal's address: the same one every time (most principals work from one place). */
  private homeAddress(principal: string): string {
    let ip = this.homes.get(principal);
    if (!ip) this.homes.set(principal, (ip = this.publicIp()));
    return ip;
  }

  private longTermKey(arn: string): string {
    let key = this.keys.get(arn);
    if (!key) this.keys.set(arn, (key = `AKIA${this.chars(16)}`));
    return key;
  }

  /** IAM unique ids (AIDA…, AROA…) stable per name: derived from it, not from the sequence. */
  private principalId(prefix: string, accountId: string, name: string): string {
    return prefix + stableChars(`${accountId}/${prefix}/${name}`, 17);
  }

  private hashOf(text: string): string {
    return stableChars(text, 27).replace(/[^A-Z2-7]/g, 'A');
  }

  private stableUuid(text: string): string {
    const h = stableChars(text, 32).toLowerCase().replace(/[^0-9a-f]/g, (ch) => HEX[ch.charCodeAt(0) % 16]!);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  private sessionToken(): string {
    // Real session tokens are several hundred characters; CloudTrail logs them in full for STS calls.
    return `IQoJb3JpZ2luX2VjE${this.chars(180)}`;
  }

  // ---- the pseudo-random sequence (sfc32) -------------------------------------------------------

  /** A float in [0, 1). */
  float(): number {
    let [a, b, c, d] = this.state;
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    this.state = [a, b, c, d];
    return t / 4294967296;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)]!;
  }

  hex(length: number): string {
    let s = '';
    for (let i = 0; i < length; i++) s += HEX[Math.floor(this.float() * 16)];
    return s;
  }

  chars(length: number): string {
    let s = '';
    for (let i = 0; i < length; i++) s += ALNUM[Math.floor(this.float() * ALNUM.length)];
    return s;
  }

  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${HEX[8 + Math.floor(this.float() * 4)]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  /** A public IPv4 address (no private, loopback, multicast or reserved ranges: geo-IP can place it). */
  publicIp(): string {
    for (;;) {
      const a = this.int(1, 223);
      if (a === 10 || a === 127 || a === 100 || a === 169 || a === 172 || a === 192 || a === 198 || a === 203) continue;
      return `${a}.${this.int(0, 255)}.${this.int(0, 255)}.${this.int(1, 254)}`;
    }
  }

  private digits(length: number): string {
    let s = '';
    for (let i = 0; i < length; i++) s += String(Math.floor(this.float() * 10));
    return s;
  }

  private weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((sum, [, w]) => sum + w, 0);
    let roll = this.float() * total;
    for (const [item, w] of items) if ((roll -= w) < 0) return item;
    return items[0]![0];
  }

  private sample<T>(items: readonly T[], count: number): T[] {
    const pool = [...items];
    const out: T[] = [];
    while (out.length < count && pool.length > 0) out.push(pool.splice(Math.floor(this.float() * pool.length), 1)[0]!);
    return out;
  }
}

function seedState(seed: number): [number, number, number, number] {
  // splitmix32 spreads a small integer seed over sfc32's 128 bits of state.
  let x = seed >>> 0;
  const next = () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  return [next(), next(), next(), next()];
}

/** Characters of ALNUM derived from text by FNV-1a: stable ids that do not use up the sequence. */
function stableChars(text: string, length: number): string {
  let h = 0x811c9dc5;
  let s = '';
  for (let round = 0; s.length < length; round++) {
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ round, 0x01000193) >>> 0;
    for (let v = h, k = 0; k < 6 && s.length < length; k++, v >>>= 5) s += ALNUM[v & 31];
  }
  return s;
}
