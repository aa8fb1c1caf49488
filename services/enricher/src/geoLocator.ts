import { basename } from 'node:path';
import type { Logger } from '@opentrail/observability';
import type { GeoLocation } from '@opentrail/serde';
import { classifySourceAddress } from './addressClassification.js';
import { GeoDatabase, type GeoFacts } from './geoDatabase.js';
import type { EnricherMetrics } from './metrics.js';

export interface GeoObserver {
  /** A public address was looked up: found in some database, or in none. */
  lookup(result: 'hit' | 'miss'): void;
  classified(classification: string): void;
}

/**
 * sourceIPAddress → GeoLocation: classifies the value, looks public addresses up in the databases
 * in their configured order (the first that knows the location answers for the location, the first
 * that knows the ASN for the ASN), and remembers answers per address until a database is reloaded.
 */
export class GeoLocator {
  private readonly cache = new Map<string, GeoLocation>();

  constructor(
    readonly databases: readonly GeoDatabase[],
    private readonly cacheEntries: number,
  ) {}

  /**
   * Opens the configured files (one that is not a usable mmdb database throws, naming it) and
   * watches them: a replaced file is loaded, and answers given from the old data are forgotten.
   */
  static open(options: { paths: readonly string[]; reloadCheckIntervalMs: number; cacheEntries: number; logger: Logger; metrics: Pick<EnricherMetrics, 'geoReloads'> }): GeoLocator {
    const { logger, metrics } = options;
    const databases: GeoDatabase[] = [];
    const locator = new GeoLocator(databases, options.cacheEntries);
    const onReload = (db: GeoDatabase, error?: Error) => {
      metrics.geoReloads.inc({ database: basename(db.path), result: error ? 'refused' : 'loaded' });
      if (error) {
        logger.warn({ err: error.message, database: db.path }, 'replaced geo database refused; the previous data stays');
        return;
      }
      locator.invalidate();
      logger.info({ database: db.path, label: db.label, type: db.databaseType }, 'geo database reloaded');
    };
    for (const path of options.paths) databases.push(GeoDatabase.open(path, { onReload }));
    for (const db of databases) {
      db.watch(options.reloadCheckIntervalMs);
      logger.info({ database: db.path, label: db.label, type: db.databaseType, ipVersion: db.ipVersion }, 'geo database open');
    }
    return locator;
  }

  close(): void {
    for (const db of this.databases) db.close();
  }

  /** Drops remembered answers (a database was replaced). */
  invalidate(): void {
    this.cache.clear();
  }

  /** Undefined when the record has no sourceIPAddress at all. */
  locate(sourceIPAddress: string | null, observe: GeoObserver): GeoLocation | null {
    if (sourceIPAddress === null) return null;
    const cached = this.cache.get(sourceIPAddress);
    if (cached !== undefined) {
      observe.classified(cached.classification);
      if (cached.classification === 'public') observe.lookup(cached.database === null ? 'miss' : 'hit');
      return cached;
    }
    const located = this.compute(sourceIPAddress);
    observe.classified(located.classification);
    if (located.classification === 'public') observe.lookup(located.database === null ? 'miss' : 'hit');
    if (this.cacheEntries > 0) {
      // First in, first out: cheaper than LRU bookkeeping on every hit, and enough for the few
      // addresses that dominate real traffic.
      if (this.cache.size >= this.cacheEntries) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(sourceIPAddress, located);
    }
    return located;
  }

  private compute(value: string): GeoLocation {
    const { classification, address, family } = classifySourceAddress(value);
    const location: GeoLocation = {
      classification,
      country: null,
      subdivision: null,
      city: null,
      latitude: null,
      longitude: null,
      timezone: null,
      asn: null,
      asOrganization: null,
      database: null,
    };
    if (classification !== 'public' || address === undefined) return location;
    const answered: string[] = [];
    let place: GeoFacts | undefined;
    let network: GeoFacts | undefined;
    for (const db of this.databases) {
      // An IPv4-only file would answer an IPv6 query from its first 32 bits: never ask it.
      if (family === 6 && db.ipVersion !== 6) continue;
      const facts = db.lookup(address);
      if (facts === null) continue;
      let used = false;
      if (!place && (facts.country !== null || facts.city !== null || facts.latitude !== null)) {
        place = facts;
        used = true;
      }
      if (!network && facts.asn !== null) {
        network = facts;
        used = true;
      }
      if (used) answered.push(db.label);
      if (place && network) break;
    }
    if (place) {
      location.country = place.country;
      location.subdivision = place.subdivision;
      location.city = place.city;
      location.latitude = place.latitude;
      location.longitude = place.longitude;
      location.timezone = place.timezone;
    }
    if (network) {
      location.asn = network.asn;
      location.asOrganization = network.asOrganization;
    }
    if (answered.length > 0) location.database = answered.join('+');
    return location;
  }
}
