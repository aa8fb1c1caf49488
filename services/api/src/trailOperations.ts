import { describeTrail, eventSelectorsView, insightSelectorsView, trailArn, type Trail, type TrailInput, type TrailRecord, type TrailStore, type TrailTag } from '@opentrail/trails';
import { ApiError } from './errors.js';
import type { Caller } from './operations.js';
import {
  advancedSelectorsInput,
  basicSelectorsInput,
  bucketProblem,
  checkKmsKeyId,
  cloudWatchLogsOf,
  insightSelectorsInput,
  invalidArn,
  MAX_TAGS_PER_TRAIL,
  member,
  optionalBoolean,
  optionalList,
  optionalString,
  parseTrailArn,
  prefixProblem,
  snsTopicArnOf,
  tagsOf,
  trailNameProblem,
  trailRef,
  validTrail,
  type TrailRef,
} from './trailRequests.js';
import type { TrailResources } from './trailResources.js';

/**
 * CloudTrail's trail operations (cloudtrail-spec.md §5.2–§5.5, the BOTO model for the rest) over
 * the trail store: the store is the truth every service follows, so a change made here is what
 * the archiver, digester and notifier act on. Timestamps are epoch seconds; optional members are
 * left out when unset, as CloudTrail does.
 */

/** What the services did for one trail, epoch milliseconds (GetTrailStatus). */
export interface TrailActivity {
  latestDeliveryTime?: number;
  /** The last attempt, successful or not (the obsolete LatestDeliveryAttemptTime). */
  latestDeliveryAttemptTime?: number;
  latestDeliveryError?: string;
  latestDigestDeliveryTime?: number;
  latestDigestDeliveryError?: string;
  latestNotificationTime?: number;
  latestNotificationAttemptTime?: number;
  latestNotificationError?: string;
}

export interface TrailActivitySource {
  activity(trailName: string): TrailActivity;
}

export interface TrailOperationsOptions {
  store: TrailStore;
  activity: TrailActivitySource;
  /** Bucket, KMS key and SNS topic checks; without them a trail is stored unchecked. */
  resources?: TrailResources;
  /** The organization of organization trails (api.organizationId); without it IsOrganizationTrail is refused. */
  organizationId?: string;
  /** CloudTrail: 5 trails per region. */
  maxTrailsPerRegion: number;
  /** Roll interval and digest period of trails created here (api.newTrails). @default 60 s and 60 min */
  newTrails?: { rollIntervalSeconds: number; digestPeriodMinutes: number };
  now: () => number;
}

const seconds = (ms: number) => ms / 1000;
const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A trail is visible in `region` when it lives there or, as a shadow, when it logs there. */
export function visibleIn(trail: Trail, region: string, includeShadow: boolean): boolean {
  if (trail.homeRegion === region) return true;
  return includeShadow && (trail.regions === 'all' || trail.regions.includes(region));
}

/** CreateTrail's and UpdateTrail's answer: DescribeTrails' Trail without the members those two do not have. */
function changeResponse(trail: Trail) {
  const { HomeRegion: _home, HasCustomEventSelectors: _custom, HasInsightSelectors: _insights, ...rest } = describeTrail(trail);
  return rest;
}

function tagList(tags: TrailTag[]) {
  return tags.map((t) => ({ Key: t.key, ...(t.value !== undefined ? { Value: t.value } : {}) }));
}

const PAGE = 50;
const encodeToken = (name: string) => Buffer.from(`t:${name}`, 'utf8').toString('base64url');
function decodeToken(token: string): string {
  const text = /^[A-Za-z0-9_-]{1,400}$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  if (!text.startsWith('t:') || trailNameProblem(text.slice(2)) !== undefined) throw new ApiError('InvalidTokenException', 'The NextToken is not valid.');
  return text.slice(2);
}

export class TrailOperations {
  /** Changes run one at a time, so that check-then-write (names, quota) holds within this instance. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: TrailOperationsOptions) {}

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private refText(ref: TrailRef, caller: Caller): string {
    return ref.kind === 'arn' ? ref.arn : `arn:aws:cloudtrail:${caller.region}:${caller.accountId}:trail/${ref.name}`;
  }

  /** The trail a name (in the caller's region, shadows included) or an ARN (anywhere) names. */
  private find(ref: TrailRef, region: string): TrailRecord | undefined {
    if (ref.kind === 'arn') {
      const record = this.o.store.get(ref.name);
      return record && trailArn(record.definition) === ref.arn ? record : undefined;
    }
    const record = this.o.store.get(ref.name);
    return record && visibleIn(record.definition, region, true) ? record : undefined;
  }

