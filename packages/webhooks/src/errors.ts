/**
 * Why an attempt failed. `canRetry` says whether another attempt can help: a receiver that is down,
 * slow or overloaded may recover; a receiver that refuses the request (4xx) will refuse it again.
 */
export const WEBHOOK_ERROR_CODES = {
  /** No response within the timeout. */
  TIMEOUT: true,
  /** Connection refused, reset, DNS failure, … */
  NETWORK: true,
  /** 408, 425, 429 or 5xx. */
  HTTP_RETRIABLE: true,
  /** Any other non-2xx status (including redirects, which are not followed). */
  HTTP_REJECTED: false,
  /** The target's circuit breaker is open: the attempt was not made. */
  CIRCUIT_OPEN: false,
  /** The caller's signal aborted the delivery (shutdown). */
  ABORTED: false,
} as const;

export type WebhookErrorCode = keyof typeof WEBHOOK_ERROR_CODES;

export class WebhookError extends Error {
  readonly canRetry: boolean;

  constructor(
    readonly code: WebhookErrorCode,
    message: string,
    readonly status?: number,
    /** From a Retry-After header, when the receiver sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'WebhookError';
    this.canRetry = WEBHOOK_ERROR_CODES[code];
  }
}

const RETRIABLE_STATUS = new Set([408, 425, 429]);

export function isRetriableStatus(status: number): boolean {
  return status >= 500 || RETRIABLE_STATUS.has(status);
}
