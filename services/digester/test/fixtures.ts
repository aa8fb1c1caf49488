import { createLogger, ServiceMetrics } from '@opentrail/observability';
import type { AvroSerde, Delivery } from '@opentrail/serde';
import { Digester, type DigesterOptions } from '../src/digester.js';
import { digesterMetrics } from '../src/metrics.js';

export const MINUTE = 60_000;

/** A Digester on the 'deliveries' topic with one-minute periods and JSON in place of Avro, around what a test gives it. */
export function testDigester(options: Pick<DigesterOptions, 'trails' | 'state' | 'keys' | 'store' | 'now'> & Partial<DigesterOptions>): Digester {
  return new Digester({
    sourceTopic: 'deliveries',
    deliveriesTopic: 'deliveries',
    consumerGroup: 'g',
    periodMs: () => MINUTE,
    graceMs: 5000,
    maxCatchUpPeriods: 10,
    deliverySerde: { encode: (v: Delivery) => Buffer.from(JSON.stringify(v)) } as unknown as AvroSerde<Delivery>,
    // A registry of its own each: prom-client refuses a metric name twice in one registry.
    metrics: digesterMetrics(new ServiceMetrics(`digester_test_${Math.random().toString(36).slice(2, 8)}`), { groups: () => 0, pendingLogFiles: () => 0 }),
    logger: createLogger('digester', 'silent'),
    ...options,
  });
}

/** A delivered log file (one record, SSE-S3) as the archiver announces it, for feeding a Digester. */
export function logDelivery(fields: { deliveryId: string; trailName: string; bucket: string; key: string; deliveredAt: number }): Delivery {
  const { deliveredAt } = fields;
  return {
    ...fields,
    kind: 'LOG',
    trailArn: 'arn',
    homeRegion: 'us-east-1',
    accountId: '111122223333',
    region: 'us-east-1',
    organizationId: null,
    recordCount: 1,
    uncompressedBytes: 1,
    compressedBytes: 1,
    sha256: 'ab'.repeat(32),
    oldestEventTime: deliveredAt - 1000,
    newestEventTime: deliveredAt - 500,
    encryption: { mode: 'SSE_S3', kmsKeyId: null },
    source: null,
    digest: null,
  };
}
