import { toApiCallEvent, writeRecordJson, type CloudTrailRecord } from '@opentrail/cloudtrail';

/** UTF-8 bytes of a record's line in a log file. */
export function logLineBytes(record: CloudTrailRecord): number {
  return Buffer.byteLength(writeRecordJson(toApiCallEvent(record)));
}

/**
 * `record` with requestParameters.pad made of multi-byte characters (€: 3 bytes, é: 2, then ASCII)
 * so that its log line is exactly `bytes` long: the size limit's boundary is tested with
 * characters whose UTF-16 length and UTF-8 length differ.
 */
export function recordOfSize(record: CloudTrailRecord, bytes: number): CloudTrailRecord {
  const empty = { ...record, requestParameters: { ...(record.requestParameters ?? {}), pad: '' } };
  let missing = bytes - logLineBytes(empty);
  if (missing < 0) throw new Error(`the record is ${-missing} bytes over ${bytes} already`);
  const euros = Math.max(0, Math.floor(missing / 3) - 1);
  missing -= euros * 3;
  const acutes = Math.floor(missing / 2);
  const pad = '€'.repeat(euros) + 'é'.repeat(acutes) + 'a'.repeat(missing - acutes * 2);
  const sized = { ...empty, requestParameters: { ...empty.requestParameters, pad } };
  const got = logLineBytes(sized);
  if (got !== bytes) throw new Error(`padded to ${got} bytes, not ${bytes}`);
  return sized;
}