  private require(ref: TrailRef, caller: Caller): TrailRecord {
    const record = this.find(ref, caller.region);
    if (!record) throw new ApiError('TrailNotFoundException', `Unknown trail: ${this.refText(ref, caller)} for the user: ${caller.accountId}`);
    return record;
  }

  /** Changes are made in the trail's home region only (InvalidHomeRegionException). */
  private requireHome(record: TrailRecord, caller: Caller): void {
    if (record.definition.homeRegion !== caller.region) {
      throw new ApiError('InvalidHomeRegionException', `This operation can only be performed in the trail's home region ${record.definition.homeRegion}; it was called in ${caller.region} for ${trailArn(record.definition)}.`);
    }
  }

  /** Reads the trail, then changes it under the lock, re-reading it there so that concurrent changes do not undo each other. */
  private change(ref: TrailRef, caller: Caller, apply: (record: TrailRecord) => Promise<TrailRecord | null>): Promise<TrailRecord | null> {
    return this.exclusive(async () => {
      const record = this.require(ref, caller);
      this.requireHome(record, caller);
      const next = await apply(record);
      if (next === null) await this.o.store.delete(record.definition.name);
      else if (next !== record) {
        // A definition changed through the API is the API's from now on: the configuration file's
        // seed no longer overwrites it (packages/trails README, "Trails as data"). Logging and tags
        // are not the file's business and keep the origin.
        const origin = next.definition !== record.definition ? 'api' : next.origin;
        await this.o.store.put({ ...next, origin, updatedAt: this.o.now() });
      }
      return next;
    });
  }

  // ---- CreateTrail / UpdateTrail / DeleteTrail ----

  async createTrail(input: Record<string, unknown>, caller: Caller) {
    const name = optionalString(input, 'Name');
    if (name === undefined || name === '') throw new ApiError('InvalidTrailNameException', 'Trail name must not be empty.');
    const nameProblem = trailNameProblem(name);
    if (nameProblem) throw new ApiError('InvalidTrailNameException', nameProblem);
    const bucket = optionalString(input, 'S3BucketName');
    if (!bucket) throw new ApiError('InvalidS3BucketNameException', 'S3 bucket name must not be empty.');
    const bucketBad = bucketProblem(bucket);
    if (bucketBad) throw new ApiError('InvalidS3BucketNameException', bucketBad);
    const prefix = optionalString(input, 'S3KeyPrefix') || undefined;
    const prefixBad = prefix === undefined ? undefined : prefixProblem(prefix);
    if (prefixBad) throw new ApiError('InvalidS3PrefixException', prefixBad);
    const snsName = optionalString(input, 'SnsTopicName') || undefined;
    const snsArn = snsName === undefined ? undefined : snsTopicArnOf(snsName, caller.region, caller.accountId);
    const multiRegion = optionalBoolean(input, 'IsMultiRegionTrail') ?? false;
    const includeGlobal = optionalBoolean(input, 'IncludeGlobalServiceEvents') ?? true;
    if (multiRegion && !includeGlobal) throw new ApiError('InvalidParameterCombinationException', 'Multi-Region trail must include global service events.');
    const validation = optionalBoolean(input, 'EnableLogFileValidation') ?? false;
    const cloudWatchLogs = cloudWatchLogsOf(optionalString(input, 'CloudWatchLogsLogGroupArn'), optionalString(input, 'CloudWatchLogsRoleArn')) ?? undefined;
    const kmsKeyId = optionalString(input, 'KmsKeyId') || undefined;
    if (kmsKeyId !== undefined) checkKmsKeyId(kmsKeyId);
    const organization = optionalBoolean(input, 'IsOrganizationTrail') ?? false;
    if (organization && !this.o.organizationId) throw new ApiError('OrganizationsNotInUseException', 'This account is not a member of an organization (opentrail: no api.organizationId is configured).');
    const tags = tagsOf(optionalList(input, 'TagsList') ?? []);
    if (tags.length > MAX_TAGS_PER_TRAIL) throw new ApiError('TagsLimitExceededException', `The number of tags per trail has exceeded the permitted amount. Currently, the limit is ${MAX_TAGS_PER_TRAIL}.`);

    return this.exclusive(async () => {
      if (this.o.store.get(name)) throw new ApiError('TrailAlreadyExistsException', `Trail ${name} already exists for customer: ${caller.accountId}`);
      const inRegion = this.o.store.all().filter((r) => r.definition.accountId === caller.accountId && visibleIn(r.definition, caller.region, true)).length;
      if (inRegion >= this.o.maxTrailsPerRegion) throw new ApiError('MaximumNumberOfTrailsExceededException', `User: ${caller.accountId} already has ${this.o.maxTrailsPerRegion} trails in ${caller.region}.`);
      const organizationId = organization ? this.o.organizationId : undefined;
      await this.o.resources?.checkBucket({ bucket, ...(prefix ? { prefix } : {}), accountId: caller.accountId, ...(organizationId ? { organizationId } : {}) });
      const kmsArn = kmsKeyId === undefined ? undefined : ((await this.o.resources?.resolveKmsKey(kmsKeyId)) ?? kmsKeyId);
      if (snsArn) await this.o.resources?.checkSnsTopic(snsArn);
      const definition = validTrail({
        name,
        accountId: caller.accountId,
        homeRegion: caller.region,
        bucket,
        ...(prefix ? { prefix } : {}),
        // A trail logs its own account's events; an organization trail those of every account.
        accounts: organizationId ? 'all' : [caller.accountId],
        ...(organizationId ? { organizationId } : {}),
        regions: multiRegion ? 'all' : [caller.region],
        includeGlobalServiceEvents: includeGlobal,
        encryption: kmsArn ? { mode: 'SSE_KMS', kmsKeyId: kmsArn } : { mode: 'SSE_S3' },
        notifications: { ...(snsArn ? { snsTopicArn: snsArn, snsTopicName: snsName } : {}), webhooks: [], kafka: false },
        ...(cloudWatchLogs ? { cloudWatchLogs } : {}),
        digests: { enabled: validation, periodMinutes: this.o.newTrails?.digestPeriodMinutes ?? 60 },
        ...(this.o.newTrails ? { roll: { intervalSeconds: this.o.newTrails.rollIntervalSeconds } } : {}),
      });
      const now = this.o.now();
      // CreateTrail does not start logging: StartLogging does (GetTrailStatus says IsLogging false until then).
      await this.o.store.put({ definition, isLogging: false, tags, createdAt: now, updatedAt: now, origin: 'api' });
      return changeResponse(definition);
    });
  }

