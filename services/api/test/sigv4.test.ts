import { describe, expect, it } from 'vitest';
import { CLOUDTRAIL_TARGET_PREFIX, NodeSha256 } from '@opentrail/integrity';
import { SignatureV4 } from '@smithy/signature-v4';
import { verifySigV4, type IncomingSigned } from '../src/sigv4.js';

const SECRETS = new Map([['AKIDOPENTRAIL', 'secret-of-opentrail']]);

async function signed(secret: string, body = '{}', accessKeyId = 'AKIDOPENTRAIL'): Promise<IncomingSigned> {
  const signer = new SignatureV4({ service: 'cloudtrail', region: 'eu-west-1', credentials: { accessKeyId, secretAccessKey: secret }, sha256: NodeSha256 });
  const request = await signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: 8090,
    path: '/',
    query: {},
    headers: { host: '127.0.0.1:8090', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${CLOUDTRAIL_TARGET_PREFIX}ListPublicKeys` },
    body,
  });
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { method: 'POST', path: '/', query: {}, headers, body: Buffer.from(body) };
}

const options = { service: 'cloudtrail', maxSkewSeconds: 300 };

describe('verifySigV4', () => {
  it('accepts a request signed with a configured key and names the signed region', async () => {
    await expect(verifySigV4(await signed('secret-of-opentrail'), SECRETS, options)).resolves.toEqual({ accessKeyId: 'AKIDOPENTRAIL', region: 'eu-west-1' });
  });

  it('refuses a wrong secret, an unknown key, a changed body, no signature and an old date', async () => {
    await expect(verifySigV4(await signed('not-the-secret'), SECRETS, options)).rejects.toMatchObject({ code: 'InvalidSignatureException' });
    await expect(verifySigV4(await signed('x', '{}', 'AKIDUNKNOWN'), SECRETS, options)).rejects.toMatchObject({ code: 'UnrecognizedClientException' });
    const tampered = await signed('secret-of-opentrail', '{"StartTime":1}');
    tampered.body = Buffer.from('{"StartTime":2}');
    await expect(verifySigV4(tampered, SECRETS, options)).rejects.toMatchObject({ code: 'InvalidSignatureException' });
    const unsigned = await signed('secret-of-opentrail');
    delete unsigned.headers.authorization;
    await expect(verifySigV4(unsigned, SECRETS, options)).rejects.toMatchObject({ code: 'MissingAuthenticationTokenException' });
    await expect(verifySigV4(await signed('secret-of-opentrail'), SECRETS, { ...options, now: Date.now() + 3_600_000 })).rejects.toMatchObject({ code: 'InvalidSignatureException', message: expect.stringMatching(/^Signature expired/) });
  });

  it('refuses a signature over header names of Object.prototype as not matching (issue 19, class 1)', async () => {
    // Signed header names are lower-case letters, digits and dashes: of Object.prototype's, only this one fits.
    for (const name of ['constructor']) {
      const request = await signed('secret-of-opentrail');
      request.headers.authorization = request.headers.authorization!.replace('SignedHeaders=', `SignedHeaders=${name};`);
      await expect(verifySigV4(request, SECRETS, options)).rejects.toMatchObject({ code: 'InvalidSignatureException', message: expect.stringMatching(/^The request signature we calculated does not match/) });
    }
  });
});
