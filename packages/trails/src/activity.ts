import type { TrailActivity, TrailActivityKind } from '@opentrail/serde';

/**
 * Trail activity: what the services last did for each trail, for GetTrailStatus
 * (cloudtrail-spec.md §5.3). The archiver reports log file deliveries (LOG), the digester digest
 * deliveries (DIGEST), the notifier notifications (NOTIFICATION); each report is one record of a
 * compacted topic keyed `<trailName>/<kind>` (schemas/trail-activity.avsc).
 *
 * Volume is bounded: an `ActivityRecorder` writes a (trail, kind) at once on its first failure and
 * when a success follows a failure, and otherwise at most every `intervalMs`, however many files,
 * digests or notifications go by.
 */

export type ActivityKind = TrailActivityKind;

/** What a service tells of its attempts. Errors are whatever the target threw: the code is read from it. */
export interface ActivityReport {
  succeeded(trailName: string, kind: ActivityKind, atMs?: number): void;
  failed(trailName: string, kind: ActivityKind, error: unknown, atMs?: number): void;
}

/** An attempt's error as CloudTrail shows it: the target's error code (S3's NoSuchBucket, SNS's NotFound) and its message. */
export interface ActivityError {
  code: string;
  message: string;
}

const MAX_MESSAGE = 1024;

/** The code and message of an AWS SDK error (S3 answers `Code`, the SDK names the exception), or of anything thrown. */
export function activityError(error: unknown): ActivityError {
  if (error && typeof error === 'object') {
    const e = error as { Code?: unknown; code?: unknown; name?: unknown; message?: unknown };
    const code = [e.Code, e.code, e.name].find((c): c is string => typeof c === 'string' && c.length > 0 && c !== 'Error') ?? 'InternalFailure';
    const message = typeof e.message === 'string' ? e.message : '';
    return { code: code.slice(0, 128), message: message.slice(0, MAX_MESSAGE) };
  }
  return { code: 'InternalFailure', message: String(error).slice(0, MAX_MESSAGE) };
}

export const activityKey = (trailName: string, kind: ActivityKind) => `${trailName}/${kind}`;

interface Entry {
  record: TrailActivity;
  /** Time of the last write; undefined: never written. */
  writtenAt: number | undefined;
  dirty: boolean;
  failing: boolean;
}

export interface ActivityRecorderOptions {
  /** The writer's name in the records: archiver, digester or notifier. */
  service: string;
  /** Writes records (the service's producer, to the trail activity topic). Failures are the sender's to log; the entries stay dirty. */
  send: (records: { key: string; value: TrailActivity }[]) => Promise<void>;
  /** At most one record per (trail, kind) this often, except on a change between failing and succeeding. @default 10000 */
  intervalMs?: number;
  now?: () => number;
}

