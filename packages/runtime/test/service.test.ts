import { describe, expect, it } from 'vitest';
import type { CommonConfig } from '@opentrail/config';
import { ServiceMetrics } from '@opentrail/observability';
import type { SchemaRegistry } from '@opentrail/serde';
import type { KafkaClient, KafkaProducer } from '../src/kafkaClient.js';
import { openService, type ServiceContext } from '../src/service.js';
import { ServiceResources } from '../src/serviceResources.js';
import { capture } from './logCapture.js';

/** A resource that writes what happens to it into a shared journal. */
function journaled(journal: string[], name: string, extra: { failStart?: boolean; failStop?: boolean } = {}) {
  return {
    async start() {
      journal.push(`start ${name}`);
      if (extra.failStart) throw new Error(`${name} could not start`);
    },
    async stop() {
      journal.push(`stop ${name}`);
      if (extra.failStop) throw new Error(`${name} could not stop`);
    },
  };
}

describe('ServiceResources', () => {
  it('stops in reverse order of creation, after aborting the stopping signal', async () => {
    const journal: string[] = [];
    const resources = new ServiceResources(capture().logger);
    resources.signal.addEventListener('abort', () => journal.push('stopping'));
    await resources.start('catalog', journaled(journal, 'catalog'));
    resources.onStop('aws', () => void journal.push('stop aws'));
    resources.own('state', journaled(journal, 'state'));
    await resources.start('consumer', journaled(journal, 'consumer'));

    await resources.stop();
    expect(journal).toEqual(['start catalog', 'start consumer', 'stopping', 'stop consumer', 'stop state', 'stop aws', 'stop catalog']);
    // A second stop (SIGTERM then stop()) stops nothing twice.
    await resources.stop();
    expect(journal.filter((j) => j === 'stop catalog')).toHaveLength(1);
  });

  it('stops the rest when one stop fails, logs it, and throws the first failure at the end', async () => {
    const journal: string[] = [];
    const { logger, lines } = capture();
    const resources = new ServiceResources(logger);
    resources.own('first', journaled(journal, 'first'));
    resources.own('broken', journaled(journal, 'broken', { failStop: true }));
    resources.own('last', journaled(journal, 'last'));

    await expect(resources.stop()).rejects.toThrow('broken could not stop');
    expect(journal).toEqual(['stop last', 'stop broken', 'stop first']);
    expect(lines.find((l) => l.resource === 'broken')).toMatchObject({ level: 'error', msg: 'stopping broken failed' });
  });

  it('derives readiness and liveness from what each resource has, under its name', async () => {
    const resources = new ServiceResources(capture().logger);
    let caughtUp = false;
    resources.own('consumer', {
      get ready() {
        return caughtUp || 'catching up';
      },
      get healthy() {
        return true;
      },
    });
    // The notifier's targets answer through methods.
    resources.own('targets', { ready: () => 'no target yet', healthy: () => 'target a failing' });
    // A state table without a readiness of its own: liveness only.
    resources.own('state', { healthy: false, stop: () => undefined });
    resources.own('keys', { stop: () => undefined });

    const readiness = resources.readinessChecks;
    const liveness = resources.livenessChecks;
    expect(Object.keys(readiness)).toEqual(['consumer', 'targets']);
    expect(Object.keys(liveness)).toEqual(['consumer', 'targets', 'state']);
    expect(await readiness.consumer!()).toBe('catching up');
    caughtUp = true;
    // Checked each time /readyz asks, not once at registration.
    expect(await readiness.consumer!()).toBe(true);
    expect(await readiness.targets!()).toBe('no target yet');
    expect(await liveness.targets!()).toBe('target a failing');
    expect(await liveness.state!()).toBe(false);
  });

  it('refuses two checks under one name', () => {
    const resources = new ServiceResources(capture().logger);
    resources.own('consumer', { ready: true });
    expect(() => resources.own('consumer', { ready: true })).toThrow('readiness check "consumer" registered twice');
  });
});

describe('openService', () => {
  type Config = Pick<CommonConfig, 'topics'> & CommonConfig;
  const fakeProducer = (journal: string[]): KafkaProducer =>
    ({
      connect: async () => void journal.push('connect producer'),
      disconnect: async () => void journal.push('disconnect producer'),
    }) as unknown as KafkaProducer;

  function base(journal: string[], logger = capture().logger) {
    // Unit scope: the context's Kafka client is only asked for a producer here.
    const kafka = { producer: () => fakeProducer(journal) } as unknown as KafkaClient;
    return {
      config: {} as Config,
      logger,
      metrics: new ServiceMetrics('test'),
      kafka,
      registry: {} as SchemaRegistry,
      topics: {},
      serdes: {},
    } satisfies Pick<ServiceContext<Config>, 'config' | 'logger' | 'metrics' | 'kafka' | 'registry' | 'topics' | 'serdes'>;
  }

  it('returns a service whose stop, readiness, liveness and routes come from what start() opened', async () => {
    const journal: string[] = [];
    const running = await openService<Config, Record<never, never>>(
      {
        name: 'test',
        async start(ctx) {
          await ctx.start('state', { ...journaled(journal, 'state'), healthy: true });
          await ctx.producer();
          ctx.ready('database', () => 'migrating');
          ctx.own('consumer', { ...journaled(journal, 'consumer'), ready: true, healthy: true });
          ctx.routes(() => false);
        },
      },
      base(journal),
    );
    expect(Object.keys(running.readiness!)).toEqual(['database', 'consumer']);
    expect(Object.keys(running.liveness!)).toEqual(['state', 'consumer']);
    expect(running.routes).toBeTypeOf('function');
    await running.stop();
    expect(journal).toEqual(['start state', 'connect producer', 'stop consumer', 'disconnect producer', 'stop state']);
  });

  it('stops what a failed start opened, in reverse order, including a resource whose own start failed', async () => {
    const journal: string[] = [];
    const failure = openService<Config, Record<never, never>>(
      {
        name: 'test',
        async start(ctx) {
          await ctx.start('trails', journaled(journal, 'trails'));
          await ctx.producer();
          await ctx.start('state', journaled(journal, 'state', { failStart: true }));
          journal.push('never reached');
        },
      },
      base(journal),
    );
    await expect(failure).rejects.toThrow('state could not start');
    expect(journal).toEqual(['start trails', 'connect producer', 'start state', 'stop state', 'disconnect producer', 'stop trails']);
  });

  it('passes the start failure on even when stopping what it opened fails too', async () => {
    const journal: string[] = [];
    const { logger, lines } = capture();
    const failure = openService<Config, Record<never, never>>(
      {
        name: 'test',
        async start(ctx) {
          ctx.own('catalog', journaled(journal, 'catalog', { failStop: true }));
          throw new Error('bucket check failed');
        },
      },
      base(journal, logger),
    );
    await expect(failure).rejects.toThrow('bucket check failed');
    expect(journal).toEqual(['stop catalog']);
    expect(lines.some((l) => l.msg === 'test: stopping what a failed start opened failed')).toBe(true);
  });

  it('aborts the stopping signal a failed start handed out', async () => {
    let signal: AbortSignal | undefined;
    await openService<Config, Record<never, never>>(
      {
        name: 'test',
        async start(ctx) {
          signal = ctx.stopping;
          throw new Error('no');
        },
      },
      base([]),
    ).catch(() => undefined);
    expect(signal?.aborted).toBe(true);
  });
});
