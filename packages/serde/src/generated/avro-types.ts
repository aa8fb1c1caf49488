// Generated from schemas/*.avsc by `npm run schemas:types`. Do not edit.
/* eslint-disable */

export interface DevOpentrailUserIdentity {
    /**
     * Default: null
     */
    type: null | string;
    /**
     * Default: null
     */
    principalId: null | string;
    /**
     * Default: null
     */
    arn: null | string;
    /**
     * Default: null
     */
    accountId: null | string;
    /**
     * Default: null
     */
    accessKeyId: null | string;
    /**
     * Default: null
     */
    userName: null | string;
    /**
     * Default: null
     */
    invokedBy: null | string;
    /**
     * Default: null
     */
    identityProvider: null | string;
    /**
     * Default: null
     */
    credentialId: null | string;
    /**
     * JSON text
     *
     * Default: null
     */
    sessionContext: null | string;
    /**
     * JSON text
     *
     * Default: null
     */
    onBehalfOf: null | string;
    /**
     * JSON text
     *
     * Default: null
     */
    inScopeOf: null | string;
    /**
     * JSON text
     *
     * Default: null
     */
    invokedByDelegate: null | string;
    /**
     * JSON object text: members not modelled above, or whose value did not fit
     *
     * Default: null
     */
    additionalFields: null | string;
}

export interface DevOpentrailResource {
    /**
     * Default: null
     */
    ARN: null | string;
    /**
     * Default: null
     */
    accountId: null | string;
    /**
     * Default: null
     */
    type: null | string;
}

/**
 * One API call, as a CloudTrail record (cloudtrail-spec.md §1.3). Fields are typed where CloudTrail's type is fixed; free-form members travel as JSON text; anything else the producer sent (unknown fields, or values that do not fit a typed field, such as an explicit null) travels in additionalFields, so a record round-trips without loss.
 */

export interface DevOpentrailApiCallEvent {
    eventVersion: string;
    /**
     * Default: null
     */
    userIdentity: null | DevOpentrailUserIdentity;
    /**
     * UTC, yyyy-MM-ddTHH:mm:ssZ, exactly as recorded
     */
    eventTime: string;
    /**
     * Default: null
     */
    eventSource: null | string;
    /**
     * Default: null
     */
    eventName: null | string;
    awsRegion: string;
    /**
     * Default: null
     */
    sourceIPAddress: null | string;
    /**
     * Default: null
     */
    userAgent: null | string;
    /**
     * Default: null
     */
    errorCode: null | string;
    /**
     * Default: null
     */
    errorMessage: null | string;
    /**
     * JSON text (may be the text null)
     *
     * Default: null
     */
    requestParameters: null | string;
    /**
     * JSON text (may be the text null)
     *
     * Default: null
     */
    responseElements: null | string;
    /**
     * JSON text
     *
     * Default: null
     */
    additionalEventData: null | string;
    /**
     * Default: null
     */
    requestID: null | string;
    eventID: string;
    /**
     * Default: null
     */
    eventType: null | string;
    /**
     * Default: null
     */
    apiVersion: null | string;
    /**
     * Default: null
     */
    managementEvent: null | boolean;
    /**
     * Default: null
     */
    readOnly: null | boolean;
    /**
     * Default: null
     */
    resources: null | DevOpentrailResource[];
    /**
     * Default: null
     */
    recipientAccountId: null | string;
    /**
     * JSON text
     *
     * Default: null
     */
    serviceEventDetails: null | string;
    /**
     * Default: null
     */
    sharedEventID: null | string;
    /**
     * Default: null
     */
    vpcEndpointId: null | string;
    /**
     * Default: null
     */
    vpcEndpointAccountId: null | string;
    /**
     * Default: null
     */
    eventCategory: null | string;
    /**
     * JSON text
     *
     * Default: null
     */
    addendum: null | string;
    /**
     * Default: null
     */
    sessionCredentialFromConsole: null | string;
    /**
     * JSON text
     *
     * Default: null
     */
    edgeDeviceDetails: null | string;
    /**
     * JSON text
     *
     * Default: null
     */
    tlsDetails: null | string;
    /**
     * JSON text (CloudTrail Lake only)
     *
     * Default: null
     */
    eventContext: null | string;
    /**
     * JSON text (Insights records)
     *
     * Default: null
     */
    insightDetails: null | string;
    /**
     * Default: null
     */
    annotation: null | string;
    /**
     * JSON object text: top-level members not modelled above, or whose value did not fit their field
     *
     * Default: null
     */
    additionalFields: null | string;
}

