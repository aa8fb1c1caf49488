/**
 * A CloudTrail record as JSON (cloudtrail-spec.md §1.3–1.8). Only the members opentrail reads are
 * named; every other member, known or not, is carried through unchanged.
 */
export interface CloudTrailRecord {
  eventVersion?: string;
  userIdentity?: UserIdentityJson | null;
  eventTime?: string;
  eventSource?: string;
  eventName?: string;
  awsRegion?: string;
  sourceIPAddress?: string;
  userAgent?: string;
  errorCode?: string;
  errorMessage?: string;
  requestParameters?: Record<string, unknown> | null;
  responseElements?: Record<string, unknown> | null;
  additionalEventData?: Record<string, unknown>;
  requestID?: string;
  eventID?: string;
  eventType?: string;
  readOnly?: boolean;
  managementEvent?: boolean;
  resources?: { ARN?: string; accountId?: string; type?: string }[] | null;
  recipientAccountId?: string;
  eventCategory?: string;
  [member: string]: unknown;
}

export interface UserIdentityJson {
  type?: string;
  principalId?: string;
  arn?: string;
  accountId?: string;
  accessKeyId?: string;
  userName?: string;
  invokedBy?: string;
  sessionContext?: Record<string, unknown>;
  [member: string]: unknown;
}

/** Events over 256 KB are not delivered by CloudTrail (cloudtrail-spec.md §1.1). */
export const MAX_EVENT_BYTES = 256 * 1024;

/** `yyyy-MM-ddTHH:mm:ssZ`, UTC, second precision (cloudtrail-spec.md §1.3). */
export const EVENT_TIME_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

export const ACCOUNT_ID_PATTERN = /^\d{12}$/;

/** Region shape: `us-east-1`, `us-gov-west-1`, `cn-north-1`, `eu-central-2`, … */
export const REGION_PATTERN = /^[a-z]{2,}(?:-[a-z0-9]+)*-\d+[a-z]*$/;

/** CloudTrail's current record version (cloudtrail-spec.md §1.2). */
export const CURRENT_EVENT_VERSION = '1.11';

/** eventTime format for a Date (second precision). */
export function formatEventTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
