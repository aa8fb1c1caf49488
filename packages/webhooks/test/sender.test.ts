import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CircuitBreaker, WebhookSender, verifyWebhook, type OutboundError, type WebhookMessage, type WebhookTarget } from '../src/index.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real HTTP receiver on a free local port, answering with the statuses of `script` in turn (then 200). */
async function receiver(script: (number | 'hang')[] = [], extraHeaders: Record<string, string> = {}) {
  const received: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      const next = script.shift() ?? 200;
      if (next === 'hang') return; // never answers: the sender's timeout fires
      res.writeHead(next, extraHeaders).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  servers.push(server);
  return { url, received };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const message: WebhookMessage = { id: 'alert-123', body: JSON.stringify({ alertId: 'alert-123', title: 'Root account usage' }) };
const fast = { initialDelayMs: 5, maxDelayMs: 20, timeoutMs: 2_000 };

describe('WebhookSender against a real HTTP server', () => {
  it('delivers a signed request the receiver can verify', async () => {
    const { url, received } = await receiver();
    const target: WebhookTarget = { url, secret: 's3cret', headers: { 'x-api-key': 'k' } };
    const outcome = await new WebhookSender(fast).send(target, message);
    expect(outcome).toMatchObject({ ok: true, attempts: 1, status: 200 });
    expect(received).toHaveLength(1);
    expect(received[0]!.body).toBe(message.body);
    expect(received[0]!.headers['content-type']).toBe('application/json');
    expect(received[0]!.headers['x-api-key']).toBe('k');
    expect(verifyWebhook('s3cret', received[0]!.headers, received[0]!.body)).toMatchObject({ ok: true, id: 'alert-123' });
    expect(verifyWebhook('wrong', received[0]!.headers, received[0]!.body).ok).toBe(false);
  });

  it('retries 5xx and 429 with backoff, re-signing each attempt under the same id', async () => {
    const { url, received } = await receiver([503, 429, 500]);
    const attempts: number[] = [];
    const sender = new WebhookSender({ ...fast, retries: 5, onAttempt: (a) => attempts.push(a.status ?? 0) });
    const outcome = await sender.send({ url, secret: 'k' }, message);
    expect(outcome).toMatchObject({ ok: true, attempts: 4 });
    expect(attempts).toEqual([503, 429, 500, 200]);
    expect(new Set(received.map((r) => r.headers['webhook-id']))).toEqual(new Set(['alert-123']));
    for (const r of received) expect(verifyWebhook('k', r.headers, r.body).ok).toBe(true);
  });

  it('does not retry a refusal (4xx) and hands the message to onFinalFailure once', async () => {
    const { url, received } = await receiver([400]);
    const failed: [WebhookTarget, WebhookMessage, OutboundError][] = [];
    const sender = new WebhookSender({ ...fast, onFinalFailure: (t, m, e) => void failed.push([t, m, e]) });
    const outcome = await sender.send({ url, secret: 'k', name: 'siem' }, message);
    expect(outcome).toMatchObject({ ok: false, attempts: 1, status: 400, target: 'siem' });
    expect(outcome.error).toMatchObject({ code: 'HTTP_REJECTED', canRetry: false });
    expect(received).toHaveLength(1);
    expect(failed).toHaveLength(1);
    expect(failed[0]![1].id).toBe('alert-123');
  });

  it('gives up after the retries and reports the last error', async () => {
    const { url, received } = await receiver([500, 500, 500, 500]);
    const failed: OutboundError[] = [];
    const outcome = await new WebhookSender({ ...fast, retries: 2, breakerFailures: 100, onFinalFailure: (_t, _m, e) => void failed.push(e) }).send({ url, secret: 'k' }, message);
    expect(outcome).toMatchObject({ ok: false, attempts: 3, status: 500 });
    expect(received).toHaveLength(3);
    expect(failed.map((e) => e.code)).toEqual(['HTTP_RETRIABLE']);
  });

  it('times out a receiver that does not answer, and retries', async () => {
    const { url, received } = await receiver(['hang']);
    const outcome = await new WebhookSender({ ...fast, timeoutMs: 200 }).send({ url, secret: 'k' }, message);
    expect(outcome).toMatchObject({ ok: true, attempts: 2 });
    expect(received).toHaveLength(2);
  });

  it('reports a connection failure as NETWORK', async () => {
    const { url } = await receiver();
    const server = servers.pop()!;
    await new Promise((r) => server.close(r));
    const outcome = await new WebhookSender({ ...fast, retries: 1 }).send({ url, secret: 'k' }, message);
    expect(outcome.ok).toBe(false);
    expect(outcome.error?.code).toBe('NETWORK');
  });

  it('honours Retry-After on 429', async () => {
    const { url } = await receiver([429], { 'retry-after': '1' });
    const started = Date.now();
    const outcome = await new WebhookSender({ ...fast, maxDelayMs: 5_000 }).send({ url, secret: 'k' }, message);
    expect(outcome.ok).toBe(true);
    // Waited for the receiver's Retry-After (1 s), not the 5-20 ms backoff.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('opens the circuit after repeated failures: later messages fail fast without a request, then a probe closes it', async () => {
    const { url, received } = await receiver([500, 500, 500]);
    const failed: string[] = [];
    const sender = new WebhookSender({ ...fast, retries: 10, breakerFailures: 3, breakerResetMs: 300, onFinalFailure: (_t, m, e) => void failed.push(`${m.id}:${e.code}`) });
    const target = { url, secret: 'k' };
    const first = await sender.send(target, message);
    expect(first).toMatchObject({ ok: false, attempts: 3 });
    expect(first.error?.code).toBe('CIRCUIT_OPEN');
    expect(sender.breakerState(target)).toBe('open');
    const second = await sender.send(target, { ...message, id: 'alert-124' });
    expect(second).toMatchObject({ ok: false, attempts: 0 });
    expect(received).toHaveLength(3);
    expect(failed).toEqual(['alert-123:CIRCUIT_OPEN', 'alert-124:CIRCUIT_OPEN']);
    await new Promise((r) => setTimeout(r, 350));
    expect(sender.breakerState(target)).toBe('half-open');
    const third = await sender.send(target, { ...message, id: 'alert-125' });
    expect(third).toMatchObject({ ok: true, attempts: 1 });
    expect(sender.breakerState(target)).toBe('closed');
  });

  it('stops waiting when its signal aborts', async () => {
    const { url } = await receiver([500, 500, 500]);
    const controller = new AbortController();
    const givenUp: OutboundError[] = [];
    const sender = new WebhookSender({ initialDelayMs: 10_000, maxDelayMs: 10_000, signal: controller.signal, onFinalFailure: (_t, _m, e) => void givenUp.push(e) });
    const pending = sender.send({ url, secret: 'k' }, message);
    setTimeout(() => controller.abort(), 100);
    const outcome = await pending;
    expect(outcome.error?.code).toBe('ABORTED');
    // Aborted is not given up: a caller dead-lettering in onFinalFailure must not dead-letter it.
    expect(givenUp).toEqual([]);
  });
});

describe('CircuitBreaker', () => {
  it('lets one probe through when half-open and re-opens on its failure', () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 2, resetAfterMs: 100 }, () => now);
    breaker.onFailure();
    expect(breaker.state).toBe('closed');
    breaker.onFailure();
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    now = 100;
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
    breaker.onFailure();
    expect(breaker.state).toBe('open');
    now = 250;
    expect(breaker.tryAcquire()).toBe(true);
    breaker.onSuccess();
    expect(breaker.state).toBe('closed');
  });
});