export interface DevOpentrailRoleSession {
    /**
     * Default: null
     */
    roleArn: null | string;
    /**
     * Default: null
     */
    sessionName: null | string;
    /**
     * Default: null
     */
    sessionArn: null | string;
    /**
     * Default: null
     */
    sourceIdentity: null | string;
    /**
     * Default: null
     */
    mfaAuthenticated: null | boolean;
    /**
     * the STS API that issued the credentials, e.g. AssumeRole
     *
     * Default: null
     */
    issuedBy: null | string;
    /**
     * Default: null
     */
    expiresAt: null | number;
}

export interface DevOpentrailPrincipal {
    /**
     * Default: null
     */
    type: null | string;
    /**
     * Default: null
     */
    arn: null | string;
    /**
     * Default: null
     */
    principalId: null | string;
    /**
     * Default: null
     */
    accountId: null | string;
    /**
     * Default: null
     */
    userName: null | string;
    /**
     * Default: null
     */
    accessKeyId: null | string;
}

/**
 * Who is behind the access key that signed the call.
 */

export interface DevOpentrailResolvedIdentity {
    /**
     * where the answer came from: event (the record itself), inventory (the identities table), sts (a learned STS session), unresolved
     */
    source: string;
    /**
     * Default: null
     */
    principalType: null | string;
    /**
     * Default: null
     */
    principalArn: null | string;
    /**
     * Default: null
     */
    principalId: null | string;
    /**
     * Default: null
     */
    accountId: null | string;
    /**
     * Default: null
     */
    userName: null | string;
    /**
     * Default: null
     */
    session: null | DevOpentrailRoleSession;
    /**
     * The principal who really did it: the end of the chain of sessions (the IAM user who assumed the role).
     *
     * Default: null
     */
    actor: null | DevOpentrailPrincipal;
    /**
     * ARNs from the signing principal to the actor
     *
     * Default: []
     */
    chain: string[];
}

export interface DevOpentrailGeoLocation {
    /**
     * public, private, loopback, link-local, reserved, aws-service, aws-internal, hostname or invalid
     */
    classification: string;
    /**
     * ISO 3166-1 alpha-2
     *
     * Default: null
     */
    country: null | string;
    /**
     * Default: null
     */
    subdivision: null | string;
    /**
     * Default: null
     */
    city: null | string;
    /**
     * Default: null
     */
    latitude: null | number;
    /**
     * Default: null
     */
    longitude: null | number;
    /**
     * Default: null
     */
    timezone: null | string;
    /**
     * Default: null
     */
    asn: null | number;
    /**
     * Default: null
     */
    asOrganization: null | string;
    /**
     * the database that answered
     *
     * Default: null
     */
    database: null | string;
}

export interface DevOpentrailServiceClassification {
    /**
     * IAM service key, e.g. s3
     *
     * Default: null
     */
    name: null | string;
    /**
     * Read, Write, List, Tagging or Permissions management
     *
     * Default: null
     */
    accessLevel: null | string;
    /**
     * the record's readOnly, or derived from the access level when the record has none
     *
     * Default: null
     */
    readOnly: null | boolean;
}

export interface DevOpentrailEnrichment {
    enrichedAt: number;
    /**
     * Default: null
     */
    identity: null | DevOpentrailResolvedIdentity;
    /**
     * Default: null
     */
    geo: null | DevOpentrailGeoLocation;
    /**
     * Default: null
     */
    service: null | DevOpentrailServiceClassification;
}

