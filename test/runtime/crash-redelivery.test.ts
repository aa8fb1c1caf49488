import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Recorder } from '@opentrail/producer';
import { simpleEvent } from '../helpers/events.js';
import { stackEndpoints, testKafka, testRegistry, uniquePrefix } from '../helpers/env.js';
import { createTopics } from '../helpers/kafka.js';
import { waitFor } from '../helpers/wait.js';

const fixture = fileURLToPath(new URL('./fixtures/recording-consumer.ts', import.meta.url));
const children: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

function runConsumer(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  return { child, exited, stderr: () => stderr };
}

describe('a consumer killed mid-batch', () => {
  it('leaves its batch uncommitted: the next one re-delivers it and nothing is lost', async () => {
    const prefix = uniquePrefix('crash');
    const kafka = testKafka();
    await createTopics(kafka, [`${prefix}events.raw`, `${prefix}events.dlq`]);
    const recorder = await Recorder.create({ kafka, registry: testRegistry(), topic: `${prefix}events.raw` });
    const ids = (await Promise.all(Array.from({ length: 3000 }, (_, i) => recorder.record(simpleEvent(i))))).map((r) => r.eventID);
    await recorder.close();

    const out = join(mkdtempSync(join(tmpdir(), 'crash-')), 'seen.log');
    const env = { ...Object.fromEntries(Object.entries(stackEndpoints()).map(([k, v]) => [k === 'kafkaBrokers' ? 'OPENTRAIL_KAFKA_BROKERS' : k === 'schemaRegistryUrl' ? 'OPENTRAIL_SCHEMA_REGISTRY_URL' : 'OPENTRAIL_AWS_ENDPOINT', v])), OUT_FILE: out, PREFIX: prefix };

    const first = runConsumer({ ...env, RUN: '1', CRASH_AFTER: '1500' });
    expect(await first.exited).toBe('SIGKILL');
    const lines = () => (existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n').map((l) => l.split(' ')) : []);
    const firstRun = lines().filter((l) => l[0] === '1');
    expect(firstRun.length).toBeGreaterThanOrEqual(1500);
    expect(firstRun.length).toBeLessThan(3000);

    const second = runConsumer({ ...env, RUN: '2' });
    await waitFor(() => new Set(lines().map((l) => l[2])).size >= ids.length, 'every event seen across both runs', 90_000);
    second.child.kill('SIGTERM');
    await second.exited;

    const all = lines();
    expect(new Set(all.map((l) => l[2]))).toEqual(new Set(ids));
    // The records of the interrupted batch (at least the last one the first run saw) were handed
    // over again to the second run: they had not been committed.
    const lastOfFirst = firstRun[firstRun.length - 1]![1];
    expect(all.some((l) => l[0] === '2' && l[1] === lastOfFirst)).toBe(true);
    // Committed records were not re-delivered: the second run starts after the first run's committed batches.
    const secondRun = new Set(all.filter((l) => l[0] === '2').map((l) => l[1]));
    const firstOnly = firstRun.filter((l) => !secondRun.has(l[1]));
    expect(firstOnly.length).toBeGreaterThan(0);
  });
});
