export { StreamProcessor, type BatchContext, type InputRecord, type OutputMessage, type PartitionHandler, type ProcessorOptions, type TopicPartition, type Work } from './processor.js';
export { deadLetterMessage, failureDetail, readDeadLetter, recordDeadLetterMessage, DLQ_HEADERS, PROCESSING_FAILED, type DeadLetter, type DeadLetterReason, type DeadLetterSource, type RecordDeadLetter } from './dead-letter.js';
export { InfrastructureError, isInfrastructureError } from './infrastructure.js';
export { processIsolating, type IsolationSteps } from './isolation.js';
export { createKafka, ensureTopics, partitionCount, type KafkaClientConfig, type TopicSpec } from './kafka.js';
export { retry, backoffDelay, sleep, RetryAbortedError, type RetryOptions } from './retry.js';
export { runService, main, type RunningService, type ServiceContext, type ServiceDefinition, type ServiceHandle } from './service.js';
export { MAX_PARTITION_BYTES, MAX_REQUEST_BYTES, OutputPartitioner, splitRequests } from './produceRequests.js';
export { StateTopicReader, type StateTopicReaderOptions } from './stateTopic.js';
