import type { Logger } from '@opentrail/observability';
import { compileTrails, type Trail, type TrailCatalog, type TrailMatcher, type TrailRecord } from '@opentrail/trails';

/**
 * The trails the archiver routes by, following the trail catalog live (issue 14).
 *
 * Which records a trail takes is decided from data, not from when this process heard of a change:
 * each trail has a window of Kafka timestamps (the ingestion time the enricher carries over).
 * - A trail started (StartLogging, or created logging) at T takes records stamped T or later; a
 *   trail that has logged since the configuration file seeded it takes everything, as before.
 * - A stopped trail takes records stamped up to its StopLogging time: what was sent before the stop
 *   and is still on its way is delivered, as CloudTrail delivers up to the StopLogging event
 *   (cloudtrail-spec.md §3.1), and nothing later.
 * - A deleted trail keeps the window of a stopped one, in this process only, for `drainMs`.
 *
 * So a partition re-read after a crash routes every record as the first reading did (the catalog
 * says the same about start and stop), rebuilds the same files from the same first records, and the
 * high-water marks of every (trail, kind, account, region) group keep their meaning. What a replay
 * cannot know is a definition the catalog no longer holds: records re-read across a selector change
 * are routed by the newer selectors.
 */

/** Kafka timestamps a trail takes: `from` and `until` inclusive, either open. */
export interface TrailWindow {
  from?: number;
  until?: number;
}

export interface TrailSnapshot {
  /** Changes whenever what any trail selects, or where it delivers, changes. */
  readonly version: number;
  /** Active and draining trails. */
  readonly matcher: TrailMatcher;
  /** Trails whose windows are bounded; a trail not listed takes every record. */
  readonly windows: ReadonlyMap<string, TrailWindow>;
  /** Per trail: a number that changes when its definition does (its open files are then closed). */
  readonly revisions: ReadonlyMap<string, number>;
}

/** Where the archiver gets its trails at the start of every batch and tick. */
export interface TrailSource {
  snapshot(): TrailSnapshot;
}

/** Trails that never change (tools and tests). */
export function staticTrails(trails: readonly Trail[]): TrailSource {
  const snapshot: TrailSnapshot = { version: 0, matcher: compileTrails(trails), windows: new Map(), revisions: new Map(trails.map((t) => [t.name, 0])) };
  return { snapshot: () => snapshot };
}

/** The window of a trail record, or undefined when it takes nothing (stopped, with no stop time). */
export function windowOf(record: TrailRecord): TrailWindow | undefined {
  if (record.isLogging) {
    // Logging since the file seeded it: the file's trails always archived the whole topic.
    if (record.origin === 'config' && (record.startLoggingTime === undefined || record.startLoggingTime <= record.createdAt)) return {};
    return record.startLoggingTime === undefined ? {} : { from: record.startLoggingTime };
  }
  if (record.stopLoggingTime === undefined) return undefined;
  // Stopped: what it took while logging, up to the stop (its start bound still holds).
  const from = record.startLoggingTime !== undefined && record.startLoggingTime <= record.stopLoggingTime && !(record.origin === 'config' && record.startLoggingTime <= record.createdAt) ? record.startLoggingTime : undefined;
  return from === undefined ? { until: record.stopLoggingTime } : { from, until: record.stopLoggingTime };
}

export interface LiveTrailsOptions {
  catalog: TrailCatalog;
  /** How long a deleted trail still takes records stamped before its deletion. @default 600000 */
  drainMs?: number;
  logger: Logger;
  now?: () => number;
}

/** A compiled view of the catalog, rebuilt lazily after a change. */
export class LiveTrails implements TrailSource {
  private version = 0;
  private current: TrailSnapshot | undefined;
  /** Deleted trails still draining: their last definition, window and deletion time. */
  private readonly deleted = new Map<string, { trail: Trail; window: TrailWindow; at: number }>();
  private readonly definitions = new Map<string, { json: string; revision: number }>();
  private revision = 0;
  private readonly unsubscribe: () => void;
  private readonly now: () => number;

  constructor(private readonly options: LiveTrailsOptions) {
    this.now = options.now ?? Date.now;
    this.unsubscribe = options.catalog.onChange((change) => {
      this.deleted.delete(change.name);
      if (!change.after && change.before) {
        // Deleted while logging: it stops now; deleted while stopped: it stopped at its StopLogging.
        const window = windowOf(change.before);
        const at = this.now();
        if (window) this.deleted.set(change.name, { trail: change.before.definition, window: change.before.isLogging ? { ...window, until: at } : window, at });
      }
      this.current = undefined;
    });
  }

  snapshot(): TrailSnapshot {
    const now = this.now();
    const drainMs = this.options.drainMs ?? 600_000;
    for (const [name, d] of this.deleted) {
      if (now - d.at > drainMs) {
        this.deleted.delete(name);
        this.current = undefined;
      }
    }
    if (this.current) return this.current;
    const trails: Trail[] = [];
    const windows = new Map<string, TrailWindow>();
    for (const record of this.options.catalog.all()) {
      const window = windowOf(record);
      if (!window) continue;
      trails.push(record.definition);
      if (window.from !== undefined || window.until !== undefined) windows.set(record.definition.name, window);
    }
    for (const [name, d] of this.deleted) {
      trails.push(d.trail);
      windows.set(name, d.window);
    }
    const revisions = new Map<string, number>();
    for (const trail of trails) {
      const json = JSON.stringify(trail);
      let known = this.definitions.get(trail.name);
      if (!known || known.json !== json) this.definitions.set(trail.name, (known = { json, revision: ++this.revision }));
      revisions.set(trail.name, known.revision);
    }
    for (const name of this.definitions.keys()) if (!revisions.has(name)) this.definitions.delete(name);
    this.current = { version: ++this.version, matcher: compileTrails(trails), windows, revisions };
    this.options.logger.info({ version: this.current.version, trails: trails.map((t) => ({ name: t.name, ...windows.get(t.name) })) }, 'trails changed: routing by the new set from the next batch');
    return this.current;
  }

  stop(): void {
    this.unsubscribe();
  }
}
