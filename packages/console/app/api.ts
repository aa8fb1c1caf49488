import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * The console's calls to the API it is served by (same origin, so no CORS): CloudTrail's
 * operations through the AWS SDK for JavaScript v3, opentrail's own actions (QueryEvents,
 * GetResourceHistory, ListRecentAlerts, GetActivitySummary) signed here with the SDK's SigV4
 * signer. The credentials are the user's, kept in sessionStorage only: gone with the tab.
 */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

const STORAGE_KEY = 'opentrail.console.credentials';
const OPENTRAIL_TARGET = 'OpenTrail_20261201.';

export function loadCredentials(): Credentials | undefined {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return undefined;
    const c = JSON.parse(raw) as Partial<Credentials>;
    return typeof c.accessKeyId === 'string' && typeof c.secretAccessKey === 'string' && typeof c.region === 'string' ? { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, region: c.region } : undefined;
  } catch {
    return undefined;
  }
}

export function saveCredentials(c: Credentials | undefined): void {
  if (c) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(c));
  else sessionStorage.removeItem(STORAGE_KEY);
}

/** An error the API answered (`__type` and message), or a failure to reach it. */
export class ApiCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export function errorText(err: unknown): string {
  if (err instanceof ApiCallError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

export class ApiClient {
  readonly cloudTrail: CloudTrailClient;
  private readonly signer: SignatureV4;

  constructor(readonly credentials: Credentials) {
    const { accessKeyId, secretAccessKey, region } = credentials;
    this.cloudTrail = new CloudTrailClient({ endpoint: window.location.origin, region, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 3 });
    this.signer = new SignatureV4({ service: 'cloudtrail', region, credentials: { accessKeyId, secretAccessKey }, sha256: Sha256 });
  }

  /** A CloudTrail operation through the SDK, its errors as ApiCallError. */
  async send<T = unknown>(command: object): Promise<T> {
    try {
      // Each command's own input and output types are the caller's; the client's send() is overloaded per command.
      return (await this.cloudTrail.send(command as never)) as T;
    } catch (err) {
      const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      throw new ApiCallError(e.name ?? 'Error', e.message ?? String(err), e.$metadata?.httpStatusCode);
    }
  }

  /** One of opentrail's actions: `POST /` with `X-Amz-Target: OpenTrail_20261201.<operation>`, SigV4-signed. */
  async opentrail<T>(operation: string, input: Record<string, unknown>): Promise<T> {
    const url = new URL('/', window.location.origin);
    const body = JSON.stringify(input);
    const signed = await this.signer.sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: '/',
      query: {},
      headers: { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${OPENTRAIL_TARGET}${operation}` },
      body,
    });
    const headers = new Headers();
    // The browser sets Host itself (to the same value, the page's origin).
    for (const [name, value] of Object.entries(signed.headers)) if (name.toLowerCase() !== 'host') headers.set(name, value);
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers, body, credentials: 'omit', cache: 'no-store' });
    } catch (err) {
      throw new ApiCallError('NetworkError', (err as Error).message);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      throw new ApiCallError('SerializationException', `the API answered ${response.status} with a body that is not JSON`, response.status);
    }
    if (!response.ok) {
      const e = (parsed ?? {}) as { __type?: unknown; message?: unknown; Message?: unknown };
      const code = typeof e.__type === 'string' ? e.__type.replace(/^.*#/, '') : `HTTP ${response.status}`;
      throw new ApiCallError(code, typeof e.message === 'string' ? e.message : typeof e.Message === 'string' ? e.Message : '', response.status);
    }
    return parsed as T;
  }
}
