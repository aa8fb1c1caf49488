import { createHash } from 'node:crypto';
import { acceptedRegions } from '@opentrail/cloudtrail';
import { ANY_CHAR, ANY_RUN, compileGlob, type GlobMatcher, type GlobToken } from '@opentrail/rules';
import { ApiError, type Caller } from './operations.js';
import { AuthError } from './sigv4.js';
import type { Target } from './targets.js';

/**
 * Who may call what (issue 14): every access key belongs to a principal (an IAM user, the account
 * root, or a role), and every principal to a simple identity policy: the actions it is allowed,
 * with IAM's wildcards (`cloudtrail:*`, `cloudtrail:Describe*`, `opentrail:*`, `*`), and the
 * actions it is denied; a deny wins over any allow, and what no allow names is refused, as IAM
 * evaluates an identity-based policy. The refusal is CloudTrail's `AccessDeniedException` with
 * IAM's message.
 *
 * Action patterns are matched with the linear glob of @opentrail/rules (no regular expression is
 * ever built from configuration or request text), case-insensitively as IAM matches actions.
 */

/** The identity of a principal, as CloudTrail writes it into `userIdentity` (cloudtrail-spec.md §1.4). */
export interface Principal {
  type: 'IAMUser' | 'AssumedRole' | 'Root';
  /** userIdentity.arn: the user's ARN, the root's, or the role session's (`arn:aws:sts::…:assumed-role/Role/Session`). */
  arn: string;
  /** AIDA… for a user, AROA…:session for a role session, the account id for the root. */
  principalId: string;
  accountId: string;
  /** The user name; for a role session, the session name (what event history's Username shows); `root` for the root. */
  userName: string;
  /** The partition of the ARN (`aws`, `aws-cn`, `aws-us-gov`), for the ARNs of the resources it names. */
  partition: string;
  /** For a role session: the role (sessionContext.sessionIssuer). */
  sessionIssuer?: { type: 'Role'; principalId: string; arn: string; accountId: string; userName: string };
}

/** The caller of one request once authenticated and identified: what operations and the audit record see. */
export interface CallerIdentity extends Caller {
  accountId: string;
  principalArn: string;
  userName: string;
  principal: Principal;
}

// Principal ARNs come from configuration only. Each alternative is a run of disjoint character
// classes: no ambiguity, so matching is linear.
const NAME = '[\\w+=,.@-]{1,64}';
const PATH = '(?:[\\w+=,.@-]+/)*';
const USER_ARN = new RegExp(`^arn:(aws|aws-cn|aws-us-gov):iam::(\\d{12}):user/${PATH}(${NAME})$`);
const ROOT_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):root$/;
const ROLE_ARN = new RegExp(`^arn:(aws|aws-cn|aws-us-gov):iam::(\\d{12}):role/${PATH}(${NAME})$`);
const ASSUMED_ROLE_ARN = new RegExp(`^arn:(aws|aws-cn|aws-us-gov):sts::(\\d{12}):assumed-role/(${NAME})/([\\w+=,.@-]{2,64})$`);
export const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/** Describes which principal ARNs are accepted, for configuration messages. */
export const PRINCIPAL_ARN_FORMS =
  'an IAM user (arn:aws:iam::<account>:user/<name>), the root (arn:aws:iam::<account>:root), a role (arn:aws:iam::<account>:role/<name>) or a role session (arn:aws:sts::<account>:assumed-role/<role>/<session>)';

/**
 * A unique id in the shape IAM gives (a four-letter prefix and 17 upper-case letters and digits),
 * derived from the ARN so that it is the same on every API instance and after every restart.
 */
function uniqueId(prefix: 'AIDA' | 'AROA', arn: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const digest = createHash('sha256').update(arn).digest();
  let id = prefix;
  for (let i = 0; i < 17; i++) id += alphabet[digest[i]! % 32];
  return id;
}

/**
 * The principal an ARN names. A role ARN stands for sessions of that role named `sessionName`
 * (default: the role's name), as a caller with assumed-role credentials is recorded; `principalId`
 * replaces the derived unique id (AIDA… / AROA…) when the real one should appear in the records.
 * Returns undefined for an ARN of no accepted form.
 */
