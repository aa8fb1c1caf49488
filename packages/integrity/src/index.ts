export { type DigestFile, type PreviousDigest, buildDigest, sha256Hex, stringToSign, serializeDigest, digestMetadata } from './digestFile.js';
export { type SigningKey, pkcs1Der, fingerprintOf, withValidityWindows, currentKey, keyFileStamp, loadLocalKeys, kmsKey } from './signingKeys.js';
export { S3ObjectStore } from './objectStore.js';
export { type ParsedDigest, validateLogs, hasInvalid, inflateDigest } from './validator.js';
export { CloudTrailApiClient, CloudTrailApiError, NodeSha256, CLOUDTRAIL_TARGET_PREFIX } from './cloudTrailClient.js';
