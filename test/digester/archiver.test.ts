import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiverEnv, archiverEvent, archiverTopics, EnrichedProducer, isManagement, readDeliveries, REGIONS } from '../archiver/helpers.js';
import { testKafka } from '../helpers/env.js';
import { startService, type ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { ACCOUNT, awsValidate, DigestRun, expectWholeChains, outcomeLines } from './helpers.js';

/**
 * The real pipeline: events into the enriched topic, the archiver writing log files and delivery
 * records, the digester digesting them, and the AWS CLI validating what both wrote.
 */
const run = new DigestRun(6);
const services: ServiceProcess[] = [];
let api: { service: ServiceProcess; url: string };

beforeAll(async () => {
  await archiverTopics(testKafka(), run.prefix);
  await run.setUp();
  const trails = [{ ...run.trails()[0]!, roll: { intervalSeconds: 2 } }];
  const archiver = await startService('archiver', archiverEnv(run.prefix, trails, { OPENTRAIL_ARCHIVER_CREATE_BUCKETS: 'true' }));
  services.push(archiver);
  const [digester, started] = await Promise.all([run.startDigester({ OPENTRAIL_TRAILS: JSON.stringify(trails) }), run.startApi({ OPENTRAIL_TRAILS: JSON.stringify(trails) })]);
  services.push(digester, started.service);
  api = started;

  const producer = await EnrichedProducer.create(testKafka(), run.prefix);
  // Real records of every kind, all in the trail's account, over its four regions and two periods.
  const records = Array.from({ length: 160 }, (_, i) => ({ ...archiverEvent(i, run.prefix), recipientAccountId: ACCOUNT }));
  await producer.send(records.slice(0, 80));
  await new Promise((r) => setTimeout(r, 6000));
  await producer.send(records.slice(80));
  await producer.close();

  const deliveries = await readDeliveries(testKafka(), run.prefix);
  try {
    await waitFor(async () => {
      const logs = (await deliveries.all()).filter((d) => d.kind === 'LOG');
      // The trail logs management events (its default selectors): data events are not archived.
      return logs.reduce((n, d) => n + d.recordCount, 0) >= records.filter(isManagement).length ? logs : undefined;
    }, 'the archiver to deliver every record');
    for (const d of (await deliveries.all()).filter((x) => x.kind === 'LOG')) run.logKeysFor(d.region).push(d.key);
  } finally {
    await deliveries.stop();
  }
  for (const region of REGIONS) {
    const covering = await run.waitForDigestsCovering(90_000, region);
    await waitFor(async () => (await run.digestKeys(region)).length > covering.length, `a digest after the last log file of ${region}`, 60_000, 500);
  }
}, 240_000);

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await run.close();
});

describe('archiver + digester + AWS CLI', () => {
  it('digests every file the archiver delivered, in unbroken chains', async () => {
    await expectWholeChains(run, REGIONS);
  });

  it('is validated by the AWS CLI: every digest and archiver log file valid', async () => {
    const r = await awsValidate(run, api.url, run.started - 60_000);
    expect(outcomeLines(r.stderr)).toEqual([]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const logs = run.logKeysFor('us-east-1').length;
    expect(logs).toBeGreaterThan(0);
    expect(r.stdout).toContain(`\n${logs}/${logs} log files valid`);
  });
});
