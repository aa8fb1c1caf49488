/**
 * CloudTrail log files (cloudtrail-spec.md §2): writing them (gzip built as records arrive),
 * storing them in S3 under conditional writes, client-side envelope encryption, and reading them
 * back whatever their encryption. The archiver writes with it; the CLI's `decrypt` and the tests
 * read with it.
 */
export { LogFileBuilder, type ClosedLogFile, type RecordMeta } from './logFile.js';
export { LogFileStore, logFileStoreMetrics, StaleOwnerError, type LogFileStoreMetrics, type LogFileStoreOptions, type ObjectToStore, type Ownership, type StoreOptions } from './logFileStore.js';
export { decryptEnvelope, encryptEnvelope, EnvelopeError, type Envelope, type EnvelopeErrorCode } from './envelopeEncryption.js';
export { decryptLogFile, LogFileReadError, type DecryptedLogFile, type LogFileLocation, type LogFileReadErrorCode } from './logFileReader.js';