/**
 * An ApiCallEvent exactly as the producer recorded it, plus what the enricher learned about it. Enrichment never changes the event.
 */

export interface DevOpentrailEnrichedEvent {
    event: DevOpentrailApiCallEvent;
    enrichment: DevOpentrailEnrichment;
}

export interface DevOpentrailStsSession {
    /**
     * AssumeRole, AssumeRoleWithSAML, AssumeRoleWithWebIdentity, GetSessionToken or GetFederationToken
     */
    issuedBy: string;
    /**
     * Default: null
     */
    roleArn: null | string;
    /**
     * Default: null
     */
    sessionName: null | string;
    /**
     * Default: null
     */
    sessionArn: null | string;
    /**
     * Default: null
     */
    sourceIdentity: null | string;
    /**
     * Default: null
     */
    mfaAuthenticated: null | boolean;
    /**
     * the STS call's eventID
     *
     * Default: null
     */
    eventId: null | string;
    /**
     * Default: null
     */
    callerType: null | string;
    /**
     * Default: null
     */
    callerArn: null | string;
    /**
     * Default: null
     */
    callerPrincipalId: null | string;
    /**
     * Default: null
     */
    callerAccountId: null | string;
    /**
     * Default: null
     */
    callerUserName: null | string;
    /**
     * lets a chain of sessions be followed back to the long-term key
     *
     * Default: null
     */
    callerAccessKeyId: null | string;
}

/**
 * The principal behind one access key id (the key of the compacted identities topic). Published by teams (IAM inventory) or learned by the enricher from STS responses. A null value (tombstone) forgets the key.
 */

export interface DevOpentrailIdentity {
    accessKeyId: string;
    /**
     * IAMUser, Root, AssumedRole, FederatedUser, ...
     */
    principalType: string;
    /**
     * Default: null
     */
    principalArn: null | string;
    /**
     * Default: null
     */
    principalId: null | string;
    /**
     * Default: null
     */
    accountId: null | string;
    /**
     * Default: null
     */
    userName: null | string;
    /**
     * inventory, or the STS API the key was learned from (sts:AssumeRole, ...)
     */
    source: string;
    observedAt: number;
    /**
     * Default: null
     */
    expiresAt: null | number;
    /**
     * For temporary credentials: how they were obtained.
     *
     * Default: null
     */
    session: null | DevOpentrailStsSession;
}

export type DevOpentrailDeliveryKind = "LOG" | "INSIGHT" | "DIGEST";

export type DevOpentrailEncryptionMode = "SSE_S3" | "SSE_KMS" | "CSE_KMS" | "NONE";

export interface DevOpentrailDeliveryEncryption {
    mode: DevOpentrailEncryptionMode;
    /**
     * Default: null
     */
    kmsKeyId: null | string;
}

export interface DevOpentrailDeliverySource {
    topic: string;
    partition: number;
    firstOffset: number;
    lastOffset: number;
}

export interface DevOpentrailDigestInfo {
    startTime: number;
    endTime: number;
    signature: string;
    publicKeyFingerprint: string;
    /**
     * Default: null
     */
    previousKey: null | string;
    logFileCount: number;
}

/**
 * One object delivered to S3: a log file (archiver), an Insights file (archiver) or a digest file (digester).
 */

export interface DevOpentrailDelivery {
    /**
     * stable per (bucket, key, sha256): a repeat of the same delivery has the same id
     */
    deliveryId: string;
    kind: DevOpentrailDeliveryKind;
    trailName: string;
    trailArn: string;
    homeRegion: string;
    bucket: string;
    key: string;
    accountId: string;
    region: string;
    /**
     * Default: null
     */
    organizationId: null | string;
    recordCount: number;
    uncompressedBytes: number;
    compressedBytes: number;
    /**
     * lower-case hex SHA-256 of the uncompressed content
     */
    sha256: string;
    /**
     * Default: null
     */
    oldestEventTime: null | number;
    /**
     * Default: null
     */
    newestEventTime: null | number;
    deliveredAt: number;
    encryption: DevOpentrailDeliveryEncryption;
    /**
     * The input records the object was built from (log and Insights files).
     *
     * Default: null
     */
    source: null | DevOpentrailDeliverySource;
    /**
     * For digest files: the signature and the chain link.
     *
     * Default: null
     */
    digest: null | DevOpentrailDigestInfo;
}

