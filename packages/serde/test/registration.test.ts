import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createSchemaRegistry } from '../src/serde.js';
import { registerSubjectSchema } from '../src/registration.js';
import { SerdeError } from '../src/errors.js';

/** A registry that accepts every connection and never answers: what hung a CI run once. */
async function silentRegistry(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('registerSubjectSchema against a registry that never answers', () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => stop?.());

  it('times each request out, retries, and gives up with a retriable REGISTRY_UNAVAILABLE', async () => {
    const registry = await silentRegistry();
    stop = registry.close;
    const client = createSchemaRegistry({ url: registry.url, requestTimeoutMs: 200 });
    const started = Date.now();
    const error = await registerSubjectSchema(client, 'events.raw-value', '{"type":"string"}', { attempts: 2 }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SerdeError);
    expect((error as SerdeError).code).toBe('REGISTRY_UNAVAILABLE');
    expect((error as Error).message).toMatch(/Timeout \(200ms\)/);
    // Both attempts reached the server (each request was sent, timed out, and was not left hanging).
    expect(registry.connections()).toBeGreaterThanOrEqual(2);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
