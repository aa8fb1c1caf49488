import type { Logger } from '@opentrail/observability';
import type { Trail, TrailCatalog } from '@opentrail/trails';
import { resolveTargets, type TargetSpec } from './targets.js';

/** One target's running consumer. */
export interface RunningTarget {
  stop(): Promise<void>;
  ready(): boolean | string;
  healthy(): boolean | string;
}

export interface LiveTargetsOptions {
  catalog: TrailCatalog;
  /** Starts a target's consumer group (a new group starts at the end of the deliveries topic: newTargetsStartAt). */
  start: (target: TargetSpec) => Promise<RunningTarget>;
  logger: Logger;
  /** After a failed start of a target, how long until the targets are brought up to date again. @default 5000 */
  retryMs?: number;
}

/** What makes two specs of one id the same target: a changed URL, secret or topic means a new sender. */
const identity = (t: TargetSpec) => JSON.stringify(t.kind === 'sns' ? [t.kind, t.topicArn] : t.kind === 'webhook' ? [t.kind, t.webhook.url, t.webhook.secret] : [t.kind]);

/**
 * The notification targets, following the trail catalog live (issue 14): every trail that exists
 * (logging or not: a stopped trail's last files are still announced) contributes its SNS topic,
 * webhooks and Kafka flag. A target a change introduces starts its consumer group; one no trail
 * names any more stops (committing what it finished); a target whose trails change keeps running
 * with the new set, read per delivery. Changes are applied one at a time, in order.
 */
export class LiveTargets {
  private readonly running = new Map<string, { spec: TargetSpec; identity: string; target: RunningTarget }>();
  /** Every trail of the catalog: a delivery of any other is counted as an unknown trail's. */
  readonly knownTrails = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly options: LiveTargetsOptions) {}

  /** Starts the targets of the trails now, and follows changes. */
  async start(): Promise<void> {
    this.unsubscribe = this.options.catalog.onChange(() => void this.sync());
    await this.sync();
  }

  /** Brings the running targets to the catalog's trails (queued behind any sync in progress); a failure is tried again after `retryMs`. */
  sync(): Promise<void> {
    this.queue = this.queue
      .then(() => this.apply(this.options.catalog.all().map((r) => r.definition)))
      .catch((err: unknown) => {
        this.options.logger.error({ err, retryInMs: this.options.retryMs ?? 5000 }, 'following a trail change failed; trying again');
        if (!this.stopped) this.retry ??= setTimeout(() => {
          this.retry = undefined;
          void this.sync();
        }, this.options.retryMs ?? 5000).unref();
      });
    return this.queue;
  }

  get targets(): TargetSpec[] {
    return [...this.running.values()].map((r) => r.spec);
  }

  /** Readiness: true when every target's consumer is ready, else the first reason. */
  ready(): boolean | string {
    for (const { spec, target } of this.running.values()) {
      const ready = target.ready();
      if (ready !== true) return `target ${spec.label}: ${ready}`;
    }
    return true;
  }

  healthy(): boolean | string {
    for (const { spec, target } of this.running.values()) {
      const healthy = target.healthy();
      if (healthy !== true) return `target ${spec.label}: ${healthy}`;
    }
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.retry) clearTimeout(this.retry);
    await this.queue;
    await Promise.all([...this.running.values()].map((r) => r.target.stop()));
    this.running.clear();
  }

  private async apply(trails: Trail[]): Promise<void> {
    if (this.stopped) return;
    this.knownTrails.clear();
    for (const t of trails) this.knownTrails.add(t.name);
    const wanted = new Map(resolveTargets(trails).map((t) => [t.id, t]));
    const { logger } = this.options;
    for (const [id, current] of this.running) {
      const next = wanted.get(id);
      if (next && identity(next) === identity(current.spec)) continue;
      this.running.delete(id);
      await current.target.stop();
      logger.info({ target: current.spec.label, replaced: next !== undefined }, next ? 'notification target changed: restarting it' : 'notification target no longer named by any trail: stopped');
    }
    for (const [id, spec] of wanted) {
      const current = this.running.get(id);
      if (current) {
        // Same target, maybe other trails: the set its handler reads per delivery is updated in place.
        current.spec.trails.clear();
        for (const name of spec.trails) current.spec.trails.add(name);
        continue;
      }
      const target = await this.options.start(spec);
      this.running.set(id, { spec, identity: identity(spec), target });
      logger.info({ target: spec.label, trails: [...spec.trails] }, 'notification target started');
    }
  }
}
