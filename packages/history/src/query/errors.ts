import { OpentrailError } from '@opentrail/errors';

/**
 * The errors a history query answers with: CloudTrail's codes (cloudtrail-spec.md §5.1) and
 * messages, so the API passes them through unchanged. All are the caller's fault (HTTP 400), none
 * is worth retrying; database failures are not HistoryQueryErrors and surface as 5xx.
 */
export type HistoryQueryErrorCode =
  | 'InvalidLookupAttributesException'
  | 'InvalidTimeRangeException'
  | 'InvalidMaxResultsException'
  | 'InvalidNextTokenException'
  | 'InvalidEventCategoryException'
  | 'InvalidParameterException'
  | 'SerializationException';

export class HistoryQueryError extends OpentrailError<HistoryQueryErrorCode> {}