/** Collects reports and writes them, bounded; `flush` (on a timer, and at stop) writes what is due. */
export class ActivityRecorder implements ActivityReport {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly intervalMs: number;
  private sending: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ActivityRecorderOptions) {
    this.now = options.now ?? Date.now;
    this.intervalMs = options.intervalMs ?? 10_000;
  }

  succeeded(trailName: string, kind: ActivityKind, atMs: number = this.now()): void {
    const entry = this.entry(trailName, kind, atMs);
    entry.record.latestAttemptTime = Math.max(entry.record.latestAttemptTime, atMs);
    entry.record.latestSuccessTime = Math.max(entry.record.latestSuccessTime ?? 0, atMs);
    const recovered = entry.failing;
    entry.failing = false;
    this.touch(entry, recovered);
  }

  failed(trailName: string, kind: ActivityKind, error: unknown, atMs: number = this.now()): void {
    const entry = this.entry(trailName, kind, atMs);
    const { code, message } = activityError(error);
    const changed = !entry.failing || entry.record.latestErrorCode !== code;
    entry.record.latestAttemptTime = Math.max(entry.record.latestAttemptTime, atMs);
    entry.record.latestErrorTime = Math.max(entry.record.latestErrorTime ?? 0, atMs);
    entry.record.latestErrorCode = code;
    entry.record.latestErrorMessage = message;
    entry.failing = true;
    this.touch(entry, changed);
  }

  /** Flushes every `everyMs` (unref'd). */
  start(everyMs = 1000): void {
    this.timer ??= setInterval(() => void this.flush(), everyMs).unref();
  }

  /** Writes the dirty entries whose interval has passed (all of them with `all`). */
  async flush(all = false): Promise<void> {
    if (this.sending) await this.sending;
    const now = this.now();
    const due: Entry[] = [];
    for (const entry of this.entries.values()) if (entry.dirty && (all || entry.writtenAt === undefined || now - entry.writtenAt >= this.intervalMs)) due.push(entry);
    if (due.length === 0) return;
    for (const entry of due) {
      entry.dirty = false;
      entry.writtenAt = now;
      entry.record.updatedAt = now;
    }
    this.sending = this.options
      .send(due.map((e) => ({ key: activityKey(e.record.trailName, e.record.kind), value: { ...e.record } })))
      .catch(() => {
        for (const entry of due) entry.dirty = true;
      })
      .finally(() => {
        this.sending = undefined;
      });
    await this.sending;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush(true);
  }

  private entry(trailName: string, kind: ActivityKind, atMs: number): Entry {
    const key = activityKey(trailName, kind);
    let entry = this.entries.get(key);
    if (!entry) {
      entry = {
        record: { trailName, kind, latestAttemptTime: atMs, latestSuccessTime: null, latestErrorTime: null, latestErrorCode: null, latestErrorMessage: null, service: this.options.service, updatedAt: atMs },
        writtenAt: undefined,
        dirty: false,
        failing: false,
      };
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** Marks an entry for writing; a change between failing and succeeding is written on the next flush, whatever the interval. */
  private touch(entry: Entry, urgent: boolean): void {
    entry.dirty = true;
    if (urgent) {
      entry.writtenAt = undefined;
      void this.flush();
    }
  }
}

/** GetTrailStatus' activity fields (epoch ms; errors as CloudTrail shows them, the target's error code). */
export interface TrailActivityView {
  latestDeliveryTime?: number;
  latestDeliveryError?: string;
  latestDeliveryAttemptTime?: number;
  latestDigestDeliveryTime?: number;
  latestDigestDeliveryError?: string;
  latestNotificationTime?: number;
  latestNotificationError?: string;
  latestNotificationAttemptTime?: number;
}

/** An error is shown while it is newer than the last success (CloudTrail clears it once delivery works again). */
function currentError(record: TrailActivity | undefined): string | undefined {
  if (!record?.latestErrorCode || record.latestErrorTime === null) return undefined;
  return record.latestSuccessTime !== null && record.latestSuccessTime >= record.latestErrorTime ? undefined : record.latestErrorCode;
}

/** The latest activity record per key, as read from the topic; `activity(trail)` is GetTrailStatus' view. */
export class TrailActivityTable {
  private readonly records = new Map<string, TrailActivity>();

  /** Applies one record of the topic (null: a tombstone). Keys that are no activity key are ignored. */
  apply(key: string, value: TrailActivity | null): void {
    if (value === null) {
      this.records.delete(key);
      return;
    }
    if (key !== activityKey(value.trailName, value.kind)) return;
    const current = this.records.get(key);
    // Several instances write one key: keep the newest of each field.
    if (!current) {
      this.records.set(key, { ...value });
      return;
    }
    const max = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));
    const errorNewer = (value.latestErrorTime ?? -1) >= (current.latestErrorTime ?? -1);
    this.records.set(key, {
      ...value,
      latestAttemptTime: Math.max(current.latestAttemptTime, value.latestAttemptTime),
      latestSuccessTime: max(current.latestSuccessTime, value.latestSuccessTime),
      latestErrorTime: max(current.latestErrorTime, value.latestErrorTime),
      latestErrorCode: errorNewer ? value.latestErrorCode : current.latestErrorCode,
      latestErrorMessage: errorNewer ? value.latestErrorMessage : current.latestErrorMessage,
      updatedAt: Math.max(current.updatedAt, value.updatedAt),
    });
  }

  /** Forgets a trail (DeleteTrail: a trail created again under the name starts without history). */
  forget(trailName: string): void {
    for (const kind of ['LOG', 'DIGEST', 'NOTIFICATION'] as const) this.records.delete(activityKey(trailName, kind));
  }

  record(trailName: string, kind: ActivityKind): TrailActivity | undefined {
    return this.records.get(activityKey(trailName, kind));
  }

  activity(trailName: string): TrailActivityView {
    const log = this.record(trailName, 'LOG');
    const digest = this.record(trailName, 'DIGEST');
    const notification = this.record(trailName, 'NOTIFICATION');
    const view: TrailActivityView = {};
    if (log?.latestSuccessTime != null) view.latestDeliveryTime = log.latestSuccessTime;
    if (log) view.latestDeliveryAttemptTime = log.latestAttemptTime;
    const logError = currentError(log);
    if (logError) view.latestDeliveryError = logError;
    if (digest?.latestSuccessTime != null) view.latestDigestDeliveryTime = digest.latestSuccessTime;
    const digestError = currentError(digest);
    if (digestError) view.latestDigestDeliveryError = digestError;
    if (notification?.latestSuccessTime != null) view.latestNotificationTime = notification.latestSuccessTime;
    if (notification) view.latestNotificationAttemptTime = notification.latestAttemptTime;
    const notificationError = currentError(notification);
    if (notificationError) view.latestNotificationError = notificationError;
    return view;
  }
}

/** What `activityRecorder` needs of a Kafka producer and a serde (structural: no Kafka dependency here). */
export interface ActivityProducer {
  send(record: { topic: string; messages: { key: string; value: Buffer }[] }): Promise<unknown>;
}

/**
 * A recorder writing to the trail activity topic through `producer` (a plain, non-transactional
 * producer: activity is advisory, and a lost or repeated record only moves a timestamp), flushing
 * every second. Stop it (`stop()`) before disconnecting the producer.
 */
export function activityRecorder(
  service: string,
  producer: ActivityProducer,
  topic: string,
  serde: { encode(value: TrailActivity): Buffer },
  logger: { warn(fields: object, message: string): void },
  intervalMs?: number,
): ActivityRecorder {
  let lastWarning = 0;
  const recorder = new ActivityRecorder({
    service,
    ...(intervalMs !== undefined ? { intervalMs } : {}),
    send: async (records) => {
      try {
        await producer.send({ topic, messages: records.map((r) => ({ key: r.key, value: serde.encode(r.value) })) });
      } catch (err) {
        if (Date.now() - lastWarning > 60_000) {
          lastWarning = Date.now();
          logger.warn({ err, topic }, 'writing trail activity failed; it is written again later');
        }
        throw err;
      }
    },
  });
  recorder.start();
  return recorder;
}
