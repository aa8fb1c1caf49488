import type { UserIdentity } from '@opentrail/serde';

/**
 * The `Username` of an event, as LookupEvents shows it and as the Username attribute matches it
 * (cloudtrail-spec.md §5.1). The documented cases:
 *  - Root → its userName if it has one, else `root`;
 *  - AssumedRole → the role session name: the last `/` segment of the ARN
 *    (`arn:aws:sts::1:assumed-role/my-role/my-session` → `my-session`);
 *  - any other identity with a userName (IAMUser, SAMLUser, WebIdentityUser) → that userName.
 * The undocumented ones (opentrail's rule, in this order):
 *  - FederatedUser → the last `/` segment of its ARN (`federated-user/Bob` → `Bob`), as for roles;
 *  - AWSService → the calling service principal, `invokedBy` (e.g. `lambda.amazonaws.com`);
 *  - IdentityCenterUser, AWSAccount and anything else → the last `/` segment of the ARN, else the
 *    principal id after its last `:` (`AIDA…:alice` → `alice`), else the whole principal id,
 *    else `invokedBy`, else the account id;
 *  - no userIdentity at all → null (the event has no user).
 */
export function eventUsername(identity: UserIdentity | null): string | null {
  if (!identity) return null;
  const { type, userName, arn, principalId, invokedBy, accountId } = identity;
  if (type === 'Root') return userName || 'root';
  if (type === 'AssumedRole' || type === 'FederatedUser') return lastArnSegment(arn) ?? userName ?? fromPrincipal(principalId) ?? null;
  if (userName) return userName;
  if (type === 'AWSService') return invokedBy || fromPrincipal(principalId) || null;
  return lastArnSegment(arn) ?? fromPrincipal(principalId) ?? (invokedBy || accountId || null);
}

/** `arn:partition:service:region:account:resource` → the last `/` segment of the resource part. */
function lastArnSegment(arn: string | null): string | undefined {
  if (!arn || !arn.startsWith('arn:')) return undefined;
  const parts = arn.split(':');
  if (parts.length < 6) return undefined;
  const resource = parts.slice(5).join(':');
  const last = resource.slice(resource.lastIndexOf('/') + 1);
  return last || undefined;
}

function fromPrincipal(principalId: string | null): string | undefined {
  if (!principalId) return undefined;
  const last = principalId.slice(principalId.lastIndexOf(':') + 1);
  return last || principalId;
}
