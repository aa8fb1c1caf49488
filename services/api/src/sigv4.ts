import { timingSafeEqual } from 'node:crypto';
import { NodeSha256, sha256Hex } from '@opentrail/integrity';
import { SignatureV4 } from '@smithy/signature-v4';
import { OpentrailError } from '@opentrail/errors';

/**
 * AWS Signature Version 4 verification: the signature is recomputed with @smithy/signature-v4 (the
 * signer of the AWS SDK for JavaScript) over exactly the headers the client signed, with the secret
 * of the access key it names, and compared in constant time. Failures carry CloudTrail's error codes.
 */
export class AuthError extends OpentrailError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

export interface IncomingSigned {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: Buffer;
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;

export interface Authenticated {
  accessKeyId: string;
  /** The region the client signed for: the region it called. */
  region: string;
}

function amzDate(s: string | undefined): Date | undefined {
  const m = s && /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))) : undefined;
}

export async function verifySigV4(req: IncomingSigned, secrets: Map<string, string>, options: { service: string; maxSkewSeconds: number; now?: number }): Promise<Authenticated> {
  const authorization = req.headers.authorization;
  if (!authorization) throw new AuthError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const m = AUTH.exec(authorization.trim());
  if (!m) throw new AuthError('IncompleteSignatureException', `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters (AWS4-HMAC-SHA256).`);
  const [, accessKeyId, scopeDate, region, service, signedHeaderList, signature] = m as unknown as [string, string, string, string, string, string, string];
  const secret = secrets.get(accessKeyId);
  if (secret === undefined) throw new AuthError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (req.headers['x-amz-security-token'] !== undefined) throw new AuthError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (service !== options.service) throw new AuthError('InvalidSignatureException', `Credential should be scoped to correct service: '${options.service}'.`);
  const signedHeaders = signedHeaderList.split(';');
  if (!signedHeaders.includes('host')) throw new AuthError('InvalidSignatureException', `'Host' must be a 'SignedHeader' in the AWS Authorization.`);
  const date = amzDate(req.headers['x-amz-date']);
  if (!date || !signedHeaders.includes('x-amz-date')) throw new AuthError('IncompleteSignatureException', `Authorization header requires existence of a valid 'X-Amz-Date' header.`);
  if (req.headers['x-amz-date']!.slice(0, 8) !== scopeDate) throw new AuthError('InvalidSignatureException', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${req.headers['x-amz-date']!.slice(0, 8)}'`);
  const now = options.now ?? Date.now();
  if (Math.abs(now - date.getTime()) > options.maxSkewSeconds * 1000) {
    throw new AuthError('InvalidSignatureException', `Signature expired: ${req.headers['x-amz-date']} is now earlier than ${new Date(now - options.maxSkewSeconds * 1000).toISOString().replace(/[-:]|\.\d{3}/g, '')} (${new Date(now).toISOString().replace(/[-:]|\.\d{3}/g, '')} - ${options.maxSkewSeconds / 60} min.)`);
  }
  // A claimed payload hash must be the body's: otherwise a signature would cover a hash, not the body.
  const claimed = req.headers['x-amz-content-sha256'];
  if (claimed !== undefined && claimed !== 'UNSIGNED-PAYLOAD' && claimed !== sha256Hex(req.body)) throw new AuthError('InvalidSignatureException', 'The provided x-amz-content-sha256 header does not match what was computed.');

  // Header names come from the client: only the request's own headers count (never Object.prototype's 'constructor').
  const headers = Object.create(null) as Record<string, string>;
  for (const name of signedHeaders) {
    const value = Object.hasOwn(req.headers, name) ? req.headers[name] : undefined;
    if (value === undefined) throw new AuthError('InvalidSignatureException', `The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.`);
    headers[name] = value;
  }
  const [hostname, port] = (headers.host ?? '').split(':');
  // applyChecksum off: the signer would otherwise add (and sign) an x-amz-content-sha256 header the
  // client may not have sent; the signed headers must be exactly the client's.
  const signer = new SignatureV4({ service, region, credentials: { accessKeyId, secretAccessKey: secret }, sha256: NodeSha256, applyChecksum: false });
  const signed = await signer.sign(
    { method: req.method, protocol: 'http:', hostname: hostname ?? '', ...(port ? { port: Number(port) } : {}), path: req.path, query: req.query, headers, body: req.body.toString('utf8') },
    { signingDate: date, signingRegion: region, signingService: service, signableHeaders: new Set(signedHeaders) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? signed.headers.Authorization))?.[1] ?? '';
  if (expected.length !== signature.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
    throw new AuthError('InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.');
  }
  return { accessKeyId, region };
}
