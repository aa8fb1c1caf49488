export { type CloudTrailRecord, type UserIdentityJson, MAX_EVENT_BYTES, ACCOUNT_ID_PATTERN, REGION_PATTERN, KNOWN_AWS_REGIONS, acceptedRegions, formatEventTime, javaMediumDate } from './record.js';
export { type RecordProblem } from './content.js';
export { toApiCallEvent, writeRecordJson, toCloudTrailRecord } from './codec.js';
export { InvalidRecordError, routingKey, withDefaults, acceptRecord, validateRecord, validateApiCallEvent, eventAccountId } from './validate.js';
export { LOG_FILE_KEY_PATTERN, INSIGHT_FILE_KEY_PATTERN, logFileKey, digestFileKey, deterministicUniqueString } from './keys.js';
