import { readFileSync, statSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Reader } from 'maxmind';

/** What a geo database can say about an address, whatever its schema. */
export interface GeoFacts {
  country: string | null;
  subdivision: string | null;
  city: string | null;
  latitude: number | null;
  longitude: number | null;
  timezone: string | null;
  asn: number | null;
  asOrganization: string | null;
}

type MmdbRecord = Record<string, unknown>;

export interface GeoDatabaseEvents {
  /** A replaced file was loaded (or refused: `error` says why, and the previous data stays). */
  onReload?(database: GeoDatabase, error?: Error): void;
}

/**
 * One mmdb file, read with maxmind's Reader, replaced in memory when the file is replaced.
 *
 * maxmind.open's own watchForUpdates is not used: it polls on a fixed period, and it loads whatever
 * it finds, so a file caught half-written would throw inside its callback. Here the file is polled
 * (stat) and compared with the one loaded; a new file is parsed and probed first, and only a good
 * one replaces the current reader.
 */
export class GeoDatabase {
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  private constructor(
    readonly path: string,
    private reader: Reader<MmdbRecord>,
    /** The file the reader was loaded from (or the last file refused): what the next check compares with. */
    private loaded: Stats,
    private readonly events: GeoDatabaseEvents,
  ) {}

  /** Opens a file; throws naming the file when it is not a usable mmdb database. */
  static open(path: string, events: GeoDatabaseEvents = {}): GeoDatabase {
    const stats = statSync(path);
    return new GeoDatabase(path, loadReader(path, readFileSync(path)), stats, events);
  }

  /** 4: IPv4 addresses only; 6: IPv6, and IPv4 through the IPv4 subtree when the file has one. */
  get ipVersion(): number {
    return this.reader.metadata.ipVersion;
  }

  get buildEpoch(): Date {
    return this.reader.metadata.buildEpoch;
  }

  get databaseType(): string {
    return this.reader.metadata.databaseType;
  }

  /** Names the data that answered, in GeoLocation.database: the file and its build date. */
  get label(): string {
    return `${basename(this.path)}@${this.buildEpoch.toISOString().slice(0, 10)}`;
  }

  /** Normalised facts about an address (already known to be a valid address of a family this file holds). */
  lookup(address: string): GeoFacts | null {
    const record = this.reader.get(address);
    return record === null ? null : normalizeGeoRecord(record);
  }

  /** Checks the file every intervalMs and loads it again when it was replaced or changed. */
  watch(intervalMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      let current: Stats;
      try {
        current = await stat(this.path);
      } catch {
        return; // gone for now (being replaced): keep the data we have
      }
      if (!changed(current, this.loaded)) return;
      await this.reload(current);
    } finally {
      this.checking = false;
    }
  }

  /** Loads the file again; keeps the current data if the new file is not a usable database. */
  async reload(current?: Stats): Promise<void> {
    const stats = current ?? (await stat(this.path));
    // Remembered either way: a refused file is not read again until it changes.
    this.loaded = stats;
    try {
      this.reader = loadReader(this.path, await readFile(this.path));
      this.events.onReload?.(this);
    } catch (err) {
      this.events.onReload?.(this, err as Error);
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

function changed(current: Stats, loaded: Stats): boolean {
  return current.mtimeMs !== loaded.mtimeMs || current.ino !== loaded.ino || current.size !== loaded.size;
}

function loadReader(path: string, buffer: Buffer): Reader<MmdbRecord> {
  let reader: Reader<MmdbRecord>;
  try {
    reader = new Reader<MmdbRecord>(buffer);
    const { ipVersion, nodeCount, searchTreeSize } = reader.metadata;
    if ((ipVersion !== 4 && ipVersion !== 6) || !(nodeCount > 0) || !(searchTreeSize < buffer.length)) throw new Error('metadata is not that of an mmdb database');
    // A truncated file can pass the metadata check and fail on the first lookup: fail here instead.
    reader.get(ipVersion === 4 ? '1.1.1.1' : '2001:4860:4860::8888');
  } catch (err) {
    throw new Error(`${path} is not a usable mmdb database: ${(err as Error).message}`, { cause: err });
  }
  return reader;
}

/**
 * One record in either schema, as GeoFacts:
 * - ip-location-db (flat): country_code, state1, city, latitude, longitude, timezone;
 * - GeoIP2 / GeoLite2 City and Country: country.iso_code (else registered_country.iso_code),
 *   subdivisions[0].names.en, city.names.en, location.latitude / longitude / time_zone;
 * - ASN databases (GeoLite2-ASN and flat ASN files): autonomous_system_number, autonomous_system_organization.
 * Empty strings (the flat files use "" for unknown) become null.
 */
export function normalizeGeoRecord(record: MmdbRecord): GeoFacts | null {
  const country = objectOf(record.country);
  const location = objectOf(record.location);
  const traits = objectOf(record.traits);
  const facts: GeoFacts = {
    country: text(record.country_code) ?? text(country?.iso_code) ?? text(objectOf(record.registered_country)?.iso_code),
    subdivision: text(record.state1) ?? englishName(Array.isArray(record.subdivisions) ? record.subdivisions[0] : undefined),
    city: typeof record.city === 'string' ? text(record.city) : englishName(record.city),
    latitude: num(record.latitude) ?? num(location?.latitude),
    longitude: num(record.longitude) ?? num(location?.longitude),
    timezone: text(record.timezone) ?? text(location?.time_zone),
    asn: asNumber(record.autonomous_system_number) ?? asNumber(traits?.autonomous_system_number),
    asOrganization: text(record.autonomous_system_organization) ?? text(traits?.autonomous_system_organization),
  };
  for (const value of Object.values(facts)) if (value !== null) return facts;
  return null;
}

function objectOf(value: unknown): MmdbRecord | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as MmdbRecord) : undefined;
}

function englishName(value: unknown): string | null {
  return text(objectOf(objectOf(value)?.names)?.en);
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** AS numbers are 32-bit unsigned integers; anything else in a file (a float, a 64-bit value) is not one. */
function asNumber(value: unknown): number | null {
  const n = num(value);
  return n !== null && Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff ? n : null;
}

function num(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value !== '' && Number.isFinite(Number(value))) return Number(value);
  return null;
}
