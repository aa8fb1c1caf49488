import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The signature scheme of the Standard Webhooks specification (standardwebhooks.com), so that
 * receivers can verify opentrail's webhooks with any Standard Webhooks library:
 *
 *   webhook-id:        the message id (the same on every retry, for de-duplication)
 *   webhook-timestamp: Unix seconds of this attempt
 *   webhook-signature: "v1,<base64 HMAC-SHA256(secret, `${id}.${timestamp}.${body}`)>", space-separated
 *                      when several secrets are valid (rotation)
 *
 * Signing the timestamp with the body lets a receiver refuse both forgeries (no secret, no valid
 * signature) and replays (an old, validly signed request falls outside the tolerance).
 */
export const WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;

const SECRET_PREFIX = 'whsec_';

/** Secret bytes: a `whsec_<base64>` secret (the Standard Webhooks form) is decoded; any other string is used as UTF-8. */
export function secretBytes(secret: string): Buffer {
  if (secret.startsWith(SECRET_PREFIX)) return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  return Buffer.from(secret, 'utf8');
}

/** The `v1,<base64>` signature of one message at one timestamp. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string | Buffer): string {
  const mac = createHmac('sha256', secretBytes(secret));
  mac.update(`${id}.${timestampSeconds}.`);
  mac.update(body);
  return `v1,${mac.digest('base64')}`;
}

/** The three headers of one delivery attempt. */
export function webhookHeaders(secret: string | readonly string[], id: string, body: string | Buffer, now: Date = new Date()): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  const secrets = typeof secret === 'string' ? [secret] : secret;
  return {
    [WEBHOOK_HEADERS.id]: id,
    [WEBHOOK_HEADERS.timestamp]: String(timestamp),
    [WEBHOOK_HEADERS.signature]: secrets.map((s) => signWebhook(s, id, timestamp, body)).join(' '),
  };
}

export type VerifyFailure = 'MISSING_HEADERS' | 'BAD_TIMESTAMP' | 'TIMESTAMP_TOO_OLD' | 'TIMESTAMP_TOO_NEW' | 'NO_MATCHING_SIGNATURE';

export type VerifyResult = { ok: true; id: string; timestamp: number } | { ok: false; reason: VerifyFailure; message: string };

/** Headers as Node's http module gives them (lower-case names), as a plain record, or a fetch Headers object. */
export type IncomingHeaders = Record<string, string | string[] | undefined> | { get(name: string): string | null };

function header(headers: IncomingHeaders, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  let value = record[name];
  if (value === undefined) {
    const key = Object.keys(record).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : record[key];
  }
  return Array.isArray(value) ? value[0] : value;
}

/**
 * For receivers: checks a request's signature against the secret (or any of several, during
 * rotation) and that its timestamp is within `toleranceSeconds` of now, in both directions. Pass the
 * body exactly as received (the raw bytes, before any JSON parsing). A receiver that must also
 * refuse replays inside the tolerance remembers the `webhook-id`s it accepted for that long.
 */
export function verifyWebhook(secret: string | readonly string[], headers: IncomingHeaders, body: string | Buffer, toleranceSeconds = 300, now: Date = new Date()): VerifyResult {
  const id = header(headers, WEBHOOK_HEADERS.id);
  const timestampText = header(headers, WEBHOOK_HEADERS.timestamp);
  const signatures = header(headers, WEBHOOK_HEADERS.signature);
  if (!id || !timestampText || !signatures) {
    return { ok: false, reason: 'MISSING_HEADERS', message: `the request needs the ${Object.values(WEBHOOK_HEADERS).join(', ')} headers` };
  }
  if (!/^\d{1,15}$/.test(timestampText)) return { ok: false, reason: 'BAD_TIMESTAMP', message: `webhook-timestamp is not Unix seconds: ${JSON.stringify(timestampText)}` };
  const timestamp = Number(timestampText);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (timestamp < nowSeconds - toleranceSeconds) return { ok: false, reason: 'TIMESTAMP_TOO_OLD', message: `signed ${nowSeconds - timestamp} s ago; the tolerance is ${toleranceSeconds} s` };
  if (timestamp > nowSeconds + toleranceSeconds) return { ok: false, reason: 'TIMESTAMP_TOO_NEW', message: `signed ${timestamp - nowSeconds} s in the future; the tolerance is ${toleranceSeconds} s` };

  const offered = signatures
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  const secrets = typeof secret === 'string' ? [secret] : secret;
  for (const s of secrets) {
    const expected = Buffer.from(signWebhook(s, id, timestamp, body).slice(3), 'base64');
    if (offered.some((candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected))) return { ok: true, id, timestamp };
  }
  return { ok: false, reason: 'NO_MATCHING_SIGNATURE', message: 'no v1 signature matches the body and timestamp' };
}
