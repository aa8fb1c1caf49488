import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { NodeSha256 } from '@opentrail/integrity';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * A JSON 1.1 client of opentrail's API for the history actions: CloudTrail's LookupEvents and
 * opentrail's QueryEvents / GetResourceHistory (X-Amz-Target `OpenTrail_20261201.<Op>`), signed
 * with Signature V4 for the service `cloudtrail` as the AWS CLI signs, with credentials from the
 * AWS SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, ...).
 */
export const OPENTRAIL_TARGET_PREFIX = 'OpenTrail_20261201.';
export const CLOUDTRAIL_TARGET_PREFIX = 'CloudTrail_20131101.';

export class HistoryApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(`${code}: ${message}`);
  }
}

export interface HistoryApiClientOptions {
  endpoint: string;
  region: string;
  credentials?: ConstructorParameters<typeof SignatureV4>[0]['credentials'];
}

export interface HistoryPage<E> {
  Events: E[];
  NextToken?: string;
}

export class HistoryApiClient {
  private readonly signer: SignatureV4;
  private readonly url: URL;

  constructor(options: HistoryApiClientOptions) {
    this.url = new URL(options.endpoint);
    this.signer = new SignatureV4({ service: 'cloudtrail', region: options.region, credentials: options.credentials ?? defaultProvider(), sha256: NodeSha256 });
  }

  async call<T>(target: string, input: Record<string, unknown>): Promise<T> {
    const body = JSON.stringify(input);
    const signed = await this.signer.sign({
      method: 'POST',
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      ...(this.url.port ? { port: Number(this.url.port) } : {}),
      path: this.url.pathname || '/',
      query: {},
      headers: { host: this.url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target },
      body,
    });
    const response = await fetch(this.url, { method: 'POST', headers: signed.headers, body });
    const text = await response.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      throw new HistoryApiError('InvalidResponse', `answered ${response.status} with a body that is not JSON`, response.status);
    }
    if (!response.ok) {
      const type = typeof json.__type === 'string' ? json.__type : `HTTP${response.status}`;
      const message = typeof json.message === 'string' ? json.message : typeof json.Message === 'string' ? json.Message : text;
      throw new HistoryApiError(type.slice(type.lastIndexOf('#') + 1).split(':')[0]!, message, response.status);
    }
    return json as T;
  }

  lookupEvents<E>(input: Record<string, unknown>): Promise<HistoryPage<E>> {
    return this.call(`${CLOUDTRAIL_TARGET_PREFIX}LookupEvents`, input);
  }

  queryEvents<E>(input: Record<string, unknown>): Promise<HistoryPage<E>> {
    return this.call(`${OPENTRAIL_TARGET_PREFIX}QueryEvents`, input);
  }

  resourceHistory<E>(input: Record<string, unknown>): Promise<HistoryPage<E>> {
    return this.call(`${OPENTRAIL_TARGET_PREFIX}GetResourceHistory`, input);
  }

  /** Follows NextToken until `maxItems` events (or the end), waiting out ThrottlingException as the AWS CLI does. */
  async collect<E>(page: (input: Record<string, unknown>) => Promise<HistoryPage<E>>, input: Record<string, unknown>, maxItems: number): Promise<E[]> {
    const events: E[] = [];
    let token: string | undefined;
    let delay = 250;
    do {
      let result: HistoryPage<E>;
      try {
        result = await page({ ...input, MaxResults: Math.min(50, maxItems - events.length), ...(token ? { NextToken: token } : {}) });
      } catch (err) {
        if (err instanceof HistoryApiError && err.code === 'ThrottlingException' && delay < 8000) {
          await new Promise((r) => setTimeout(r, delay));
          delay *= 2;
          continue;
        }
        throw err;
      }
      delay = 250;
      events.push(...result.Events);
      token = result.NextToken;
    } while (token && events.length < maxItems);
    return events;
  }
}
