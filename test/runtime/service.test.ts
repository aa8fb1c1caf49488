import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Recorder } from '@opentrail/producer';
import { simpleEvent } from '../helpers/events.js';
import { serviceEnv, testKafka, testRegistry, uniquePrefix } from '../helpers/env.js';
import { createTopics, readTopic } from '../helpers/kafka.js';
import { startService, type ServiceProcess } from '../helpers/service.js';

const script = fileURLToPath(new URL('./fixtures/echo-service.ts', import.meta.url));
const running: ServiceProcess[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.kill();
});

describe('a service on the runtime (main)', () => {
  it('stops at start-up naming every bad configuration key', async () => {
    const service = await startService('echo', serviceEnv(uniquePrefix('cfg'), { OPENTRAIL_KAFKA_BROKERS: 'no-port', OPENTRAIL_HTTP_PORT: 'eighty', OPENTRAIL_ECHO_GREETING: '' }), { script, ready: false }).catch((err: Error) => err);
    // It exits before logging a metrics URL.
    expect(service).toBeInstanceOf(Error);
    const message = (service as Error).message;
    expect(message).toContain('kafka.brokers.0 (env OPENTRAIL_KAFKA_BROKERS): must be host:port');
    expect(message).toContain('http.port (env OPENTRAIL_HTTP_PORT): expected a number, got "eighty"');
  });

  it('serves /metrics, /healthz and /readyz, processes, and stops cleanly on SIGTERM', async () => {
    const prefix = uniquePrefix('svc');
    const kafka = testKafka();
    await createTopics(kafka, [`${prefix}events.raw`, `${prefix}events.dlq`, `${prefix}echo`]);
    const recorder = await Recorder.create({ kafka, registry: testRegistry(), topic: `${prefix}events.raw` });
    await Promise.all(Array.from({ length: 50 }, (_, i) => recorder.record(simpleEvent(i))));
    await recorder.close();

    const service = await startService('echo', serviceEnv(prefix), { script });
    running.push(service);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${service.url}/readyz`)).json()).toMatchObject({ status: 'ok', checks: { started: 'ok', consumer: 'ok' } });
    // The service's own route, on the same port as /metrics.
    expect(await (await fetch(`${service.url}/greeting`)).text()).toBe('hi');
    await readTopic(kafka, `${prefix}echo`, 50);
    expect(await service.metric('opentrail_echo_events_in_total')).toBe(50);
    expect(await service.metric('opentrail_echo_events_out_total', { topic: `${prefix}echo` })).toBe(50);

    const exit = await service.stop();
    expect(exit.code).toBe(0);
    const messages = service.logs().map((l) => l.msg);
    expect(messages).toContain('echo stopping');
    expect(messages).toContain('echo stopped');
    // Every log line is JSON with the service name and a level name.
    expect(service.logs().every((l) => l.service === 'echo' && typeof l.level === 'string')).toBe(true);
  });
});
