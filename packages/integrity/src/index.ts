export * from './digestFile.js';
export * from './signingKeys.js';
export { S3ObjectStore } from './objectStore.js';
export * from './validator.js';
export { CloudTrailApiClient, CloudTrailApiError, NodeSha256, CLOUDTRAIL_TARGET_PREFIX } from './cloudTrailClient.js';