  async updateTrail(input: Record<string, unknown>, caller: Caller) {
    const ref = trailRef(input, 'Name');
    const bucket = optionalString(input, 'S3BucketName');
    if (bucket !== undefined) {
      const problem = bucket === '' ? 'S3 bucket name must not be empty.' : bucketProblem(bucket);
      if (problem) throw new ApiError('InvalidS3BucketNameException', problem);
    }
    const prefix = optionalString(input, 'S3KeyPrefix');
    const prefixBad = prefix ? prefixProblem(prefix) : undefined;
    if (prefixBad) throw new ApiError('InvalidS3PrefixException', prefixBad);
    const snsName = optionalString(input, 'SnsTopicName');
    const multiRegion = optionalBoolean(input, 'IsMultiRegionTrail');
    const includeGlobal = optionalBoolean(input, 'IncludeGlobalServiceEvents');
    const validation = optionalBoolean(input, 'EnableLogFileValidation');
    const cloudWatchLogs = cloudWatchLogsOf(optionalString(input, 'CloudWatchLogsLogGroupArn'), optionalString(input, 'CloudWatchLogsRoleArn'));
    const kmsKeyId = optionalString(input, 'KmsKeyId');
    if (kmsKeyId) checkKmsKeyId(kmsKeyId);
    const organization = optionalBoolean(input, 'IsOrganizationTrail');
    if (organization && !this.o.organizationId) throw new ApiError('OrganizationsNotInUseException', 'This account is not a member of an organization (opentrail: no api.organizationId is configured).');

    const next = await this.change(ref, caller, async (record) => {
      const old = record.definition;
      const candidate: TrailInput = { ...old };
      if (bucket !== undefined) candidate.bucket = bucket;
      if (prefix !== undefined) {
        if (prefix === '') delete candidate.prefix;
        else candidate.prefix = prefix;
      }
      let snsArn: string | undefined;
      if (snsName !== undefined) {
        const { snsTopicArn: _a, snsTopicName: _n, ...rest } = old.notifications;
        snsArn = snsName === '' ? undefined : snsTopicArnOf(snsName, old.homeRegion, old.accountId);
        candidate.notifications = { ...rest, ...(snsArn ? { snsTopicArn: snsArn, snsTopicName: snsName } : {}) };
      }
      if (multiRegion !== undefined) candidate.regions = multiRegion ? 'all' : [old.homeRegion];
      if (includeGlobal !== undefined) candidate.includeGlobalServiceEvents = includeGlobal;
      if (candidate.regions === 'all' && candidate.includeGlobalServiceEvents === false) throw new ApiError('InvalidParameterCombinationException', 'Multi-Region trail must include global service events.');
      if (validation !== undefined) candidate.digests = { ...old.digests, enabled: validation };
      if (cloudWatchLogs === null) delete candidate.cloudWatchLogs;
      else if (cloudWatchLogs) candidate.cloudWatchLogs = cloudWatchLogs;
      if (organization !== undefined && organization !== (old.organizationId !== undefined)) {
        if (organization) {
          candidate.organizationId = this.o.organizationId!;
          candidate.accounts = 'all';
        } else {
          delete candidate.organizationId;
          candidate.accounts = [old.accountId];
        }
      }
      const bucketChanged = candidate.bucket !== old.bucket || candidate.prefix !== old.prefix || candidate.organizationId !== old.organizationId;
      if (bucketChanged) await this.o.resources?.checkBucket({ bucket: candidate.bucket, ...(candidate.prefix ? { prefix: candidate.prefix } : {}), accountId: old.accountId, ...(candidate.organizationId ? { organizationId: candidate.organizationId } : {}) });
      if (kmsKeyId !== undefined) {
        if (kmsKeyId === '') candidate.encryption = { mode: 'SSE_S3' };
        else {
          const arn = (await this.o.resources?.resolveKmsKey(kmsKeyId)) ?? kmsKeyId;
          // A configured client-side-encrypted trail keeps its mode with the new key.
          candidate.encryption = { mode: old.encryption.mode === 'CSE_KMS' ? 'CSE_KMS' : 'SSE_KMS', kmsKeyId: arn };
        }
      }
      if (snsArn && snsArn !== old.notifications.snsTopicArn) await this.o.resources?.checkSnsTopic(snsArn);
      return { ...record, definition: validTrail(candidate) };
    });
    return changeResponse(next!.definition);
  }

