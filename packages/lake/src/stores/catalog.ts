import type { EventDataStoreDefinition } from './schema.js';

/**
 * Event data stores as data, like trails (architecture.md, "Trail control plane"): a compacted
 * Kafka topic of store records, key = store ID. The API's CreateEventDataStore, UpdateEventDataStore,
 * StopEventDataStoreIngestion... write it; the lake service and the query API follow it live
 * through an `EventDataStoreCatalog`. `InMemoryEventDataStoreStore` is the same contract without
 * Kafka, for unit tests.
 */

export interface EventDataStoreTag {
  key: string;
  value?: string;
}

/**
 * ENABLED ingests; STOPPED_INGESTION keeps its events and answers queries but takes no new ones;
 * PENDING_DELETION (after DeleteEventDataStore) neither ingests nor answers, and is kept for
 * CloudTrail's seven-day wait, during which RestoreEventDataStore could bring it back.
 */
export type EventDataStoreStatus = 'ENABLED' | 'STOPPED_INGESTION' | 'PENDING_DELETION';

export interface EventDataStoreRecord {
  definition: EventDataStoreDefinition;
  status: EventDataStoreStatus;
  tags: EventDataStoreTag[];
  /** Epoch milliseconds. */
  createdAt: number;
  updatedAt: number;
  /** When it entered PENDING_DELETION. */
  deletedAt?: number;
}

export interface EventDataStoreChange {
  id: string;
  before?: EventDataStoreRecord;
  after?: EventDataStoreRecord;
}

/** A live, read-only view of every store. */
export interface EventDataStoreCatalog {
  /** Every store, pending deletion included, in ID order. */
  all(): EventDataStoreRecord[];
  get(id: string): EventDataStoreRecord | undefined;
  /** Called after every applied change, in topic order. Returns the unsubscribe function. */
  onChange(listener: (change: EventDataStoreChange) => void): () => void;
}

/** The control plane's side: writes resolve once this process's own catalog has applied them (read-your-writes). */
export interface EventDataStoreStore extends EventDataStoreCatalog {
  put(record: EventDataStoreRecord): Promise<void>;
  /** Removes the record (the end of the wait after DeleteEventDataStore). */
  remove(id: string): Promise<void>;
}

export class EventDataStoreTable implements EventDataStoreCatalog {
  private readonly records = new Map<string, EventDataStoreRecord>();
  private readonly listeners = new Set<(change: EventDataStoreChange) => void>();

  all(): EventDataStoreRecord[] {
    return [...this.records.values()].sort((a, b) => (a.definition.id < b.definition.id ? -1 : a.definition.id > b.definition.id ? 1 : 0));
  }

  get(id: string): EventDataStoreRecord | undefined {
    return this.records.get(id);
  }

  onChange(listener: (change: EventDataStoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  apply(id: string, record: EventDataStoreRecord | null): void {
    const before = this.records.get(id);
    if (record) this.records.set(id, record);
    else if (before) this.records.delete(id);
    else return;
    const change: EventDataStoreChange = { id, ...(before ? { before } : {}), ...(record ? { after: record } : {}) };
    for (const listener of this.listeners) listener(change);
  }
}

export class InMemoryEventDataStoreStore extends EventDataStoreTable implements EventDataStoreStore {
  constructor(records: EventDataStoreRecord[] = []) {
    super();
    for (const r of records) this.apply(r.definition.id, r);
  }

  async put(record: EventDataStoreRecord): Promise<void> {
    this.apply(record.definition.id, record);
  }

  async remove(id: string): Promise<void> {
    this.apply(id, null);
  }
}

/** The Kafka-backed catalog a service holds, with what its health checks need. */
export interface EventDataStoreCatalogHandle extends EventDataStoreStore {
  readonly ready: boolean | string;
  readonly healthy: boolean | string;
  stop(): Promise<void>;
}