export function principalOf(arn: string, options: { sessionName?: string | undefined; principalId?: string | undefined } = {}): Principal | undefined {
  let m = USER_ARN.exec(arn);
  if (m) return { type: 'IAMUser', arn, principalId: options.principalId ?? uniqueId('AIDA', arn), accountId: m[2]!, userName: m[3]!, partition: m[1]! };
  m = ROOT_ARN.exec(arn);
  if (m) return { type: 'Root', arn, principalId: m[2]!, accountId: m[2]!, userName: 'root', partition: m[1]! };
  let role: { partition: string; accountId: string; name: string; roleArn: string; session: string } | undefined;
  m = ROLE_ARN.exec(arn);
  if (m) role = { partition: m[1]!, accountId: m[2]!, name: m[3]!, roleArn: arn, session: options.sessionName ?? m[3]! };
  m = ASSUMED_ROLE_ARN.exec(arn);
  if (m) role = { partition: m[1]!, accountId: m[2]!, name: m[3]!, roleArn: `arn:${m[1]!}:iam::${m[2]!}:role/${m[3]!}`, session: m[4]! };
  if (!role) return undefined;
  if (!SESSION_NAME.test(role.session)) return undefined;
  const roleId = options.principalId ?? uniqueId('AROA', role.roleArn);
  return {
    type: 'AssumedRole',
    arn: `arn:${role.partition}:sts::${role.accountId}:assumed-role/${role.name}/${role.session}`,
    principalId: `${roleId}:${role.session}`,
    accountId: role.accountId,
    userName: role.session,
    partition: role.partition,
    sessionIssuer: { type: 'Role', principalId: roleId, arn: role.roleArn, accountId: role.accountId, userName: role.name },
  };
}

/** `*`, or `<service>:<action>` where the action may hold `*` and `?` (IAM's action wildcards). */
export const ACTION_PATTERN = /^(?:\*|[a-z0-9-]{1,64}:[A-Za-z0-9*?]{1,128})$/;

function compileAction(pattern: string): GlobMatcher {
  const tokens: GlobToken[] = [];
  for (const ch of pattern.toLowerCase()) tokens.push(ch === '*' ? ANY_RUN : ch === '?' ? ANY_CHAR : ch);
  return compileGlob(tokens);
}

export type Decision = 'allow' | 'explicitDeny' | 'implicitDeny';

/** An identity policy: allowed and denied action patterns, compiled once. */
export class ActionPolicy {
  private readonly allows: GlobMatcher[];
  private readonly denies: GlobMatcher[];

  constructor(allow: readonly string[], deny: readonly string[] = []) {
    for (const p of [...allow, ...deny]) if (!ACTION_PATTERN.test(p)) throw new RangeError(`${JSON.stringify(p)} is not an action pattern such as cloudtrail:Describe* or opentrail:*`);
    this.allows = allow.map(compileAction);
    this.denies = deny.map(compileAction);
  }

  /** IAM's order: an explicit deny wins, then an allow, else the implicit deny. */
  decide(action: string): Decision {
    const a = action.toLowerCase();
    if (this.denies.some((m) => m(a))) return 'explicitDeny';
    return this.allows.some((m) => m(a)) ? 'allow' : 'implicitDeny';
  }

  static readonly FULL_ACCESS = new ActionPolicy(['*']);
}

/** The IAM action of an operation: `cloudtrail:<Op>`, or `opentrail:<Op>` for opentrail's own API. */
export function actionOf(target: NonNullable<Target>): string {
  return `${target.api}:${target.operation}`;
}

const TRAIL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$/;
const TRAIL_ARN = /^arn:aws[a-z-]{0,16}:cloudtrail:[a-z0-9-]{1,32}:\d{12}:trail\/[A-Za-z0-9._-]{3,128}$/;
/** Request members that name the trail an operation acts on (CloudTrail's request shapes). */
const TRAIL_MEMBERS = ['Name', 'TrailName', 'ResourceId'] as const;

/**
 * The resource named in an AccessDenied message: the trail's ARN when the request names a trail
 * (by ARN, or by name in the caller's account and region), else `*`. Text that is neither a trail
 * name nor a trail ARN is never echoed.
 */
export function resourceOf(input: Record<string, unknown>, caller: CallerIdentity): string {
  let value: unknown;
  for (const member of TRAIL_MEMBERS) {
    if (Object.hasOwn(input, member)) {
      value = input[member];
      break;
    }
  }
  if (value === undefined && Object.hasOwn(input, 'ResourceIdList') && Array.isArray(input.ResourceIdList)) value = input.ResourceIdList[0];
  if (typeof value !== 'string' || value.length > 2048) return '*';
  if (TRAIL_ARN.test(value)) return value;
  if (TRAIL_NAME.test(value)) return `arn:${caller.principal.partition}:cloudtrail:${caller.region}:${caller.accountId}:trail/${value}`;
  return '*';
}

