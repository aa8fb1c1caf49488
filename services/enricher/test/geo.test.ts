import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BUNDLED_GEO_DATABASES } from '../src/config.js';
import { GeoDatabase, normalizeGeoRecord } from '../src/geoDatabase.js';
import { GeoLocator, type GeoObserver } from '../src/geoLocator.js';
import { geoip2City, writeMmdb } from './mmdbWriter.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempFile(name: string, content: Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'enricher-geo-'));
  dirs.push(dir);
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function recorder() {
  const lookups: string[] = [];
  const classes: string[] = [];
  const observe: GeoObserver = { lookup: (r) => lookups.push(r), classified: (c) => classes.push(c) };
  return { lookups, classes, observe };
}

const LONDON = geoip2City({ country: 'GB', subdivision: 'England', city: 'London', latitude: 51.5142, longitude: -0.0931, timeZone: 'Europe/London' });
const cityDb = (data = LONDON, buildEpoch = 1_700_000_000) =>
  writeMmdb({ ipVersion: 6, databaseType: 'GeoLite2-City', buildEpoch, networks: [{ network: '81.2.69.0/24', data }, { network: '2a02:1234::/32', data }] });
const asnDb = () =>
  writeMmdb({ ipVersion: 6, databaseType: 'GeoLite2-ASN', networks: [{ network: '81.2.69.0/24', data: { autonomous_system_number: 20712, autonomous_system_organization: 'Andrews & Arnold Ltd' } }] });

describe('normalizeGeoRecord', () => {
  it('reads the ip-location-db flat schema, empty strings as null', () => {
    expect(normalizeGeoRecord({ city: 'Mountain View', country_code: 'US', latitude: 37.42, longitude: -122.08, postcode: '', state1: 'California', state2: '', timezone: '' })).toEqual({
      country: 'US',
      subdivision: 'California',
      city: 'Mountain View',
      latitude: 37.42,
      longitude: -122.08,
      timezone: null,
      asn: null,
      asOrganization: null,
    });
  });

  it('reads the GeoIP2 City and ASN schemas', () => {
    expect(normalizeGeoRecord(LONDON as Record<string, unknown>)).toEqual({ country: 'GB', subdivision: 'England', city: 'London', latitude: 51.5142, longitude: -0.0931, timezone: 'Europe/London', asn: null, asOrganization: null });
    expect(normalizeGeoRecord({ registered_country: { iso_code: 'DE' } })).toMatchObject({ country: 'DE' });
    expect(normalizeGeoRecord({ autonomous_system_number: 15169, autonomous_system_organization: 'GOOGLE' })).toMatchObject({ asn: 15169, asOrganization: 'GOOGLE', country: null });
    expect(normalizeGeoRecord({ something: 'else' })).toBeNull();
    // An AS number is a 32-bit unsigned integer: a file that says otherwise gives none (it could not be written as one).
    expect(normalizeGeoRecord({ country_code: 'US', autonomous_system_number: 1.5 })).toMatchObject({ country: 'US', asn: null });
    expect(normalizeGeoRecord({ country_code: 'US', autonomous_system_number: 2n ** 60n })).toMatchObject({ asn: null });
    expect(normalizeGeoRecord({ autonomous_system_number: '64512' })).toMatchObject({ asn: 64512 });
  });
});

