export { Recorder, type RecorderOptions, type RecordReceipt } from './recorder.js';
export { TrafficGenerator, javaMediumDate, type TrafficGeneratorOptions } from './traffic.js';
export { InvalidRecordError, type CloudTrailRecord, type RecordProblem } from '@opentrail/cloudtrail';
