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

/**
 * The size limit of one event (cloudtrail-spec.md §1.1: CloudTrail does not deliver events over
 * 256 KB), in UTF-8 bytes of the record's JSON as the log file holds it (writeRecordJson). This is
 * the one definition: the producer checks it where a record enters, the enricher for records that
 * reached the raw topic some other way, and the archiver applies the same function to the same,
 * unchanged event, so a record accepted upstream is never refused for its size downstream.
 */
export const MAX_EVENT_BYTES = 256 * 1024;

/**
 * The largest Kafka message the pipeline writes: the broker default of message.max.bytes (1 MiB),
 * which the enriched topic must accept.
 */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * The UTF-8 size of the JSON text of userIdentity at most. The enricher copies the caller's
 * identifiers from userIdentity (ARNs, ids, the session issuer) into the enrichment, a few times
 * over; bounding their source bounds what enrichment adds to an event (see ENRICHMENT_HEADROOM_BYTES).
 * Real identities are 0.5-3 KB (the longest ARN IAM allows is 2048 characters).
 */
export const MAX_USER_IDENTITY_BYTES = 16 * 1024;

/**
 * Room on the enriched topic reserved for what the enricher adds to an event of MAX_EVENT_BYTES:
 * everything between the largest event's Avro form and MAX_MESSAGE_BYTES. Enrichment takes
 * identifiers from userIdentity (at most MAX_USER_IDENTITY_BYTES, each copied at most four times:
 * principal, session, actor and chain) and fixed-size geo and service answers, far below this.
 */
export const ENRICHMENT_HEADROOM_BYTES = MAX_MESSAGE_BYTES - MAX_EVENT_BYTES - 1024;

/**
 * Shape limits of a record, checked without recursion before anything serialises it
 * (cloudtrail-spec.md §1.1; README "Publishing events"). Depth: 64 levels, far beyond real records
 * (the deepest in test/fixtures is under 10) and below the limits of common JSON readers (Jackson's
 * 1000, Python's recursion limit). Members: every object member and array element counted once.
 * A string can never be longer than the event may be.
 */
export const RECORD_LIMITS = {
  maxDepth: 64,
  maxMembers: 10_000,
  maxStringLength: MAX_EVENT_BYTES,
} as const;

/** `yyyy-MM-ddTHH:mm:ssZ`, UTC, second precision (cloudtrail-spec.md §1.3). */
export const EVENT_TIME_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

export const ACCOUNT_ID_PATTERN = /^\d{12}$/;

/** Region shape: `us-east-1`, `us-gov-west-1`, `cn-north-1`, `eu-central-2`, … */
export const REGION_PATTERN = /^[a-z]{2,}(?:-[a-z0-9]+)*-\d+[a-z]*$/;

/**
 * The regions AWS has opened (commercial, GovCloud, China, the European Sovereign Cloud). A record's
 * awsRegion must be one of these or one the operator allows explicitly (`additionalRegions`), so
 * that a typo (`us-east-7`) is refused rather than filed under a region no trail covers.
 */
export const KNOWN_AWS_REGIONS: ReadonlySet<string> = new Set([
  'af-south-1',
  'ap-east-1', 'ap-east-2',
  'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3',
  'ap-south-1', 'ap-south-2',
  'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-6', 'ap-southeast-7',
  'ca-central-1', 'ca-west-1',
  'cn-north-1', 'cn-northwest-1',
  'eu-central-1', 'eu-central-2', 'eu-north-1', 'eu-south-1', 'eu-south-2', 'eu-west-1', 'eu-west-2', 'eu-west-3',
  'eusc-de-east-1',
  'il-central-1',
  'me-central-1', 'me-south-1',
  'mx-central-1',
  'sa-east-1',
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2',
  'us-gov-east-1', 'us-gov-west-1',
]);

/** What the checks of a record may be told: regions newer than KNOWN_AWS_REGIONS. */
export interface RecordPolicy {
  /** Region names accepted beyond KNOWN_AWS_REGIONS (each must still have a region's shape). */
  additionalRegions?: Iterable<string>;
}

/** The accepted regions under a policy, built once per policy. */
export function acceptedRegions(policy: RecordPolicy = {}): ReadonlySet<string> {
  if (policy.additionalRegions === undefined) return KNOWN_AWS_REGIONS;
  const regions = new Set(KNOWN_AWS_REGIONS);
  for (const region of policy.additionalRegions) {
    if (!REGION_PATTERN.test(region)) throw new RangeError(`additionalRegions: ${JSON.stringify(region)} is not a region name such as us-east-1`);
    regions.add(region);
  }
  return regions;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * The instant an eventTime names, in epoch milliseconds, or undefined when it is not
 * `yyyy-MM-ddTHH:mm:ssZ` naming a real instant: years 0001-9999, real calendar days (no
 * 2025-02-30), hours 00-23 (no T24:00), no leap second. Date.parse alone is lenient about these.
 */
export function parseEventTime(text: string): number | undefined {
  const m = EVENT_TIME_PATTERN.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
  if (day > days) return undefined;
  // Date.UTC reads years 0-99 as 1900-1999: set the full year explicitly.
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year);
  return date.getTime();
}

/** CloudTrail's current record version (cloudtrail-spec.md §1.2). */
export const CURRENT_EVENT_VERSION = '1.11';

/** eventTime format for a Date (second precision). */
export function formatEventTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** STS expirations as CloudTrail logs them: Java's medium date format in UTC ("Dec 1, 2026, 7:00:00 PM"). */
export function javaMediumDate(date: Date): string {
  const h = date.getUTCHours();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}, ${date.getUTCFullYear()}, ${h % 12 === 0 ? 12 : h % 12}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} ${h < 12 ? 'AM' : 'PM'}`;
}
