/** Reading the free-form parts of a recorded userIdentity (cloudtrail-spec.md §1.4), which travel as JSON text. */

export type JsonObject = Record<string, unknown>;

/** userIdentity.type values CloudTrail documents (cloudtrail-spec.md §1.4). Others are counted, not refused. */
export const KNOWN_IDENTITY_TYPES = new Set([
  'Root',
  'IAMUser',
  'AssumedRole',
  'Role',
  'FederatedUser',
  'Directory',
  'AWSAccount',
  'AWSService',
  'IdentityCenterUser',
  'Unknown',
  'SAMLUser',
  'WebIdentityUser',
]);

/** A JSON object member (text), or undefined when absent, not JSON, or not an object. */
export function parseJsonObject(text: string | null): JsonObject | undefined {
  if (text === null || text === '' || text === 'null') return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

export interface SessionIssuer {
  type: string | null;
  principalId: string | null;
  arn: string | null;
  accountId: string | null;
  userName: string | null;
}

export interface SessionContext {
  sessionIssuer?: unknown;
  attributes?: unknown;
  sourceIdentity?: unknown;
}

/** userIdentity.sessionContext, parsed; undefined when absent or unreadable. */
export function sessionContextOf(text: string | null): (SessionContext & JsonObject) | undefined {
  return parseJsonObject(text);
}

/** sessionContext.sessionIssuer, when it names someone (it may be `{}`). */
export function sessionIssuerOf(context: SessionContext | undefined): SessionIssuer | undefined {
  const issuer = context?.sessionIssuer;
  if (typeof issuer !== 'object' || issuer === null) return undefined;
  const i = issuer as JsonObject;
  const result: SessionIssuer = { type: str(i.type), principalId: str(i.principalId), arn: str(i.arn), accountId: str(i.accountId), userName: str(i.userName) };
  return result.arn !== null || result.principalId !== null ? result : undefined;
}

/** sessionContext.attributes.mfaAuthenticated, a string "true"/"false" in CloudTrail. */
export function mfaOf(context: SessionContext | undefined): boolean | null {
  const attributes = context?.attributes;
  if (typeof attributes !== 'object' || attributes === null) return null;
  const mfa = (attributes as JsonObject).mfaAuthenticated;
  return mfa === 'true' || mfa === true ? true : mfa === 'false' || mfa === false ? false : null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

export { str as nonEmptyString };
