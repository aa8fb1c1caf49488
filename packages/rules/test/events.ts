import { toApiCallEvent, withDefaults, type CloudTrailRecord } from '@opentrail/cloudtrail';
import { RuleEvent } from '../src/index.js';

/** A RuleEvent from CloudTrail JSON, as the alerter sees it after the Avro round trip. */
export function ev(record: CloudTrailRecord): RuleEvent {
  return new RuleEvent(toApiCallEvent(withDefaults({ awsRegion: 'us-east-1', recipientAccountId: '123456789012', eventSource: 'ec2.amazonaws.com', eventName: 'DescribeInstances', ...record })));
}
