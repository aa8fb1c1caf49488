export * from './digestFile.js';
export { readGzipMember, GzipFormatError, type GzipMember } from './gzipMember.js';
export * from './signingKeys.js';
export { S3ObjectStore, NoSuchKeyError, type ObjectStore } from './objectStore.js';
export * from './validator.js';
export { CloudTrailApiClient, CloudTrailApiError, NodeSha256, CLOUDTRAIL_TARGET_PREFIX } from './cloudTrailClient.js';
