import type { Trail } from './schema.js';

/**
 * Trails as data (architecture.md, "Trail control plane"). The source of truth is a compacted
 * Kafka topic of trail records, key = trail name; the API's CreateTrail, UpdateTrail,
 * StartLogging... write it, and every service follows it live through a `TrailCatalog`. The
 * configuration file's `trails:` only seeds the topic.
 *
 * This module is the contract between the writer (the API), the readers (archiver, digester,
 * notifier, alerter, API) and the Kafka-backed implementation; `InMemoryTrailStore` is the same
 * contract without Kafka, for unit tests of the code on either side.
 */

/** One tag of a trail (AddTags/RemoveTags/ListTags). */
export interface TrailTag {
  key: string;
  value?: string;
}

/** Where a record came from. Config records are reconciled from the file; API records never are. */
export type TrailOrigin = 'config' | 'api';

/** What the control plane knows of one trail: its definition and its logging switch. */
export interface TrailRecord {
  /** The definition, as the `trails:` schema parses it (defaults applied). `definition.name` is the record's key. */
  definition: Trail;
  /** StartLogging / StopLogging. A trail that is not logging delivers nothing. */
  isLogging: boolean;
  /** Epoch milliseconds of the last StartLogging (or of creation with logging on). */
  startLoggingTime?: number;
  /** Epoch milliseconds of the last StopLogging. */
  stopLoggingTime?: number;
  tags: TrailTag[];
  /** Epoch milliseconds. */
  createdAt: number;
  updatedAt: number;
  origin: TrailOrigin;
}

/** One change as readers see it: `after` undefined means the trail was deleted, `before` undefined that it is new. */
export interface TrailChange {
  name: string;
  before?: TrailRecord;
  after?: TrailRecord;
}

/** A live, read-only view of every trail. */
export interface TrailCatalog {
  /** Every trail that exists now, logging or not, in name order. */
  all(): TrailRecord[];
  get(name: string): TrailRecord | undefined;
  /** Trails that deliver now: existing and logging. What the archiver and digester act on. */
  active(): Trail[];
  /** Called after every applied change, in topic order. Returns the unsubscribe function. */
  onChange(listener: (change: TrailChange) => void): () => void;
}

/** The control plane's side: writes resolve once this process's own catalog has applied them (read-your-writes). */
export interface TrailStore extends TrailCatalog {
  put(record: TrailRecord): Promise<void>;
  delete(name: string): Promise<void>;
}

/** Applies changes and calls listeners; the shared core of every implementation. */
export class TrailTable implements TrailCatalog {
  private readonly records = new Map<string, TrailRecord>();
  private readonly listeners = new Set<(change: TrailChange) => void>();

  all(): TrailRecord[] {
    return [...this.records.values()].sort((a, b) => (a.definition.name < b.definition.name ? -1 : a.definition.name > b.definition.name ? 1 : 0));
  }

  get(name: string): TrailRecord | undefined {
    return this.records.get(name);
  }

  active(): Trail[] {
    return this.all()
      .filter((r) => r.isLogging)
      .map((r) => r.definition);
  }

  onChange(listener: (change: TrailChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies one `(name, record | null)` change. */
  apply(name: string, record: TrailRecord | null): void {
    const before = this.records.get(name);
    if (record) this.records.set(name, record);
    else if (before) this.records.delete(name);
    else return;
    const change: TrailChange = { name, ...(before ? { before } : {}), ...(record ? { after: record } : {}) };
    for (const listener of this.listeners) listener(change);
  }
}

/** The contract without Kafka: for unit tests, and for tools that hold trails in memory. */
export class InMemoryTrailStore extends TrailTable implements TrailStore {
  constructor(records: TrailRecord[] = []) {
    super();
    for (const r of records) this.apply(r.definition.name, r);
  }

  async put(record: TrailRecord): Promise<void> {
    this.apply(record.definition.name, record);
  }

  async delete(name: string): Promise<void> {
    this.apply(name, null);
  }
}

/** The record a configured trail seeds: logging from the start, as a trail in the file always was. */
export function configTrailRecord(trail: Trail, now: number): TrailRecord {
  return { definition: trail, isLogging: true, startLoggingTime: now, tags: [], createdAt: now, updatedAt: now, origin: 'config' };
}

/**
 * The Kafka-backed catalog a service holds (see `openTrailCatalog`): the store, plus what its
 * health checks need. Opened, it has read the trails topic to its end and seeded the configured
 * trails (reconciliation rules in kafkaCatalog.ts).
 */
export interface TrailCatalogHandle extends TrailStore {
  /** true once caught up; otherwise why not (for /readyz). */
  readonly ready: boolean | string;
  /** true while the reader runs; otherwise why it stopped (for /healthz). */
  readonly healthy: boolean | string;
  stop(): Promise<void>;
}
