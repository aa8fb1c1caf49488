export { Recorder, type RecorderOptions, type RecordReceipt } from './recorder.js';
export { InvalidRecordError, type CloudTrailRecord, type RecordProblem } from '@opentrail/cloudtrail';
