import type { ApiCallEvent, Identity, StsSession } from '@opentrail/serde';
import { parseJsonObject, sessionContextOf, type JsonObject } from './userIdentity.js';

/** The STS APIs whose responses hand out new temporary access keys (responseElements.credentials). */
export const STS_ISSUING_APIS = new Set(['AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity', 'GetSessionToken', 'GetFederationToken']);

/**
 * How long credentials live when the response's expiration cannot be read: the STS defaults
 * (AssumeRole* one hour, GetSessionToken and GetFederationToken twelve hours), or the
 * durationSeconds the caller asked for.
 */
const DEFAULT_DURATION_SECONDS: Record<string, number> = {
  AssumeRole: 3600,
  AssumeRoleWithSAML: 3600,
  AssumeRoleWithWebIdentity: 3600,
  GetSessionToken: 43_200,
  GetFederationToken: 43_200,
};

export type SessionLearning = { identity: Identity } | { problem: string } | undefined;

/**
 * What an STS call teaches: the new access key and who obtained it (caller, role and session,
 * source identity, MFA), as the Identity to publish to the identities topic. Undefined for any other
 * event (or a failed call); `problem` when it is an issuing call whose response cannot be read.
 */
export function learnSession(event: ApiCallEvent): SessionLearning {
  const api = event.eventName;
  if (api === null || !STS_ISSUING_APIS.has(api) || event.eventSource !== 'sts.amazonaws.com' || event.errorCode !== null) return undefined;
  const response = parseJsonObject(event.responseElements);
  const credentials = response?.credentials;
  if (!isObject(credentials) || typeof credentials.accessKeyId !== 'string' || credentials.accessKeyId === '') {
    return { problem: `${api} response has no credentials.accessKeyId` };
  }
  const request = parseJsonObject(event.requestParameters) ?? {};
  const caller = event.userIdentity;
  const callerContext = sessionContextOf(caller?.sessionContext ?? null);
  const eventMs = Date.parse(event.eventTime);

  let principalType: string;
  let principalArn: string | null;
  let principalId: string | null;
  let userName: string | null = null;
  let sessionName: string | null = null;
  if (api === 'GetSessionToken') {
    // The same principal, with temporary credentials (typically to add MFA).
    principalType = caller?.type ?? 'IAMUser';
    principalArn = caller?.arn ?? null;
    principalId = caller?.principalId ?? null;
    userName = caller?.userName ?? null;
  } else if (api === 'GetFederationToken') {
    const federated = isObject(response!.federatedUser) ? response!.federatedUser : {};
    principalType = 'FederatedUser';
    principalArn = str(federated.arn);
    principalId = str(federated.federatedUserId);
    userName = str(request.name);
    sessionName = userName;
  } else {
    const assumed = isObject(response!.assumedRoleUser) ? response!.assumedRoleUser : {};
    principalType = 'AssumedRole';
    principalArn = str(assumed.arn);
    principalId = str(assumed.assumedRoleId);
    sessionName = str(request.roleSessionName) ?? lastPathSegment(principalArn);
  }

  // The record says what the caller asked for, and the raw topic is open to any producer: only a
  // duration STS could have granted is believed (a fraction or a huge number would make an expiry
  // that no Avro long can hold, and the event could then never be written).
  const requestedDuration = validDurationSeconds(request.durationSeconds) ?? DEFAULT_DURATION_SECONDS[api]!;
  const expiresAt = parseStsExpiration(credentials.expiration) ?? eventMs + requestedDuration * 1000;
  const callerMfa = isObject(callerContext?.attributes) ? callerContext.attributes.mfaAuthenticated : undefined;
  const mfaAuthenticated =
    typeof request.serialNumber === 'string' || typeof request.tokenCode === 'string'
      ? true
      : callerMfa === 'true'
        ? true
        : callerMfa === 'false' || caller?.type === 'IAMUser' || caller?.type === 'Root'
          ? false // long-term keys carry no MFA
          : null;

  const session: StsSession = {
    issuedBy: api,
    roleArn: str(request.roleArn),
    sessionName,
    sessionArn: api === 'GetSessionToken' ? null : principalArn,
    sourceIdentity: str(response!.sourceIdentity) ?? str(request.sourceIdentity),
    mfaAuthenticated,
    eventId: event.eventID,
    callerType: caller?.type ?? null,
    callerArn: caller?.arn ?? null,
    callerPrincipalId: caller?.principalId ?? null,
    callerAccountId: caller?.accountId ?? null,
    callerUserName: caller?.userName ?? null,
    callerAccessKeyId: caller?.accessKeyId || null,
  };
  return {
    identity: {
      accessKeyId: credentials.accessKeyId,
      principalType,
      principalArn,
      principalId,
      accountId: accountOfArn(principalArn) ?? event.recipientAccountId ?? caller?.accountId ?? null,
      userName,
      source: `sts:${api}`,
      observedAt: eventMs,
      expiresAt,
      session,
    },
  };
}

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };
/** `Jul 30, 2024, 9:46:15 PM` and `Mar 23, 2016 2:39:57 AM` (Java's medium format; newer JDKs put U+202F before AM/PM). */
const JAVA_MEDIUM = /^([A-Z][a-z]{2}) (\d{1,2}), (\d{4}),? (\d{1,2}):(\d{2}):(\d{2})[\s\u202f]?([AP]M)$/;

/**
 * The expiration of STS credentials as CloudTrail records it (Java's medium date format, in UTC) or
 * as ISO 8601, in ms since the epoch; undefined when it cannot be read.
 */
export function parseStsExpiration(value: unknown): number | undefined {
  if (typeof value === 'number') return instant(value < 1e11 ? value * 1000 : value);
  if (typeof value !== 'string') return undefined;
  const m = JAVA_MEDIUM.exec(value.trim());
  if (m) {
    const month = MONTHS[m[1]!];
    if (month === undefined) return undefined;
    let hour = Number(m[4]) % 12;
    if (m[7] === 'PM') hour += 12;
    return Date.UTC(Number(m[3]), month, Number(m[2]), hour, Number(m[5]), Number(m[6]));
  }
  // Only forms that carry their zone: Date.parse would read anything else as local time.
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(value)) {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/** STS grants 15 minutes to 36 hours (GetSessionToken and GetFederationToken's maximum), in whole seconds. */
function validDurationSeconds(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 900 && value <= 129_600 ? value : undefined;
}

/** ms since the epoch as a whole number within the range of Date, or undefined. */
function instant(ms: number): number | undefined {
  if (!Number.isFinite(ms)) return undefined;
  const whole = Math.round(ms);
  return Math.abs(whole) <= 8.64e15 ? whole : undefined;
}

/** The account of an ARN (`arn:aws:sts::123456789012:assumed-role/…`). */
export function accountOfArn(arn: string | null): string | null {
  if (arn === null) return null;
  const account = arn.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : null;
}

function lastPathSegment(arn: string | null): string | null {
  if (arn === null) return null;
  const slash = arn.lastIndexOf('/');
  return slash >= 0 && slash < arn.length - 1 ? arn.slice(slash + 1) : null;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}
