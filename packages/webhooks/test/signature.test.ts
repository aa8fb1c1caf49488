import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WEBHOOK_HEADERS, signWebhook, verifyWebhook, webhookHeaders } from '../src/index.js';

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const body = '{"alertId":"a-1","title":"Root account usage"}';
const now = new Date('2026-01-02T03:04:05Z');

describe('webhook signatures (Standard Webhooks v1)', () => {
  it('signs id.timestamp.body with HMAC-SHA256 under the base64-decoded whsec_ secret', () => {
    const ts = Math.floor(now.getTime() / 1000);
    const expected = createHmac('sha256', Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64')).update(`msg-1.${ts}.${body}`).digest('base64');
    expect(signWebhook(secret, 'msg-1', ts, body)).toBe(`v1,${expected}`);
    expect(webhookHeaders(secret, 'msg-1', body, now)).toEqual({ 'webhook-id': 'msg-1', 'webhook-timestamp': String(ts), 'webhook-signature': `v1,${expected}` });
  });

  it('uses a plain secret as UTF-8 bytes', () => {
    const expected = createHmac('sha256', 'plain secret').update(`m.1.${body}`).digest('base64');
    expect(signWebhook('plain secret', 'm', 1, body)).toBe(`v1,${expected}`);
  });

  it('accepts a genuine request, with headers in any case or as a fetch Headers object', () => {
    const headers = webhookHeaders(secret, 'msg-1', body, now);
    expect(verifyWebhook(secret, headers, body, 300, now)).toEqual({ ok: true, id: 'msg-1', timestamp: Math.floor(now.getTime() / 1000) });
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verifyWebhook(secret, upper, Buffer.from(body), 300, now).ok).toBe(true);
    expect(verifyWebhook(secret, new Headers(headers), body, 300, now).ok).toBe(true);
  });

  it('refuses a changed body, a wrong secret, a changed id and missing headers', () => {
    const headers = webhookHeaders(secret, 'msg-1', body, now);
    expect(verifyWebhook(secret, headers, body.replace('Root', 'root'), 300, now)).toMatchObject({ ok: false, reason: 'NO_MATCHING_SIGNATURE' });
    expect(verifyWebhook('whsec_b3RoZXI=', headers, body, 300, now)).toMatchObject({ ok: false, reason: 'NO_MATCHING_SIGNATURE' });
    expect(verifyWebhook(secret, { ...headers, [WEBHOOK_HEADERS.id]: 'msg-2' }, body, 300, now)).toMatchObject({ ok: false, reason: 'NO_MATCHING_SIGNATURE' });
    expect(verifyWebhook(secret, { [WEBHOOK_HEADERS.id]: 'msg-1' }, body, 300, now)).toMatchObject({ ok: false, reason: 'MISSING_HEADERS' });
    expect(verifyWebhook(secret, { ...headers, [WEBHOOK_HEADERS.timestamp]: '12:00' }, body, 300, now)).toMatchObject({ ok: false, reason: 'BAD_TIMESTAMP' });
  });

  it('refuses a replay outside the tolerance, and a timestamp from the future', () => {
    const headers = webhookHeaders(secret, 'msg-1', body, now);
    const later = new Date(now.getTime() + 301_000);
    expect(verifyWebhook(secret, headers, body, 300, later)).toMatchObject({ ok: false, reason: 'TIMESTAMP_TOO_OLD' });
    expect(verifyWebhook(secret, headers, body, 300, new Date(now.getTime() + 299_000)).ok).toBe(true);
    expect(verifyWebhook(secret, headers, body, 300, new Date(now.getTime() - 301_000))).toMatchObject({ ok: false, reason: 'TIMESTAMP_TOO_NEW' });
  });

  it('supports secret rotation: several signatures, several accepted secrets', () => {
    const headers = webhookHeaders(['new-secret', 'old-secret'], 'msg-1', body, now);
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verifyWebhook('old-secret', headers, body, 300, now).ok).toBe(true);
    expect(verifyWebhook(['other', 'new-secret'], webhookHeaders('new-secret', 'm', body, now), body, 300, now).ok).toBe(true);
  });
});
