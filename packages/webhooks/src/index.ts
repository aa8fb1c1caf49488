export { WebhookSender, targetName, type AttemptInfo, type DeliveryOutcome, type WebhookMessage, type WebhookSenderOptions, type WebhookTarget } from './sender.js';
export { CircuitBreaker, type BreakerOptions, type BreakerState } from './breaker.js';
export { WebhookError, WEBHOOK_ERROR_CODES, isRetriableStatus, type WebhookErrorCode } from './errors.js';
export { WEBHOOK_HEADERS, secretBytes, signWebhook, verifyWebhook, webhookHeaders, type IncomingHeaders, type VerifyFailure, type VerifyResult } from './signature.js';
