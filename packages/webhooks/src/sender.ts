import type { BreakerState } from './breaker.js';
import type { Clock } from './clock.js';
import { httpStatusCode, OutboundError, retryAfterMs } from './errors.js';
import { OutboundChannel, type OutboundObserver, type OutboundPolicy } from './outboundChannel.js';
import { webhookHeaders } from './signature.js';

/** Where webhooks go. */
export interface WebhookTarget {
  /** For logs and metrics. @default the URL's origin and path */
  name?: string;
  url: string;
  /** HMAC secret (a `whsec_<base64>` secret is base64-decoded); several during rotation, the first is current. */
  secret: string | readonly string[];
  /** Extra request headers (e.g. an API gateway key). */
  headers?: Record<string, string>;
}

/** One message: the same id on every attempt and every target, so receivers can de-duplicate. */
export interface WebhookMessage {
  id: string;
  body: string | Buffer;
  /** @default application/json */
  contentType?: string;
}

export interface AttemptInfo {
  target: string;
  messageId: string;
  attempt: number;
  durationMs: number;
  status?: number;
  error?: OutboundError;
}

export interface DeliveryOutcome {
  target: string;
  messageId: string;
  ok: boolean;
  attempts: number;
  status?: number;
  /** The last error when not ok. */
  error?: OutboundError;
}

export interface WebhookSenderOptions extends Partial<OutboundPolicy> {
  /** Called once when a message is given up on a target (retries exhausted, rejected, circuit open, budget or deadline): dead-letter it here. Not called when the signal aborted the delivery. */
  onFinalFailure?: (target: WebhookTarget, message: WebhookMessage, error: OutboundError) => void | Promise<void>;
  /** Called after every attempt (service-specific metrics, logs). */
  onAttempt?: (info: AttemptInfo) => void;
  /** The outbound metrics (outboundMetrics), labelled `webhook:<target name>`. */
  observer?: OutboundObserver;
  /** Aborts waiting and in-flight attempts (shutdown). */
  signal?: AbortSignal;
  clock?: Clock;
  /** For tests. @default Math.random */
  random?: () => number;
}

/**
 * Delivers signed webhooks, one OutboundChannel per target (its breaker, budget and metrics): each
 * attempt is signed afresh (new timestamp, same id), so a receiver's replay window holds for
 * retries too. A message that cannot be delivered ends in `onFinalFailure`, never in an exception.
 */
export class WebhookSender {
  private readonly channels = new Map<string, OutboundChannel<WebhookMessage>>();

  constructor(private readonly options: WebhookSenderOptions = {}) {}

  /** The circuit state of a target (by name or URL). */
  breakerState(target: WebhookTarget): BreakerState {
    return this.channelFor(target).breakerState;
  }

  async send(target: WebhookTarget, message: WebhookMessage): Promise<DeliveryOutcome> {
    const name = targetName(target);
    const result = await this.channelFor(target).deliver(message);
    if (result.ok) return { target: name, messageId: message.id, ok: true, attempts: result.attempts, ...(result.status === undefined ? {} : { status: result.status }) };
    // An aborted delivery (shutdown) is not given up on: the caller's next owner sends it again, so
    // it must not be dead-lettered.
    if (!result.aborted) await this.options.onFinalFailure?.(target, message, result.error);
    return { target: name, messageId: message.id, ok: false, attempts: result.attempts, ...(result.error.status === undefined ? {} : { status: result.error.status }), error: result.error };
  }

  private channelFor(target: WebhookTarget): OutboundChannel<WebhookMessage> {
    const name = targetName(target);
    let channel = this.channels.get(name);
    if (channel) return channel;
    const { onFinalFailure: _final, onAttempt, observer, signal, clock, random, ...policy } = this.options;
    channel = new OutboundChannel<WebhookMessage>({
      destination: `webhook:${name}`,
      send: webhookAttempt(target),
      policy,
      ...(signal ? { signal } : {}),
      ...(clock ? { clock } : {}),
      ...(random ? { random } : {}),
      ...(observer ? { observer } : {}),
      ...(onAttempt ? { onAttempt: (a) => onAttempt({ target: name, messageId: a.message.id, attempt: a.attempt, durationMs: a.durationMs, ...(a.status === undefined ? {} : { status: a.status }), ...(a.error ? { error: a.error } : {}) }) } : {}),
    });
    this.channels.set(name, channel);
    return channel;
  }
}

/** One signed POST of a message to a target; a non-2xx answer throws its OutboundError. */
export function webhookAttempt(target: WebhookTarget) {
  const name = targetName(target);
  return async (message: WebhookMessage, signal: AbortSignal): Promise<number> => {
    const response = await fetch(target.url, {
      method: 'POST',
      redirect: 'manual',
      signal,
      headers: {
        'content-type': message.contentType ?? 'application/json',
        'user-agent': 'opentrail-webhooks/1',
        ...target.headers,
        ...webhookHeaders(target.secret, message.id, message.body),
      },
      body: message.body,
    });
    // Drain the body so the connection returns to the pool.
    await response.arrayBuffer().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return response.status;
    const code = httpStatusCode(response.status);
    const after = code === 'HTTP_REJECTED' ? undefined : retryAfterMs(response.headers.get('retry-after'));
    throw new OutboundError(code, `${name} answered ${response.status}`, { status: response.status, ...(after === undefined ? {} : { retryAfterMs: after }) });
  };
}

export function targetName(target: WebhookTarget): string {
  if (target.name) return target.name;
  try {
    const url = new URL(target.url);
    return `${url.origin}${url.pathname}`;
  } catch {
    return target.url;
  }
}
