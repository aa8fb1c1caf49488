import { httpStatusCode, OutboundError } from './errors.js';

/** What an AWS SDK v3 error carries (structural: this package does not depend on the SDK). */
interface SdkError {
  name?: string;
  /** The query protocol's error code (NotFound, AuthorizationError), which GetTrailStatus shows. */
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Classifies a failed SNS Publish: no HTTP answer (connection refused, reset) can heal, so can
 * throttling and 5xx; any other 4xx (no such topic, a refused message, no permission) cannot.
 */
export function classifySnsError(topicArn: string, err: unknown): OutboundError {
  if (err instanceof OutboundError) return err;
  const error = (err ?? {}) as SdkError;
  const status = error.$metadata?.httpStatusCode;
  const name = error.name ?? 'Error';
  const message = `SNS ${topicArn}: ${name}: ${error.message ?? ''}`.trim();
  const targetCode = error.Code ?? error.name ?? 'SNS_ERROR';
  if (status === undefined) return new OutboundError('NETWORK', message, { targetCode, cause: err });
  // SNS answers throttling with 400 Throttling (query protocol) as well as with 429.
  const code = /Throttl/i.test(name) ? 'THROTTLED' : httpStatusCode(status);
  return new OutboundError(code, message, { status, targetCode, cause: err });
}