export interface AccessKeyGrant {
  accessKeyId: string;
  secretAccessKey: string;
  principal: Principal;
  policy: ActionPolicy;
}

/** What the API's configuration says about callers (config.ts: `api.principals`, `api.accessKeys`). */
export interface AuthorizationConfig {
  principals: { arn: string; sessionName?: string | undefined; principalId?: string | undefined; accessKeys: { accessKeyId: string; secretAccessKey: string }[]; allow: string[]; deny: string[] }[];
  /** Keys with full access, each its own IAM user in its `accountId`, else `defaultAccountId` (the configuration before principals existed). */
  accessKeys: { accessKeyId: string; secretAccessKey: string; accountId?: string | undefined }[];
  defaultAccountId: string;
  additionalRegions?: string[];
}

/** An IAM user name for a bare access key: the key id, with characters IAM does not allow in names replaced. */
function legacyUserName(accessKeyId: string): string {
  return accessKeyId.replace(/[^\w+=,.@-]/g, '-').slice(0, 64) || 'opentrail';
}

export class Authorizer {
  private readonly grants = new Map<string, AccessKeyGrant>();
  /** Access key id → secret, for the SigV4 check. */
  readonly secrets = new Map<string, string>();
  private readonly regions: ReadonlySet<string>;

  constructor(grants: AccessKeyGrant[], options: { additionalRegions?: string[] } = {}) {
    for (const g of grants) {
      if (this.grants.has(g.accessKeyId)) throw new RangeError(`access key ${g.accessKeyId} is configured twice`);
      this.grants.set(g.accessKeyId, g);
      this.secrets.set(g.accessKeyId, g.secretAccessKey);
    }
    this.regions = acceptedRegions(options.additionalRegions ? { additionalRegions: options.additionalRegions } : {});
  }

  static fromConfig(c: AuthorizationConfig): Authorizer {
    const grants: AccessKeyGrant[] = [];
    for (const p of c.principals) {
      const principal = principalOf(p.arn, { sessionName: p.sessionName, principalId: p.principalId });
      if (!principal) throw new RangeError(`principal ${JSON.stringify(p.arn)} must be ${PRINCIPAL_ARN_FORMS}`);
      const policy = new ActionPolicy(p.allow, p.deny);
      for (const k of p.accessKeys) grants.push({ accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey, principal, policy });
    }
    for (const k of c.accessKeys) {
      const principal = principalOf(`arn:aws:iam::${k.accountId ?? c.defaultAccountId}:user/${legacyUserName(k.accessKeyId)}`)!;
      grants.push({ accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey, principal, policy: ActionPolicy.FULL_ACCESS });
    }
    return new Authorizer(grants, c.additionalRegions ? { additionalRegions: c.additionalRegions } : {});
  }

  get size(): number {
    return this.grants.size;
  }

  /**
   * The caller behind an authenticated request. A credential scoped to a region AWS does not have
   * is refused as AWS refuses it (its calls could not be recorded either: a record's awsRegion
   * must be a known region).
   */
  identify(accessKeyId: string, region: string): CallerIdentity {
    const grant = this.grants.get(accessKeyId);
    if (!grant) throw new AuthError('UnrecognizedClientException', 'The security token included in the request is invalid.');
    if (!this.regions.has(region)) throw new AuthError('InvalidSignatureException', 'Credential should be scoped to a valid region.');
    const p = grant.principal;
    return { accessKeyId, region, accountId: p.accountId, principalArn: p.arn, userName: p.userName, principal: p };
  }

  /** Throws AccessDeniedException unless the caller's policy allows the action. */
  authorize(caller: CallerIdentity, action: string, resource: string): void {
    const decision = this.grants.get(caller.accessKeyId)?.policy.decide(action) ?? 'implicitDeny';
    if (decision === 'allow') return;
    const why = decision === 'explicitDeny' ? 'with an explicit deny in an identity-based policy' : `because no identity-based policy allows the ${action} action`;
    throw new ApiError('AccessDeniedException', `User: ${caller.principalArn} is not authorized to perform: ${action} on resource: ${resource} ${why}`);
  }
}
