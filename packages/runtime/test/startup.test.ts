import { createRequire } from 'node:module';
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ServiceMetrics } from '@opentrail/observability';
import { SerdeError } from '@opentrail/serde';
import { kafkaLogCreator } from '../src/kafka.js';
import { StartDeadlineError, Startup, startupStep } from '../src/startup.js';
import { transientCondition, transientConditionOfMessage } from '../src/transient.js';
import { capture } from './logCapture.js';

const kafkaProtocol = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
  createErrorFromCode: (code: number) => Error;
  errorCodes: { type: string; code: number; message: string }[];
};
const { errorCodes } = kafkaProtocol;
const kafkaError = (type: string) => kafkaProtocol.createErrorFromCode(errorCodes.find((e) => e.type === type)!.code);

/** The capture stream takes writes after the first on later ticks. */
const flushed = () => new Promise((resolve) => setImmediate(resolve));

describe('transientCondition', () => {
  it('names the Kafka conditions that pass by themselves, also when wrapped by kafkajs retries', () => {
    expect(transientCondition(kafkaError('NOT_LEADER_FOR_PARTITION'))).toBe('NOT_LEADER_FOR_PARTITION');
    expect(transientCondition(kafkaError('CONCURRENT_TRANSACTIONS'))).toBe('CONCURRENT_TRANSACTIONS');
    expect(transientCondition(kafkaError('UNKNOWN_TOPIC_OR_PARTITION'))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(transientCondition(kafkaError('GROUP_LOAD_IN_PROGRESS'))).toBe('GROUP_LOAD_IN_PROGRESS');
    expect(transientCondition(new KafkaJSNumberOfRetriesExceeded(kafkaError('NOT_COORDINATOR_FOR_GROUP'), { retryCount: 5, retryTime: 100 }))).toBe('NOT_COORDINATOR_FOR_GROUP');
    expect(transientCondition(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092'))).toBe('CONNECTION');
    expect(transientCondition(Object.assign(new Error('opentrail - Error, status 503: down'), { name: 'ResponseError', status: 503 }))).toBe('REGISTRY_UNAVAILABLE');
    expect(transientCondition(new SerdeError('REGISTRY_UNAVAILABLE', 'registering x'))).toBe('REGISTRY_UNAVAILABLE');
  });

  it('reads librdkafka\'s spelling of a broker that is not up (the confluent client)', () => {
    expect(transientCondition(Object.assign(new Error('Local: Broker transport failure'), { code: -195 }))).toBe('CONNECTION');
    expect(transientCondition(new Error('Local: All broker connections are down'))).toBe('CONNECTION');
    expect(transientConditionOfMessage('[thrd:127.0.0.1:38045/bootstrap]: 127.0.0.1:38045/bootstrap: Connect to ipv4#127.0.0.1:38045 failed: Connection refused (after 2ms in state CONNECT)')).toBe('CONNECTION');
    expect(transientConditionOfMessage('[thrd:127.0.0.1:9092/1]: 127.0.0.1:9092/1: Receive failed: Disconnected')).toBe('CONNECTION');
    // Not every librdkafka line is a connection failure.
    expect(transientConditionOfMessage('Local: Invalid argument or configuration')).toBeUndefined();
  });

  it('leaves faults to a person: configuration, authorization, incompatible schemas, explicit verdicts', () => {
    expect(transientCondition(kafkaError('TOPIC_AUTHORIZATION_FAILED'))).toBeUndefined();
    expect(transientCondition(kafkaError('INVALID_REPLICATION_FACTOR'))).toBeUndefined();
    expect(transientCondition(Object.assign(new Error('Schema being registered is incompatible'), { name: 'ResponseError', status: 409 }))).toBeUndefined();
    expect(transientCondition(new SerdeError('INCOMPATIBLE_SCHEMA', 'no'))).toBeUndefined();
    expect(transientCondition(Object.assign(new Error('Connection refused'), { canRetry: false }))).toBeUndefined();
    expect(transientCondition(new TypeError('x is not a function'))).toBeUndefined();
  });
});

describe('Startup', () => {
  it('retries a step while it fails transiently, and logs what it waits for once, not per attempt', async () => {
    const { logger, lines } = capture();
    const metrics = new ServiceMetrics('test');
    const startup = new Startup({ deadlineMs: 10_000, logger, metrics, initialDelayMs: 1, maxDelayMs: 5 });
    let calls = 0;
    const seen: (string | undefined)[] = [];
    const result = await startup.run(() =>
      startupStep('the consumer group g', async () => {
        calls++;
        seen.push(startup.waitingFor);
        if (calls < 6) throw kafkaError('GROUP_LOAD_IN_PROGRESS');
        return 'joined';
      }),
    );
    expect(result).toBe('joined');
    expect(calls).toBe(6);
    expect(seen[1]).toMatch(/^waiting for the consumer group g: .* \(GROUP_LOAD_IN_PROGRESS\)$/);
    expect(startup.waitingFor).toBeUndefined();
    await flushed();
    expect(lines.filter((l) => String(l.msg).startsWith('waiting for the consumer group g'))).toHaveLength(1);
    expect(lines.every((l) => l.level !== 'error')).toBe(true);
    const metric = await metrics.registry.getSingleMetric('opentrail_test_transient_conditions_total')!.get();
    expect(metric.values.find((v) => v.labels.condition === 'GROUP_LOAD_IN_PROGRESS')?.value).toBe(5);
  });

  it('ends the start at once on a fault that is not transient', async () => {
    const startup = new Startup({ deadlineMs: 10_000, logger: capture().logger, initialDelayMs: 1 });
    let calls = 0;
    const fault = kafkaError('TOPIC_AUTHORIZATION_FAILED');
    await expect(startup.run(() => startupStep('topics', async () => (calls++, Promise.reject(fault))))).rejects.toBe(fault);
    expect(calls).toBe(1);
  });

  it('gives up at the deadline with an error that names the step and the last condition', async () => {
    const startup = new Startup({ deadlineMs: 300, logger: capture().logger, initialDelayMs: 20, maxDelayMs: 50 });
    const err = await startup.run(() => startupStep('schema registration', () => Promise.reject(kafkaError('LEADER_NOT_AVAILABLE')))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartDeadlineError);
    expect((err as Error).message).toMatch(/still waiting for schema registration .*leader/i);
  });

  it('runs a step once outside a start (a test or a tool has no deadline)', async () => {
    let calls = 0;
    await expect(startupStep('x', async () => (calls++, Promise.reject(kafkaError('LEADER_NOT_AVAILABLE'))))).rejects.toThrow();
    expect(calls).toBe(1);
  });
});

describe('kafkaLogCreator', () => {
  it('logs the transient responses kafkajs reports as errors below error level, and counts them', async () => {
    const { logger, lines } = capture();
    const metrics = new ServiceMetrics('test');
    const log = kafkaLogCreator(logger, metrics)();
    const concurrent = errorCodes.find((e) => e.type === 'CONCURRENT_TRANSACTIONS')!.message;
    const notLeader = errorCodes.find((e) => e.type === 'NOT_LEADER_FOR_PARTITION')!.message;
    log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: '', message: 'Response InitProducerId(key: 22, version: 1)', error: concurrent } });
    log({ namespace: 'Consumer', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: '', message: `Crash: KafkaJSNumberOfRetriesExceeded: ${notLeader}` } });
    log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: '', message: 'Connection error: connect ECONNREFUSED 127.0.0.1:1' } });
    log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: '', message: 'Response CreateTopics(key: 19, version: 3)', error: 'Topic creation errors' } });
    log({ namespace: 'Consumer', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: '', message: 'Restarting the consumer in 300ms' } });
    log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: '', message: 'SASL PLAIN authentication failed' } });
    // A fenced transaction after a rebalance: kafkajs hands the error to the processor, which drops the transaction.
    const fenced = errorCodes.find((e) => e.type === 'INVALID_PRODUCER_EPOCH')!.message;
    log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: '', message: 'Response EndTxn(key: 26, version: 1)', error: fenced } });
    log({ namespace: 'Producer', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: '', message: fenced, retryCount: 0, retryTime: 300 } });
    await flushed();
    expect(lines.map((l) => [l.level, l.transient])).toEqual([
      ['info', 'CONCURRENT_TRANSACTIONS'],
      ['info', 'NOT_LEADER_FOR_PARTITION'],
      ['info', 'CONNECTION'],
      ['info', 'TOPIC_ALREADY_EXISTS'],
      ['info', 'CONSUMER_RESTART'],
      ['error', undefined],
      ['info', undefined],
      ['info', undefined],
    ]);
    const metric = await metrics.registry.getSingleMetric('opentrail_test_transient_conditions_total')!.get();
    expect(metric.values.map((v) => [v.labels.source, v.labels.condition, v.value])).toEqual([
      ['kafka', 'CONCURRENT_TRANSACTIONS', 1],
      ['kafka', 'NOT_LEADER_FOR_PARTITION', 1],
      ['kafka', 'CONNECTION', 1],
      ['kafka', 'TOPIC_ALREADY_EXISTS', 1],
      ['kafka', 'CONSUMER_RESTART', 1],
    ]);
  });
});