export interface DevOpentrailArchiverState {
    /**
     * the archiver's consumer group: several archiver deployments may share the topic
     */
    consumerGroup: string;
    sourceTopic: string;
    sourcePartition: number;
    trailName: string;
    /**
     * LOG or INSIGHT: each has files (and marks) of its own
     */
    kind: DevOpentrailDeliveryKind;
    accountId: string;
    region: string;
    /**
     * the last input offset of the group that is in a delivered file
     */
    lastOffset: number;
    /**
     * S3 key of the file that holds it
     */
    lastKey: string;
    updatedAt: number;
}

export type DevOpentrailRuleKind = "FILTER_PATTERN" | "SIGMA" | "THRESHOLD" | "INSIGHT";

export type DevOpentrailSeverity = "INFORMATIONAL" | "LOW" | "MEDIUM" | "HIGH" | "CRITICAL";

/**
 * A rule fired. alertId derives from (rule, group key, window), so a repeat of the same alert has the same id.
 */

export interface DevOpentrailAlert {
    alertId: string;
    ruleId: string;
    ruleKind: DevOpentrailRuleKind;
    title: string;
    /**
     * Default: null
     */
    description: null | string;
    severity: DevOpentrailSeverity;
    /**
     * Default: []
     */
    tags: string[];
    /**
     * the value of the group-by fields, e.g. a user ARN
     *
     * Default: null
     */
    groupKey: null | string;
    count: number;
    windowStart: number;
    windowEnd: number;
    firstSeen: number;
    lastSeen: number;
    /**
     * Default: []
     */
    eventIds: string[];
    /**
     * Default: null
     */
    accountId: null | string;
    /**
     * Default: null
     */
    region: null | string;
    /**
     * one triggering event as CloudTrail JSON
     *
     * Default: null
     */
    sampleEvent: null | string;
    firedAt: number;
}

export type DevOpentrailAlerterStateKind = "WATERMARK" | "THRESHOLD" | "SUPPRESSION" | "INSIGHT_SERIES" | "INSIGHT_MINUTES";

/**
 * One piece of the alerter's window state for one input partition: the partition's event-time watermark, an open threshold window, a suppression, or an Insights series (its baseline and open episode, and apart from them its open minutes, which change with every batch). Written to a compacted topic in the same Kafka transaction as the alerts and the input offset commit, so the state a new owner restores is exactly that of the committed offset. A tombstone (null value) under the same key deletes it.
 */

export interface DevOpentrailAlerterState {
    /**
     * the alerter's consumer group: several alerter deployments may share the topic
     */
    consumerGroup: string;
    sourceTopic: string;
    sourcePartition: number;
    kind: DevOpentrailAlerterStateKind;
    /**
     * what the state is of: rule id and group key, or the Insights series (account, region, eventSource, eventName)
     */
    key: string;
    /**
     * JSON text of the state of this kind (services/alerter/src/partitionState.ts)
     */
    state: string;
    updatedAt: number;
}

export interface DevOpentrailDigesterState {
    /**
     * the digester's consumer group: several deployments may share the topic
     */
    consumerGroup: string;
    sourceTopic: string;
    sourcePartition: number;
    trailName: string;
    trailArn: string;
    homeRegion: string;
    accountId: string;
    region: string;
    /**
     * Default: null
     */
    organizationId: null | string;
    /**
     * bucket of the last digest
     */
    bucket: string;
    lastDigestKey: string;
    lastDigestStartTime: number;
    lastDigestEndTime: number;
    /**
     * hex SHA-256 of the last digest's uncompressed bytes
     */
    lastDigestSha256: string;
    /**
     * hex signature of the last digest
     */
    lastDigestSignature: string;
    /**
     * the last input offset of the group listed in a written digest, -1 for none
     */
    coveredThroughOffset: number;
    updatedAt: number;
}

