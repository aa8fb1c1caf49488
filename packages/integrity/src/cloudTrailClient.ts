import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, Checksum, SourceData } from '@smithy/types';
import { OpentrailError } from '@opentrail/errors';
import type { PublicKeyProvider } from './validator.js';

/** SHA-256 (and HMAC-SHA-256 with a secret) from node:crypto, in the shape @smithy/signature-v4 takes. */
export class NodeSha256 implements Checksum {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }

  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.secret));
  }

  update(data: SourceData): void {
    this.hash.update(toBuffer(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** CloudTrail's JSON 1.1 target prefix (cloudtrail-spec.md §5). */
export const CLOUDTRAIL_TARGET_PREFIX = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.';

/** An error the CloudTrail API answered: its error code (`__type`) and HTTP status. Throttling and 5xx are worth a retry. */
export class CloudTrailApiError extends OpentrailError {
  constructor(
    code: string,
    message: string,
    readonly status: number,
  ) {
    super(code, `${code}: ${message}`, { canRetry: status >= 500 || status === 429 || code === 'ThrottlingException' });
  }
}

/**
 * A small client of a CloudTrail-compatible JSON 1.1 endpoint (opentrail's API, or AWS), signed with
 * Signature Version 4 by @smithy/signature-v4: what validate-logs needs (DescribeTrails,
 * ListPublicKeys) without pulling in a whole SDK client.
 */
export class CloudTrailApiClient implements PublicKeyProvider {
  private readonly signer: SignatureV4;
  private readonly url: URL;

  constructor(options: { endpoint: string; region: string; credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider }) {
    this.url = new URL(options.endpoint);
    this.signer = new SignatureV4({ service: 'cloudtrail', region: options.region, credentials: options.credentials, sha256: NodeSha256 });
  }

  /** Calls one of CloudTrail's operations (long X-Amz-Target form, as botocore sends it). */
  call<T>(operation: string, input: Record<string, unknown>): Promise<T> {
    return this.callTarget(`${CLOUDTRAIL_TARGET_PREFIX}${operation}`, input);
  }

  /** Calls any JSON 1.1 target of the endpoint (e.g. opentrail's own `OpenTrail_20261201.QueryEvents`). */
  async callTarget<T>(target: string, input: Record<string, unknown>): Promise<T> {
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
    let json: { __type?: string; message?: string; Message?: string } & Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as typeof json) : {};
    } catch {
      throw new CloudTrailApiError('InvalidResponse', `${target} answered ${response.status} with a body that is not JSON`, response.status);
    }
    if (!response.ok) {
      const type = typeof json.__type === 'string' ? json.__type : `HTTP${response.status}`;
      throw new CloudTrailApiError(type.slice(type.lastIndexOf('#') + 1).split(':')[0]!, json.message ?? json.Message ?? text, response.status);
    }
    return json as T;
  }

  async describeTrails(): Promise<{ trailList: { Name: string; TrailARN: string; S3BucketName: string; S3KeyPrefix?: string; IsOrganizationTrail?: boolean; HomeRegion: string }[] }> {
    return this.call('DescribeTrails', {});
  }

  async getPublicKeys(startMs: number, endMs: number): Promise<Map<string, string>> {
    const keys = new Map<string, string>();
    let token: string | undefined;
    do {
      const page = await this.call<{ PublicKeyList?: { Fingerprint: string; Value: string }[]; NextToken?: string }>('ListPublicKeys', {
        StartTime: Math.floor(startMs / 1000),
        EndTime: Math.floor(endMs / 1000),
        ...(token ? { NextToken: token } : {}),
      });
      for (const k of page.PublicKeyList ?? []) keys.set(k.Fingerprint, k.Value);
      token = page.NextToken;
    } while (token);
    return keys;
  }
}
