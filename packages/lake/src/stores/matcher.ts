import { eventAccountId } from '@opentrail/cloudtrail';
import type { ApiCallEvent } from '@opentrail/serde';
import { compileSelectors, type EventPredicate } from '@opentrail/trails';
import type { EventDataStoreRecord } from './catalog.js';

/** A store with its selectors compiled. */
export interface CompiledEventDataStore {
  record: EventDataStoreRecord;
  id: string;
  selects: EventPredicate;
  covers(accountId: string, region: string): boolean;
}

export interface EventDataStoreMatcher {
  readonly stores: readonly CompiledEventDataStore[];
  /** The stores that take this event now: ingesting, in scope (account, region) and selected. */
  select(event: ApiCallEvent, readOnlyHint?: boolean | null): CompiledEventDataStore[];
}

/**
 * Compiles the ingesting stores once per catalog change; `select` runs per event. A store takes
 * the events of its own account (every account for an organization store) and of its home region
 * (every region when multi-region), that its selectors select: the trails' engine, so the same
 * selectors pick the same events in a trail and in a store.
 */
export function compileEventDataStores(records: readonly EventDataStoreRecord[]): EventDataStoreMatcher {
  const stores = records
    .filter((r) => r.status === 'ENABLED')
    .map((record): CompiledEventDataStore => {
      const d = record.definition;
      return {
        record,
        id: d.id,
        selects: compileSelectors({ advancedEventSelectors: d.advancedEventSelectors }),
        covers: (accountId, region) => (d.organizationId !== undefined || accountId === d.accountId) && (d.multiRegionEnabled || region === d.homeRegion),
      };
    });
  return {
    stores,
    select(event, readOnlyHint) {
      if (stores.length === 0) return [];
      const accountId = eventAccountId(event);
      const region = event.awsRegion;
      return stores.filter((s) => s.covers(accountId, region) && s.selects(event, readOnlyHint));
    },
  };
}