describe('GeoLocator', () => {
  it('answers from a GeoIP2 City database and an ASN database together, IPv4 and IPv6', () => {
    const city = GeoDatabase.open(tempFile('GeoLite2-City.mmdb', cityDb()));
    const asn = GeoDatabase.open(tempFile('GeoLite2-ASN.mmdb', asnDb()));
    const geo = new GeoLocator([city, asn], 100);
    const { lookups, classes, observe } = recorder();
    expect(geo.locate('81.2.69.160', observe)).toEqual({
      classification: 'public',
      country: 'GB',
      subdivision: 'England',
      city: 'London',
      latitude: 51.5142,
      longitude: -0.0931,
      timezone: 'Europe/London',
      asn: 20712,
      asOrganization: 'Andrews & Arnold Ltd',
      database: 'GeoLite2-City.mmdb@2023-11-14+GeoLite2-ASN.mmdb@' + asn.buildEpoch.toISOString().slice(0, 10),
    });
    expect(geo.locate('2a02:1234::5', observe)).toMatchObject({ city: 'London', asn: null });
    expect(geo.locate('8.8.8.8', observe)).toMatchObject({ classification: 'public', country: null, database: null });
    expect(geo.locate('10.0.0.1', observe)).toMatchObject({ classification: 'private', country: null });
    expect(geo.locate(null, observe)).toBeNull();
    expect(lookups).toEqual(['hit', 'hit', 'miss']);
    expect(classes).toEqual(['public', 'public', 'public', 'private']);
  });

  it('never asks an IPv4-only database about an IPv6 address', () => {
    const v4 = GeoDatabase.open(tempFile('v4.mmdb', writeMmdb({ ipVersion: 4, databaseType: 'city ipv4', networks: [{ network: '32.0.0.0/8', data: { country_code: 'ZZ' } }] })));
    const geo = new GeoLocator([v4], 0);
    // 2000::/3 shares its first bits with 32.0.0.0/8: an IPv4 tree would answer ZZ.
    expect(geo.locate('2001:4860:4860::8888', recorder().observe)).toMatchObject({ classification: 'public', country: null });
    expect(geo.locate('32.1.1.1', recorder().observe)).toMatchObject({ country: 'ZZ' });
  });

  it('loads a replaced file without a restart, forgets cached answers, and refuses a broken file', async () => {
    const path = tempFile('city.mmdb', cityDb());
    const reloads: (Error | undefined)[] = [];
    const databases: GeoDatabase[] = [];
    const geo = new GeoLocator(databases, 100);
    const db = GeoDatabase.open(path, {
      onReload: (_db, error) => {
        reloads.push(error);
        if (!error) geo.invalidate();
      },
    });
    databases.push(db);
    expect(geo.locate('81.2.69.160', recorder().observe)).toMatchObject({ city: 'London' });

    db.watch(50);
    try {
      const next = join(path, '..', 'city.mmdb.next');
      writeFileSync(next, cityDb(geoip2City({ country: 'SE', city: 'Stockholm', latitude: 59.33, longitude: 18.06 }), 1_800_000_000));
      renameSync(next, path);
      await expect.poll(() => reloads.length, { timeout: 5000 }).toBe(1);
      expect(reloads[0]).toBeUndefined();
      expect(geo.locate('81.2.69.160', recorder().observe)).toMatchObject({ country: 'SE', city: 'Stockholm', database: 'city.mmdb@2027-01-15' });

      writeFileSync(next, Buffer.from('this is not an mmdb file'));
      renameSync(next, path);
      await expect.poll(() => reloads.length, { timeout: 5000 }).toBe(2);
      expect(reloads[1]?.message).toMatch(/is not a usable mmdb database/);
      expect(geo.locate('81.2.69.160', recorder().observe)).toMatchObject({ city: 'Stockholm' });
    } finally {
      db.close();
    }
  });

  it('refuses to open a file that is not an mmdb database, naming it', () => {
    const path = tempFile('broken.mmdb', Buffer.from('nope'));
    expect(() => GeoDatabase.open(path)).toThrow(`${path} is not a usable mmdb database`);
  });

  it('finds known addresses in the bundled DB-IP City Lite databases', () => {
    const geo = new GeoLocator(BUNDLED_GEO_DATABASES.map((p) => GeoDatabase.open(p)), 10);
    const observe = recorder().observe;
    expect(geo.locate('8.8.8.8', observe)).toMatchObject({ classification: 'public', country: 'US', database: expect.stringMatching(/^dbip-city-ipv4\.mmdb@/) });
    expect(geo.locate('1.1.1.1', observe)).toMatchObject({ country: 'AU' });
    expect(geo.locate('2001:4860:4860::8888', observe)).toMatchObject({ country: expect.stringMatching(/^[A-Z]{2}$/), database: expect.stringMatching(/^dbip-city-ipv6\.mmdb@/) });
  });
});
