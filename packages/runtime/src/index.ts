export { StreamProcessor, type BatchContext, type InputRecord, type OutputMessage, type PartitionHandler, type ProcessorOptions, type TopicPartition, type Work } from './processor.js';
export { deadLetterMessage, readDeadLetter, DLQ_HEADERS, type DeadLetter, type DeadLetterReason } from './dead-letter.js';
export { createKafka, ensureTopics, kafkaLogCreator, logConsumerCrash, partitionCount, type KafkaClientConfig, type TopicSpec } from './kafka.js';
export { retry, backoffDelay, sleep, RetryAbortedError, type RetryOptions } from './retry.js';
export { runService, main, type RunningService, type ServiceContext, type ServiceDefinition, type ServiceHandle } from './service.js';
export { MAX_PARTITION_BYTES, MAX_REQUEST_BYTES, OutputPartitioner, splitRequests } from './produceRequests.js';
export { StateTopicReader, type StateTopicReaderOptions } from './stateTopic.js';
export { Startup, startupStep, StartDeadlineError, EXIT_CONFIG, EXIT_START_DEADLINE, type StartupOptions } from './startup.js';
export { transientCondition, transientConditionOfMessage, type TransientCondition } from './transient.js';