export interface DevOpentrailDigestPublicKey {
    /**
     * lower-case hex MD5 of publicKeyDer
     */
    fingerprint: string;
    /**
     * PKCS#1 RSAPublicKey, DER
     */
    publicKeyDer: Buffer;
    validityStart: number;
    /**
     * null while the key is the current one
     *
     * Default: null
     */
    validityEnd: null | number;
    /**
     * where the private key lives: local:<file> or kms:<key id>
     */
    source: string;
    publishedAt: number;
}

export interface DevOpentrailNotification {
    /**
     * idempotency key; equals webhook-id of the webhooks and the SNS attribute opentrail.notificationId for the same delivery
     */
    notificationId: string;
    deliveryId: string;
    kind: DevOpentrailDeliveryKind;
    trailName: string;
    trailArn: string;
    s3Bucket: string;
    s3ObjectKey: string;
    accountId: string;
    region: string;
    /**
     * Default: null
     */
    organizationId: null | string;
    recordCount: number;
    compressedBytes: number;
    /**
     * lower-case hex SHA-256 of the uncompressed content
     */
    sha256: string;
    deliveredAt: number;
    notifiedAt: number;
    /**
     * the CloudTrail SNS Message text for this object: {"s3Bucket":…,"s3ObjectKey":[…]}
     */
    message: string;
}

export type DevOpentrailTrailOrigin = "config" | "api";

export interface DevOpentrailTrailTag {
    key: string;
    /**
     * Default: null
     */
    value: null | string;
}

/**
 * One trail as the control plane knows it: the compacted trails topic's value, key = trail name (packages/trails catalog.ts). A null value (tombstone) deletes the trail.
 */

export interface DevOpentrailTrailRecord {
    /**
     * the trail name; equal to the key and to definition's name
     */
    name: string;
    /**
     * config: seeded from the configuration file's trails: and reconciled with it at every start; api: created through the API, never overwritten by the file
     */
    origin: DevOpentrailTrailOrigin;
    /**
     * StartLogging / StopLogging: a trail that is not logging delivers nothing
     */
    isLogging: boolean;
    /**
     * Default: null
     */
    startLoggingTime: null | number;
    /**
     * Default: null
     */
    stopLoggingTime: null | number;
    createdAt: number;
    updatedAt: number;
    /**
     * Default: []
     */
    tags: DevOpentrailTrailTag[];
    /**
     * the trail definition as JSON (the trails: schema of packages/trails, defaults applied, keys sorted); readers validate it and skip a record that does not parse
     */
    definition: string;
}

export type DevOpentrailTrailActivityKind = "LOG" | "DIGEST" | "NOTIFICATION";

/**
 * What a service last did for one trail and one kind of work: log file delivery (archiver), digest delivery (digester) or notification (notifier). Written to a compacted topic, key <trailName>/<kind>, when an attempt fails (the first failure, then at most every few seconds while failing), when a success follows a failure, and at most every few seconds while succeeding. The API's GetTrailStatus reads it (LatestDeliveryTime, LatestDeliveryError, LatestDigestDeliveryTime, LatestNotificationTime, ...).
 */

export interface DevOpentrailTrailActivity {
    trailName: string;
    kind: DevOpentrailTrailActivityKind;
    latestAttemptTime: number;
    /**
     * Default: null
     */
    latestSuccessTime: null | number;
    /**
     * Default: null
     */
    latestErrorTime: null | number;
    /**
     * the code the target answered, as CloudTrail shows it: S3's NoSuchBucket or AccessDenied, SNS's NotFound or AuthorizationError, a webhook's HTTP status
     *
     * Default: null
     */
    latestErrorCode: null | string;
    /**
     * Default: null
     */
    latestErrorMessage: null | string;
    /**
     * the writer: archiver, digester or notifier
     */
    service: string;
    updatedAt: number;
}

