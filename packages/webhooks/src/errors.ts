import { OpentrailError } from '@opentrail/errors';

/**
 * Why an outbound attempt (a webhook request, an SNS publish) or a whole delivery failed: a closed
 * list of codes, each saying whether another attempt can help. A destination that is down, slow or
 * overloaded may recover; one that refuses the request (4xx, validation) will refuse it again; the
 * last four are decisions of the delivery itself, not answers of the destination. Code branches on
 * `code` and `canRetry`, never on the message text.
 */
export const OUTBOUND_ERROR_CODES = {
  /** No answer within the attempt's timeout. */
  TIMEOUT: true,
  /** Connection refused, reset, DNS failure, … (no answer at all). */
  NETWORK: true,
  /** 408, 425 or 5xx: the destination failed this time. */
  HTTP_RETRIABLE: true,
  /** 429 or a throttling error: the destination asks to slow down (Retry-After is honoured). */
  THROTTLED: true,
  /** Any other non-2xx answer (4xx, validation, redirects, which are not followed). */
  HTTP_REJECTED: false,
  /** The destination's circuit breaker is open: the attempt was not made. */
  CIRCUIT_OPEN: false,
  /** The destination's retry budget for the window is spent: an outage does not multiply load. */
  RETRY_BUDGET_EXHAUSTED: false,
  /** The next attempt would start after the message's deadline. */
  DEADLINE_EXCEEDED: false,
  /** The caller's signal aborted the delivery (shutdown): not given up on, the next owner sends it. */
  ABORTED: false,
} as const;

export type OutboundErrorCode = keyof typeof OUTBOUND_ERROR_CODES;

export interface OutboundErrorDetails {
  /** The destination's HTTP status, when it answered. */
  status?: number;
  /** From a Retry-After header (or the destination's own throttling hint). */
  retryAfterMs?: number;
  /** The destination's own error code (SNS's NotFound, a webhook's HTTP status), for trail activity. */
  targetCode?: string;
  cause?: unknown;
}

export class OutboundError extends OpentrailError<OutboundErrorCode> {
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly targetCode: string | undefined;

  constructor(code: OutboundErrorCode, message: string, details: OutboundErrorDetails = {}) {
    super(code, message, { cause: details.cause, canRetry: OUTBOUND_ERROR_CODES[code] });
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.targetCode = details.targetCode ?? (details.status === undefined ? undefined : String(details.status));
  }
}

const RETRIABLE_STATUS = new Set([408, 425]);

/** The code of a non-2xx HTTP answer: 429 throttles, 408/425/5xx can heal, the rest is a refusal. */
export function httpStatusCode(status: number): OutboundErrorCode {
  if (status === 429) return 'THROTTLED';
  return status >= 500 || RETRIABLE_STATUS.has(status) ? 'HTTP_RETRIABLE' : 'HTTP_REJECTED';
}

export function isRetriableStatus(status: number): boolean {
  return OUTBOUND_ERROR_CODES[httpStatusCode(status)];
}

/** Retry-After as milliseconds: delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,10}$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
