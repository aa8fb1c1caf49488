import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '@opentrail/integrity';
import { serdeFor } from '@opentrail/serde';
import { testKafka, testRegistry } from '../helpers/env.js';
import { collect } from '../helpers/kafka.js';
import type { ServiceProcess } from '../helpers/service.js';
import { waitFor } from '../helpers/wait.js';
import { chainProblems, DigestRun, opentrailValidate, outcomeLines } from './helpers.js';

/**
 * The digester SIGKILLed in the middle of a period, with log files delivered in that period and
 * while it is down, then restarted: the chain goes on from the last stored digest (heads from the
 * state topic, offsets committed only behind stored digests), every log file is listed exactly
 * once, and the validator sees one unbroken chain.
 */
const PERIOD_SECONDS = 6;
const run = new DigestRun(PERIOD_SECONDS);
let api: { service: ServiceProcess; url: string };
let restarted: ServiceProcess;

beforeAll(async () => {
  await run.setUp();
  let digester: ServiceProcess;
  [digester, api] = await Promise.all([run.startDigester(), run.startApi()]);
  await run.deliverLogFile();
  await waitFor(async () => (await run.digestKeys()).length >= 2, 'two digests before the crash', 60_000, 500);
  // Mid-period: log files the killed process held only in memory.
  await run.deliverLogFile();
  await run.deliverLogFile();
  await waitFor(async () => (await digester.metric('opentrail_digester_pending_log_files')) >= 2, 'the digester to hold the new files');
  await digester.kill();
  const killedAt = Date.now();
  await run.deliverLogFile(); // while it is down
  // Down for more than a period, so the restarted digester has periods to catch up.
  await new Promise((r) => setTimeout(r, Math.max(0, killedAt + (PERIOD_SECONDS + 2) * 1000 - Date.now())));
  restarted = await run.startDigester();
  await run.deliverLogFile();
  const covering = await run.waitForDigestsCovering(120_000);
  await waitFor(async () => (await run.digestKeys()).length > covering.length, 'a digest after the last log file', 60_000, 500);
}, 240_000);

// Stops every service the run started, the killed and restarted ones too.
afterAll(() => run.close());

describe('digester crash and restart', () => {
  it('continues the chain: each digest links to the one before it, with no gap', async () => {
    const { problems, listed } = await chainProblems(run);
    expect(problems).toEqual([]);
    // Every log file exactly once: none lost with the killed process, none listed twice after it.
    expect(listed.sort()).toEqual([...run.logKeys].sort());
    expect(await restarted.metric('opentrail_digester_digests_written_total', { type: 'starting' })).toBe(0);
    expect(await restarted.metric('opentrail_digester_chain_breaks_total')).toBe(0);
  });

  it('emits one committed DIGEST delivery record per stored digest, none twice', async () => {
    const serde = serdeFor(testRegistry(), 'Delivery');
    const keys = await run.digestKeys();
    const collected = await collect(testKafka(), run.deliveriesTopic, { readCommitted: true });
    try {
      const digestRecords = async () => {
        await serde.prepare(collected.messages.map((m) => m.value));
        return collected.messages.map((m) => serde.decode(m.value)).filter((d) => d.kind === 'DIGEST' && d.region === 'us-east-1');
      };
      await waitFor(async () => new Set((await digestRecords()).map((d) => d.key)).size >= keys.length, 'a DIGEST record for every stored digest');
      const records = (await digestRecords()).filter((d) => keys.includes(d.key));
      expect(records.map((d) => d.key).sort()).toEqual(keys);
      for (const d of records) {
        expect(d.digest?.signature).toBe((await run.object(d.key)).metadata.signature);
        expect(d.sha256).toBe(sha256Hex(gunzipSync((await run.object(d.key)).body)));
      }
    } finally {
      await collected.stop();
    }
  });

  it('validates as one chain: all valid, no gap reported', async () => {
    const r = await opentrailValidate(run, api.url, run.started - 3 * PERIOD_SECONDS * 1000);
    expect(outcomeLines(r.stderr)).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('No log files were delivered');
    expect(r.stdout).toContain(`\n${run.logKeys.length}/${run.logKeys.length} log files valid`);
  });
});
