/**
 * Library entry of the archiver: what other packages (the CLI's `decrypt`, tools, tests) use.
 * The service itself starts from main.ts.
 */
export { decryptLogFile, parseS3Url, LogFileReadError, type DecryptedLogFile, type LogFileLocation, type LogFileReadErrorCode } from './logFileReader.js';
export { encryptEnvelope, decryptEnvelope, isEnvelopeEncrypted, EnvelopeError, ENVELOPE_METADATA, CEK_ALGORITHM, WRAP_ALGORITHM, CEK_CONTEXT_KEY, type Envelope } from './envelopeEncryption.js';
export { LogFileBuilder, deflateBound, type ClosedLogFile, type RecordMeta } from './logFile.js';
export { deliveryId, deliveryRecord, deliveryKey } from './deliveryRecord.js';
export { lifecycleRule, applyLifecycle } from './bucketSetup.js';
export { OWNER_METADATA, SHA256_METADATA } from './logFileStore.js';
export { archiverSchema, type ArchiverConfig } from './config.js';