  async deleteTrail(input: Record<string, unknown>, caller: Caller) {
    await this.change(trailRef(input, 'Name'), caller, async () => null);
    return {};
  }

  // ---- StartLogging / StopLogging / GetTrailStatus ----

  async startLogging(input: Record<string, unknown>, caller: Caller) {
    await this.change(trailRef(input, 'Name'), caller, async (r) => (r.isLogging ? r : { ...r, isLogging: true, startLoggingTime: this.o.now() }));
    return {};
  }

  async stopLogging(input: Record<string, unknown>, caller: Caller) {
    await this.change(trailRef(input, 'Name'), caller, async (r) => (r.isLogging ? { ...r, isLogging: false, stopLoggingTime: this.o.now() } : r));
    return {};
  }

  getTrailStatus(input: Record<string, unknown>, caller: Caller) {
    const record = this.require(trailRef(input, 'Name'), caller);
    const trail = record.definition;
    const a = this.o.activity.activity(trail.name);
    const digests = trail.digests.enabled;
    return {
      IsLogging: record.isLogging,
      ...(a.latestDeliveryError !== undefined ? { LatestDeliveryError: a.latestDeliveryError } : {}),
      ...(a.latestNotificationError !== undefined ? { LatestNotificationError: a.latestNotificationError } : {}),
      ...(a.latestDeliveryTime !== undefined ? { LatestDeliveryTime: seconds(a.latestDeliveryTime) } : {}),
      ...(a.latestNotificationTime !== undefined ? { LatestNotificationTime: seconds(a.latestNotificationTime) } : {}),
      ...(record.startLoggingTime !== undefined ? { StartLoggingTime: seconds(record.startLoggingTime) } : {}),
      ...(record.stopLoggingTime !== undefined ? { StopLoggingTime: seconds(record.stopLoggingTime) } : {}),
      ...(digests && a.latestDigestDeliveryTime !== undefined ? { LatestDigestDeliveryTime: seconds(a.latestDigestDeliveryTime) } : {}),
      ...(digests && a.latestDigestDeliveryError !== undefined ? { LatestDigestDeliveryError: a.latestDigestDeliveryError } : {}),
      // The obsolete ISO-string twins (spec §5.3), still in CloudTrail's answers.
      ...(a.latestDeliveryAttemptTime !== undefined || a.latestDeliveryTime !== undefined ? { LatestDeliveryAttemptTime: isoSeconds(Math.max(a.latestDeliveryAttemptTime ?? 0, a.latestDeliveryTime ?? 0)) } : {}),
      ...(a.latestDeliveryTime !== undefined ? { LatestDeliveryAttemptSucceeded: isoSeconds(a.latestDeliveryTime) } : {}),
      ...(a.latestNotificationAttemptTime !== undefined || a.latestNotificationTime !== undefined ? { LatestNotificationAttemptTime: isoSeconds(Math.max(a.latestNotificationAttemptTime ?? 0, a.latestNotificationTime ?? 0)) } : {}),
      ...(a.latestNotificationTime !== undefined ? { LatestNotificationAttemptSucceeded: isoSeconds(a.latestNotificationTime) } : {}),
      ...(record.startLoggingTime !== undefined ? { TimeLoggingStarted: isoSeconds(record.startLoggingTime) } : {}),
      ...(record.stopLoggingTime !== undefined ? { TimeLoggingStopped: isoSeconds(record.stopLoggingTime) } : {}),
    };
  }

