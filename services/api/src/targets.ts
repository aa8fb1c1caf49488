/**
 * X-Amz-Target forms the API answers (cloudtrail-spec.md §5): botocore's long form
 * `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Op>` (AWS CLI, boto3), the Smithy SDKs'
 * short form `CloudTrail_20131101.<Op>` (AWS SDK for JavaScript v3, Go v2, Terraform), and
 * opentrail's own actions under `OpenTrail_20261201.<Op>` (same JSON 1.1 protocol and SigV4).
 */
export const CLOUDTRAIL_LONG_PREFIX = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.';
export const CLOUDTRAIL_SHORT_PREFIX = 'CloudTrail_20131101.';
export const OPENTRAIL_PREFIX = 'OpenTrail_20261201.';

export type Target = { api: 'cloudtrail' | 'opentrail'; operation: string } | undefined;

const OPERATION = /^[A-Za-z]{1,64}$/;

export function parseTarget(header: string): Target {
  for (const [prefix, api] of [
    [CLOUDTRAIL_LONG_PREFIX, 'cloudtrail'],
    [CLOUDTRAIL_SHORT_PREFIX, 'cloudtrail'],
    [OPENTRAIL_PREFIX, 'opentrail'],
  ] as const) {
    if (header.startsWith(prefix)) {
      const operation = header.slice(prefix.length);
      return OPERATION.test(operation) ? { api, operation } : undefined;
    }
  }
  return undefined;
}
