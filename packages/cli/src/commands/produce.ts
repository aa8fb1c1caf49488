import { parseArgs } from 'node:util';
import { endpointsFromEnv } from '@opentrail/stack';
import { Recorder } from '@opentrail/producer';
import { TrafficGenerator } from '@opentrail/testing';
import type { Command } from './index.js';

const HELP = `usage: opentrail produce [--rate N] [--duration S] [--accounts N] [--seed N] [--topic T]

Sends synthetic CloudTrail events (many accounts, regions, services and identity types, errors,
console sign-ins, AssumeRole calls) through the producer client, at N events per second for S
seconds (0: until interrupted). Kafka and the registry come from OPENTRAIL_KAFKA_BROKERS and
OPENTRAIL_SCHEMA_REGISTRY_URL (npm run stack:up prints them; .stack/endpoints.env holds them).

  --rate N       events per second (default 100)
  --duration S   seconds to run (default 10; 0 = until Ctrl-C)
  --accounts N   distinct accounts (default 20)
  --seed N       generator seed (default 1)
  --topic T      topic (default opentrail.events.raw, or $OPENTRAIL_TOPIC_PREFIX + events.raw)
`;

export const produce: Command = {
  summary: 'send synthetic CloudTrail events at a given rate',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        rate: { type: 'string', default: '100' },
        duration: { type: 'string', default: '10' },
        accounts: { type: 'string', default: '20' },
        seed: { type: 'string', default: '1' },
        topic: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const rate = Number(values.rate);
    const duration = Number(values.duration);
    if (!(rate > 0) || !(duration >= 0)) throw new Error('--rate must be > 0 and --duration >= 0');
    const endpoints = endpointsFromEnv({ OPENTRAIL_AWS_ENDPOINT: 'unused', ...process.env });
    if (!endpoints) throw new Error('set OPENTRAIL_KAFKA_BROKERS and OPENTRAIL_SCHEMA_REGISTRY_URL (see npm run stack:up)');
    const topic = values.topic ?? `${process.env.OPENTRAIL_TOPIC_PREFIX ?? 'opentrail.'}events.raw`;
    const recorder = await Recorder.create({ kafka: { brokers: endpoints.kafkaBrokers.split(','), clientId: 'opentrail-produce' }, registry: { url: endpoints.schemaRegistryUrl }, topic });
    const result = await sendTraffic(recorder, new TrafficGenerator({ seed: Number(values.seed), accounts: Number(values.accounts) }), { rate, durationSeconds: duration, log: (line) => process.stderr.write(`${line}\n`) });
    await recorder.close();
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return result.failed > 0 ? 1 : 0;
  },
};

export interface TrafficResult {
  sent: number;
  failed: number;
  seconds: number;
  eventsPerSecond: number;
}

/**
 * Records generated events at `rate` per second (in ticks of 100 ms, so the rate is smooth), until
 * the duration passes or the signal aborts. Failures are counted and the first few reported.
 */
export async function sendTraffic(
  recorder: Recorder,
  generator: { next(): Parameters<Recorder['record']>[0] },
  options: { rate: number; durationSeconds: number; signal?: AbortSignal; log?: (line: string) => void },
): Promise<TrafficResult> {
  const started = Date.now();
  const deadline = options.durationSeconds > 0 ? started + options.durationSeconds * 1000 : Infinity;
  let sent = 0;
  let failed = 0;
  let due = 0;
  let lastReport = started;
  const inFlight = new Set<Promise<unknown>>();
  while (Date.now() < deadline && !options.signal?.aborted) {
    due += options.rate / 10;
    for (; due >= 1; due--) {
      const p = recorder.record(generator.next()).then(
        () => void sent++,
        (err: unknown) => {
          if (++failed <= 5) options.log?.(`event refused: ${(err as Error).message}`);
        },
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    if (Date.now() - lastReport >= 5000) {
      lastReport = Date.now();
      options.log?.(`produced ${sent} events (${failed} failed) in ${((lastReport - started) / 1000).toFixed(0)} s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await Promise.all(inFlight);
  const seconds = (Date.now() - started) / 1000;
  return { sent, failed, seconds, eventsPerSecond: Math.round(sent / seconds) };
}