  // ---- GetTrail / DescribeTrails / ListTrails ----

  getTrail(input: Record<string, unknown>, caller: Caller) {
    return { Trail: describeTrail(this.require(trailRef(input, 'Name'), caller).definition) };
  }

  describeTrails(input: Record<string, unknown>, caller: Caller) {
    const names = optionalList(input, 'trailNameList') ?? [];
    const includeShadow = optionalBoolean(input, 'includeShadowTrails') ?? true;
    // Each entry is checked as GetTrail would; unknown trails are left out, not an error. A name
    // matches trails of the caller's region only, an ARN its trail anywhere (spec §5.2).
    const refs = names.map((n, i) => {
      if (typeof n !== 'string') throw new ApiError('SerializationException', `trailNameList[${i}] must be a string`);
      return trailRef({ Name: n }, 'Name');
    });
    const records = this.o.store.all();
    const trails =
      refs.length === 0
        ? records.filter((r) => visibleIn(r.definition, caller.region, includeShadow))
        : records.filter((r) =>
            refs.some((ref) => (ref.kind === 'arn' ? ref.arn === trailArn(r.definition) : ref.name === r.definition.name && r.definition.homeRegion === caller.region)),
          );
    return { trailList: trails.map((r) => describeTrail(r.definition)) };
  }

  listTrails(input: Record<string, unknown>) {
    const token = optionalString(input, 'NextToken');
    const after = token === undefined ? undefined : decodeToken(token);
    const all = this.o.store.all().filter((r) => after === undefined || r.definition.name > after);
    const page = all.slice(0, PAGE);
    return {
      Trails: page.map((r) => ({ TrailARN: trailArn(r.definition), Name: r.definition.name, HomeRegion: r.definition.homeRegion })),
      ...(all.length > PAGE ? { NextToken: encodeToken(page[page.length - 1]!.definition.name) } : {}),
    };
  }

  // ---- Event selectors and Insights ----

  async putEventSelectors(input: Record<string, unknown>, caller: Caller) {
    const ref = trailRef(input, 'TrailName');
    const basic = optionalList(input, 'EventSelectors');
    const advanced = optionalList(input, 'AdvancedEventSelectors');
    if (basic && advanced) throw new ApiError('InvalidParameterCombinationException', 'You can use either AdvancedEventSelectors or EventSelectors, but not both.');
    if (!basic && !advanced) throw new ApiError('InvalidParameterCombinationException', 'Specify EventSelectors or AdvancedEventSelectors.');
    const selectors: Pick<TrailInput, 'eventSelectors' | 'advancedEventSelectors'> = basic ? { eventSelectors: basicSelectorsInput(basic) } : { advancedEventSelectors: advancedSelectorsInput(advanced!) };
    const next = await this.change(ref, caller, async (record) => {
      const { eventSelectors: _b, advancedEventSelectors: _a, ...rest } = record.definition;
      return { ...record, definition: validTrail({ ...rest, ...selectors }) };
    });
    return eventSelectorsView(next!.definition);
  }

  getEventSelectors(input: Record<string, unknown>, caller: Caller) {
    return eventSelectorsView(this.require(trailRef(input, 'TrailName'), caller).definition);
  }

