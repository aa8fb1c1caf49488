import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger, ServiceMetrics } from '@opentrail/observability';
import type { ConsoleAssets } from './consoleAssets.js';
import { AuditRecordError, type AuditTrail } from './auditTrail.js';
import { actionOf, resourceOf, type Authorizer, type CallerIdentity } from './authorization.js';
import { ApiError, type Operations } from './operations.js';
import { AuthError, verifySigV4 } from './sigv4.js';
import { parseTarget, type Target } from './targets.js';

/**
 * The JSON 1.1 front (cloudtrail-spec.md §5): `POST /` with `X-Amz-Target` (targets.ts), SigV4-authenticated,
 * errors as `{"__type", "message"}` with the status CloudTrail uses, an `x-amzn-RequestId` on
 * every answer.
 */
export interface ApiServerOptions {
  port: number;
  host: string;
  /** Access keys, their principals and policies (authorization.ts). */
  authorizer: Authorizer;
  /** Where each authenticated call is recorded (auditTrail.ts); without one, calls are not recorded. */
  audit?: AuditTrail | undefined;
  maxClockSkewSeconds: number;
  maxBodyBytes: number;
  operations: Operations;
  logger: Logger;
  metrics: ServiceMetrics;
  /** The web console's files under /console (consoleAssets.ts), when served. */
  console?: ConsoleAssets;
}

export class ApiServer {
  private server: Server | undefined;
  private readonly m;

  constructor(private readonly o: ApiServerOptions) {
    this.m = {
      requests: o.metrics.counter('requests_total', 'API requests, by operation and outcome (the error code, or ok)', ['operation', 'outcome']),
      authFailures: o.metrics.counter('auth_failures_total', 'Requests refused by authentication, by error code', ['code']),
      seconds: o.metrics.histogram('request_duration_seconds', 'Time to answer one API request', ['operation'], [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]),
    };
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | undefined;
    return `http://127.0.0.1:${address?.port ?? 0}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch((err: unknown) => {
        this.o.logger.error({ err }, 'API request failed');
        if (!res.headersSent) this.send(res, randomUUID(), 500, { __type: 'InternalFailure', message: 'internal error' });
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.o.port, this.o.host, () => resolve());
    });
  }

  private send(res: ServerResponse, requestId: string, status: number, body: unknown) {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': requestId });
    res.end(text);
  }

  private async readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > this.o.maxBodyBytes) throw new ApiError('SerializationException', `request body larger than ${this.o.maxBodyBytes} bytes`, 413);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    if (this.o.console?.matches(path)) return this.o.console.serve(req, res, path);
    const requestId = randomUUID();
    const started = process.hrtime.bigint();
    const target = String(req.headers['x-amz-target'] ?? '');
    const parsed = parseTarget(target);
    const operation = parsed?.operation ?? 'unknown';
    const fail = (err: ApiError | AuthError, status: number) => {
      this.m.requests.inc({ operation, outcome: err.code });
      this.send(res, requestId, status, { __type: err.code, message: err.message });
    };
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const body = await this.readBody(req);
      if (req.method !== 'POST' || url.pathname !== '/') throw new ApiError('UnknownOperationException', 'CloudTrail operations are POST / with X-Amz-Target', 404);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
      const query: Record<string, string | string[]> = {};
      for (const [k, v] of url.searchParams) query[k] = k in query ? [...[query[k]!].flat(), v] : v;
      let caller: CallerIdentity;
      try {
        const auth = await verifySigV4({ method: req.method, path: url.pathname, query, headers, body }, this.o.authorizer.secrets, { service: 'cloudtrail', maxSkewSeconds: this.o.maxClockSkewSeconds });
        caller = this.o.authorizer.identify(auth.accessKeyId, auth.region);
      } catch (err) {
        if (!(err instanceof AuthError)) throw err;
        this.m.authFailures.inc({ code: err.code });
        this.o.logger.info({ code: err.code, requestId, remote: req.socket.remoteAddress }, 'request refused');
        return fail(err, 403);
      }
      // A target that names no operation has no event name: such a call is refused, not recorded.
      if (!parsed) throw new ApiError('UnknownOperationException', `unknown X-Amz-Target: ${target.slice(0, 200)}`);
      const output = await this.call(parsed, body, caller, req, requestId);
      this.m.requests.inc({ operation, outcome: 'ok' });
      this.send(res, requestId, 200, output);
    } catch (err) {
      if (err instanceof ApiError) return fail(err, err.status);
      throw err;
    } finally {
      this.m.seconds.observe({ operation }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /**
   * One authenticated call: the body read as a JSON object, the caller's policy asked, the
   * operation run, and the call recorded whatever its outcome (auditTrail.ts). Throws the
   * operation's ApiError (after recording it).
   */
  private async call(target: NonNullable<Target>, body: Buffer, caller: CallerIdentity, req: IncomingMessage, requestId: string): Promise<unknown> {
    let input: Record<string, unknown> | null = null;
    let output: unknown;
    let failure: unknown;
    try {
      try {
        const parsed: unknown = body.length ? JSON.parse(body.toString('utf8')) : {};
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        input = parsed as Record<string, unknown>;
      } catch {
        throw new ApiError('SerializationException', 'the request body is not a JSON object');
      }
      this.o.authorizer.authorize(caller, actionOf(target), resourceOf(input, caller));
      output = await this.o.operations.run(target, input, caller);
    } catch (err) {
      failure = err;
    }
    if (this.o.audit) {
      // CloudTrail records an IAM refusal as AccessDenied whatever the API's exception is called.
      const error = failure instanceof ApiError ? { code: failure.code === 'AccessDeniedException' ? 'AccessDenied' : failure.code, message: failure.message } : failure !== undefined ? { code: 'InternalFailure', message: 'internal error' } : undefined;
      const userAgent = req.headers['user-agent'];
      try {
        await this.o.audit.record({
          caller,
          operation: target.operation,
          requestId,
          sourceIPAddress: (req.socket.remoteAddress ?? 'unknown').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, ''),
          userAgent,
          input,
          output,
          error,
        });
      } catch (err) {
        if (!(err instanceof AuditRecordError)) throw err;
        // The change is made but not on record: the client must not take it for a recorded success.
        if (failure === undefined) throw new ApiError('InternalFailure', 'The request was processed but its audit record could not be written; see the API log.', 500);
      }
    }
    if (failure !== undefined) throw failure instanceof Error ? failure : new Error('operation failed with a non-Error value');
    return output;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
