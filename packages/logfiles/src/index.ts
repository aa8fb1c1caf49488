/**
 * CloudTrail log files (cloudtrail-spec.md §2): writing them (gzip built as records arrive),
 * storing them in S3 under conditional writes, client-side envelope encryption, and reading them
 * back whatever their encryption. The archiver writes with it; the CLI's `decrypt` and the tests
 * read with it.
 */
export { LogFileBuilder, type ClosedLogFile, type RecordMeta } from './logFile.js';
export { LogFileStore, logFileStoreMetrics, StaleOwnerError, type ObjectToStore, type Ownership } from './logFileStore.js';
export { decryptEnvelope, encryptEnvelope, EnvelopeError } from './envelopeEncryption.js';
export { decryptLogFile, LogFileReadError } from './logFileReader.js';
