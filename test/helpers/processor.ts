import { createLogger, ServiceMetrics } from '@opentrail/observability';
import { StreamProcessor, type InputRecord, type PartitionHandler } from '@opentrail/runtime';
import { serdeFor, type ApiCallEvent } from '@opentrail/serde';
import { KNOWN_AWS_REGIONS, validateApiCallEvent } from '@opentrail/cloudtrail';
import { testKafka, testRegistry } from './env.js';

/** A processor over a raw-events topic that keeps every record it is handed, for runtime tests. */
export async function startCollectingProcessor(prefix: string, options: { groupId?: string; onBatch?: (records: InputRecord<ApiCallEvent>[]) => Promise<void> | void; regions?: ReadonlySet<string> } = {}) {
  const received: InputRecord<ApiCallEvent>[] = [];
  const handler: PartitionHandler<ApiCallEvent> = {
    async processBatch(records) {
      await options.onBatch?.(records);
      received.push(...records);
    },
  };
  const metrics = new ServiceMetrics('testproc');
  const processor = new StreamProcessor<ApiCallEvent>({
    service: 'testproc',
    kafka: testKafka('testproc'),
    groupId: options.groupId ?? `${prefix}group`,
    topic: `${prefix}events.raw`,
    serde: serdeFor(testRegistry(), 'ApiCallEvent'),
    validate: (event, bytes) => validateApiCallEvent(event, bytes, options.regions ?? KNOWN_AWS_REGIONS),
    deadLetterTopic: `${prefix}events.dlq`,
    handler,
    logger: createLogger('testproc', 'warn'),
    metrics,
  });
  await processor.start();
  return { processor, received, metrics };
}
