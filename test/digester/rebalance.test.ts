import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { DigestRun, expectWholeChains, opentrailValidate, outcomeLines } from './helpers.js';

/**
 * Two digesters share the deliveries partitions; one stops and its chains move to the other, which
 * picks them up from the state topic: every region's chain stays one unbroken chain.
 */
const PERIOD_SECONDS = 6;
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-southeast-2'];
const run = new DigestRun(PERIOD_SECONDS);
let api: { service: ServiceProcess; url: string };
let survivor: ServiceProcess;

beforeAll(async () => {
  await run.setUp();
  let first: ServiceProcess;
  let second: ServiceProcess;
  [first, second, api] = await Promise.all([run.startDigester(), run.startDigester(), run.startApi()]);
  // Both own partitions before anything is delivered.
  await waitFor(async () => (await first.metric('opentrail_digester_assigned_partitions')) > 0 && (await second.metric('opentrail_digester_assigned_partitions')) > 0, 'both digesters to own partitions');
  for (const region of REGIONS) await run.deliverLogFile(region);
  for (const region of REGIONS) await run.waitForDigestsCovering(90_000, region);
  // The one that wrote digests leaves, so that chains move: which digester owns the partitions the
  // regions' deliveries fall on is the assignor's choice (with 4 regions on 3 partitions, one of
  // the two may own none of them).
  const leaving = (await first.metric('opentrail_digester_digests_written_total')) > 0 ? first : second;
  survivor = leaving === first ? second : first;
  expect(await leaving.metric('opentrail_digester_digests_written_total')).toBeGreaterThan(0);
  await leaving.stop();
  await waitFor(async () => (await survivor.metric('opentrail_digester_assigned_partitions')) === 3, 'the survivor to own every partition');
  for (const region of REGIONS) await run.deliverLogFile(region);
  for (const region of REGIONS) {
    const covering = await run.waitForDigestsCovering(90_000, region);
    await waitFor(async () => (await run.digestKeys(region)).length > covering.length, `a digest after the last log file of ${region}`, 60_000, 500);
  }
}, 240_000);

// Stops every service the run started, the killed and restarted ones too.
afterAll(() => run.close());

describe('digester rebalance', () => {
  it('keeps every chain whole when its partition moves', async () => {
    await expectWholeChains(run, REGIONS);
    expect(await survivor.metric('opentrail_digester_chain_breaks_total')).toBe(0);
  });

  it('validates every region as one chain', async () => {
    for (const region of REGIONS) {
      const r = await opentrailValidate(run, api.url, run.started - 3 * PERIOD_SECONDS * 1000, ['--region', region]);
      expect(outcomeLines(r.stderr), region).toEqual([]);
      expect(r.code, region).toBe(0);
      expect(r.stdout).toContain(`\n2/2 log files valid`);
    }
  });
});