  async putInsightSelectors(input: Record<string, unknown>, caller: Caller) {
    if (member(input, 'EventDataStore') !== undefined || member(input, 'InsightsDestination') !== undefined) throw new ApiError('UnsupportedOperationException', 'Insights on event data stores are not supported by opentrail: Insights are configured on trails (TrailName).');
    if (member(input, 'TrailName') === undefined) throw new ApiError('InvalidParameterCombinationException', 'TrailName is required.');
    const ref = trailRef(input, 'TrailName');
    const list = optionalList(input, 'InsightSelectors');
    if (!list) throw new ApiError('InvalidInsightSelectorsException', 'InsightSelectors is required (an empty list turns Insights off).');
    const insightSelectors = insightSelectorsInput(list);
    const next = await this.change(ref, caller, async (record) => ({ ...record, definition: validTrail({ ...record.definition, insightSelectors }) }));
    return { TrailARN: trailArn(next!.definition), InsightSelectors: insightSelectorsView(next!.definition)?.InsightSelectors ?? [] };
  }

  getInsightSelectors(input: Record<string, unknown>, caller: Caller) {
    if (member(input, 'EventDataStore') !== undefined) throw new ApiError('UnsupportedOperationException', 'Insights on event data stores are not supported by opentrail: Insights are configured on trails (TrailName).');
    if (member(input, 'TrailName') === undefined) throw new ApiError('InvalidParameterCombinationException', 'TrailName is required.');
    const trail = this.require(trailRef(input, 'TrailName'), caller).definition;
    const view = insightSelectorsView(trail);
    if (!view) throw new ApiError('InsightNotEnabledException', `Trail ${trailArn(trail)} does not have Insights enabled.`);
    return view;
  }

  // ---- Tags ----

  /** A trail by the ARN in ResourceId (tags name trails by ARN only). */
  private tagged(arn: unknown): TrailRecord {
    if (typeof arn !== 'string' || arn === '') throw new ApiError('CloudTrailARNInvalidException', 'ResourceId must be a trail ARN.');
    const parts = parseTrailArn(arn);
    if (!parts) throw invalidArn(arn);
    const record = this.o.store.get(parts.name);
    if (!record || trailArn(record.definition) !== arn) throw new ApiError('ResourceNotFoundException', `Resource not found: ${arn}`);
    return record;
  }

  async addTags(input: Record<string, unknown>, _caller: Caller) {
    const list = optionalList(input, 'TagsList');
    if (!list) throw new ApiError('InvalidTagParameterException', 'TagsList is required.');
    const tags = tagsOf(list);
    const arn = member(input, 'ResourceId');
    this.tagged(arn);
    await this.exclusive(async () => {
      const record = this.tagged(arn);
      const merged = new Map(record.tags.map((t) => [t.key, t]));
      for (const t of tags) merged.set(t.key, t);
      if (merged.size > MAX_TAGS_PER_TRAIL) throw new ApiError('TagsLimitExceededException', `The number of tags per trail has exceeded the permitted amount. Currently, the limit is ${MAX_TAGS_PER_TRAIL}.`);
      await this.o.store.put({ ...record, tags: [...merged.values()], updatedAt: this.o.now() });
    });
    return {};
  }

  async removeTags(input: Record<string, unknown>, _caller: Caller) {
    const list = optionalList(input, 'TagsList');
    if (!list) throw new ApiError('InvalidTagParameterException', 'TagsList is required.');
    const keys = new Set(tagsOf(list).map((t) => t.key));
    const arn = member(input, 'ResourceId');
    this.tagged(arn);
    await this.exclusive(async () => {
      const record = this.tagged(arn);
      const kept = record.tags.filter((t) => !keys.has(t.key));
      if (kept.length !== record.tags.length) await this.o.store.put({ ...record, tags: kept, updatedAt: this.o.now() });
    });
    return {};
  }

  listTags(input: Record<string, unknown>, _caller: Caller) {
    const ids = optionalList(input, 'ResourceIdList');
    if (!ids || ids.length === 0) throw new ApiError('InvalidTrailNameException', 'ResourceIdList must name at least one trail ARN.');
    if (ids.length > 20) throw new ApiError('InvalidParameterException', 'ResourceIdList may name at most 20 resources.');
    // Every answer is one page: a NextToken can only be one this API never gave.
    if (optionalString(input, 'NextToken') !== undefined) throw new ApiError('InvalidTokenException', 'The NextToken is not valid.');
    return { ResourceTagList: ids.map((id) => ({ ResourceId: id as string, TagsList: tagList(this.tagged(id).tags) })) };
  }
}