export type DevOpentrailEventDataStoreStatus = "ENABLED" | "STOPPED_INGESTION" | "PENDING_DELETION";

export interface DevOpentrailEventDataStoreTag {
    key: string;
    /**
     * Default: null
     */
    value: null | string;
}

/**
 * One CloudTrail Lake event data store as the control plane knows it: the compacted event-data-stores topic's value, key = the store's ID (packages/lake stores/). A null value (tombstone) removes it.
 */

export interface DevOpentrailEventDataStoreRecord {
    /**
     * the store's ID, the last part of its ARN (a UUID); equal to the key
     */
    id: string;
    /**
     * ENABLED: ingesting; STOPPED_INGESTION: kept and queryable, takes no new events; PENDING_DELETION: deleted, kept for the wait period, neither ingesting nor queryable
     */
    status: DevOpentrailEventDataStoreStatus;
    createdAt: number;
    updatedAt: number;
    /**
     * when DeleteEventDataStore ran (PENDING_DELETION)
     *
     * Default: null
     */
    deletedAt: null | number;
    /**
     * Default: []
     */
    tags: DevOpentrailEventDataStoreTag[];
    /**
     * the store's definition as JSON (packages/lake's eventDataStoreSchema, defaults applied, keys sorted); readers validate it and skip a record that does not parse
     */
    definition: string;
}

export type UserIdentity = DevOpentrailUserIdentity;
export type Resource = DevOpentrailResource;
export type ApiCallEvent = DevOpentrailApiCallEvent;
export type RoleSession = DevOpentrailRoleSession;
export type Principal = DevOpentrailPrincipal;
export type ResolvedIdentity = DevOpentrailResolvedIdentity;
export type GeoLocation = DevOpentrailGeoLocation;
export type ServiceClassification = DevOpentrailServiceClassification;
export type Enrichment = DevOpentrailEnrichment;
export type EnrichedEvent = DevOpentrailEnrichedEvent;
export type StsSession = DevOpentrailStsSession;
export type Identity = DevOpentrailIdentity;
export type DeliveryKind = DevOpentrailDeliveryKind;
export type EncryptionMode = DevOpentrailEncryptionMode;
export type DeliveryEncryption = DevOpentrailDeliveryEncryption;
export type DeliverySource = DevOpentrailDeliverySource;
export type DigestInfo = DevOpentrailDigestInfo;
export type Delivery = DevOpentrailDelivery;
export type ArchiverState = DevOpentrailArchiverState;
export type RuleKind = DevOpentrailRuleKind;
export type Severity = DevOpentrailSeverity;
export type Alert = DevOpentrailAlert;
export type AlerterStateKind = DevOpentrailAlerterStateKind;
export type AlerterState = DevOpentrailAlerterState;
export type DigesterState = DevOpentrailDigesterState;
export type DigestPublicKey = DevOpentrailDigestPublicKey;
export type Notification = DevOpentrailNotification;
export type TrailOrigin = DevOpentrailTrailOrigin;
export type TrailTag = DevOpentrailTrailTag;
export type TrailRecord = DevOpentrailTrailRecord;
export type TrailActivityKind = DevOpentrailTrailActivityKind;
export type TrailActivity = DevOpentrailTrailActivity;
export type EventDataStoreStatus = DevOpentrailEventDataStoreStatus;
export type EventDataStoreTag = DevOpentrailEventDataStoreTag;
export type EventDataStoreRecord = DevOpentrailEventDataStoreRecord;

/** Value type of each top-level schema. */
export interface SchemaTypes {
  ApiCallEvent: ApiCallEvent;
  EnrichedEvent: EnrichedEvent;
  Identity: Identity;
  Delivery: Delivery;
  ArchiverState: ArchiverState;
  Alert: Alert;
  AlerterState: AlerterState;
  DigesterState: DigesterState;
  DigestPublicKey: DigestPublicKey;
  Notification: Notification;
  TrailRecord: TrailRecord;
  TrailActivity: TrailActivity;
  EventDataStoreRecord: EventDataStoreRecord;
}
