import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLED_GEO_DATABASES } from '../../services/enricher/src/config.js';
import { geoip2City, writeMmdb } from '../../services/enricher/test/mmdbWriter.js';
import { callRecord } from '../../services/enricher/test/records.js';
import { waitFor } from '../helpers/wait.js';
import { enricherStage } from './enricher.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';

const cleanups = cleanupAfterEach();

const BUILT = Date.UTC(2025, 0, 1) / 1000;
/** A GeoLite2-City-schema database that places 81.2.69.0/24 in `city`. */
const cityDatabase = (city: { country: string; subdivision: string; city: string; latitude: number; longitude: number; timeZone: string }) =>
  writeMmdb({ ipVersion: 6, databaseType: 'GeoLite2-City', buildEpoch: BUILT, networks: [{ network: '81.2.69.0/24', data: geoip2City(city) }] });

describe('enricher: geo-IP', () => {
  it('looks addresses up in the bundled database and in configured GeoIP2 City and ASN files, and loads a replaced file without a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'enricher-geo-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const cityPath = join(dir, 'GeoLite2-City.mmdb');
    const asnPath = join(dir, 'GeoLite2-ASN.mmdb');
    writeFileSync(cityPath, cityDatabase({ country: 'GB', subdivision: 'England', city: 'London', latitude: 51.5142, longitude: -0.0931, timeZone: 'Europe/London' }));
    writeFileSync(asnPath, writeMmdb({ ipVersion: 6, databaseType: 'GeoLite2-ASN', buildEpoch: BUILT, networks: [{ network: '81.2.69.0/24', data: { autonomous_system_number: 20712, autonomous_system_organization: 'Andrews & Arnold Ltd' } }] }));

    const { enricher, recorder, enriched } = await enricherStage(cleanups, 'enr-geo', {
      // The test's own files first; the bundled DB-IP files answer what they do not know.
      OPENTRAIL_ENRICHER_GEO_DATABASES: [cityPath, asnPath, ...BUNDLED_GEO_DATABASES].join(','),
      OPENTRAIL_ENRICHER_GEO_RELOAD_CHECK_INTERVAL_MS: '200',
    });

    const addresses = ['81.2.69.160', '8.8.8.8', '1.1.1.1', '2001:4860:4860::8888', '10.0.0.1'];
    const before = addresses.map((sourceIPAddress) => callRecord({ sourceIPAddress }));
    for (const r of before) await recorder.record(r);
    await recorder.flush();
    const byId = await enriched.waitForEvents(before.map((r) => r.eventID!));
    const geo = (i: number) => byId.get(before[i]!.eventID!)!.value.enrichment.geo;

    expect(geo(0)).toEqual({
      classification: 'public',
      country: 'GB',
      subdivision: 'England',
      city: 'London',
      latitude: 51.5142,
      longitude: -0.0931,
      timezone: 'Europe/London',
      asn: 20712,
      asOrganization: 'Andrews & Arnold Ltd',
      database: 'GeoLite2-City.mmdb@2025-01-01+GeoLite2-ASN.mmdb@2025-01-01',
    });
    // Known addresses, from the bundled DB-IP City Lite data.
    expect(geo(1)).toMatchObject({ classification: 'public', country: 'US', subdivision: 'California', database: expect.stringMatching(/^dbip-city-ipv4\.mmdb@/) });
    expect(geo(2)).toMatchObject({ classification: 'public', country: 'AU', database: expect.stringMatching(/^dbip-city-ipv4\.mmdb@/) });
    expect(geo(3)).toMatchObject({ classification: 'public', country: expect.stringMatching(/^[A-Z]{2}$/), latitude: expect.any(Number), database: expect.stringMatching(/^dbip-city-ipv6\.mmdb@/) });
    expect(geo(4)).toMatchObject({ classification: 'private', country: null, database: null });
    expect(await enricher.metric('opentrail_enricher_geo_lookups_total', { result: 'hit' })).toBe(4);
    const age = await enricher.metric('opentrail_enricher_geo_database_age_seconds', { database: 'GeoLite2-City.mmdb' });
    expect(age).toBeGreaterThan(Date.now() / 1000 - BUILT - 600);

    // Replace the City file the way an updater does (write beside it, rename over it).
    const next = `${cityPath}.next`;
    writeFileSync(next, cityDatabase({ country: 'SE', subdivision: 'Stockholm', city: 'Stockholm', latitude: 59.3293, longitude: 18.0686, timeZone: 'Europe/Stockholm' }));
    renameSync(next, cityPath);
    await waitFor(async () => (await enricher.metric('opentrail_enricher_geo_database_reloads_total', { database: 'GeoLite2-City.mmdb', result: 'loaded' })) === 1, 'the replaced City database to be loaded', 30_000);

    const after = callRecord({ sourceIPAddress: '81.2.69.160' });
    await recorder.record(after);
    await recorder.flush();
    const reloaded = (await enriched.waitForEvents([after.eventID!])).get(after.eventID!)!.value.enrichment.geo;
    expect(reloaded).toMatchObject({ country: 'SE', city: 'Stockholm', timezone: 'Europe/Stockholm', asn: 20712 });
    // The same process all along.
    expect(enricher.child.exitCode).toBeNull();
    expect(enricher.logs().filter((l) => l.msg === 'enricher starting')).toHaveLength(1);
  });
});
