import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: Buffer;
  status: number;
}

/**
 * A webhook receiver on 127.0.0.1: `answer(n)` picks the status of the n-th request (1-based);
 * `delayMs` holds each answer back (a slow receiver).
 */
export async function webhookReceiver(answer: (n: number) => number, options: { delayMs?: number } = {}) {
  const requests: ReceivedRequest[] = [];
  let answered = 0;
  const server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = answer(requests.length + 1);
      requests.push({ headers: req.headers, body: Buffer.concat(chunks), status });
      setTimeout(() => res.writeHead(status).end(() => answered++), options.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`,
    requests,
    /** Requests the receiver accepted (2xx). */
    accepted: () => requests.filter((r) => r.status >= 200 && r.status < 300),
    /** Requests answered so far (a slow receiver answers long after it received). */
    answered: () => answered,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A URL where nothing listens: a receiver down for good. */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/webhook`;
}
