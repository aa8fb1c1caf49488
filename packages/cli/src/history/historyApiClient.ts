import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { CloudTrailApiClient, CloudTrailApiError } from '@opentrail/integrity';

/**
 * A JSON 1.1 client of opentrail's API for the history actions: CloudTrail's LookupEvents and
 * opentrail's QueryEvents / GetResourceHistory (X-Amz-Target `OpenTrail_20261201.<Op>`), signed
 * with Signature V4 for the service `cloudtrail` as the AWS CLI signs, with credentials from the
 * AWS SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, ...).
 */
export const OPENTRAIL_TARGET_PREFIX = 'OpenTrail_20261201.';
export const CLOUDTRAIL_TARGET_PREFIX = 'CloudTrail_20131101.';

/** The API's refusal: `code` is CloudTrail's error code (`ThrottlingException`, …), `status` the HTTP status. */
export { CloudTrailApiError as HistoryApiError } from '@opentrail/integrity';

export interface HistoryApiClientOptions {
  endpoint: string;
  region: string;
  credentials?: ConstructorParameters<typeof CloudTrailApiClient>[0]['credentials'];
}

export interface HistoryPage<E> {
  Events: E[];
  NextToken?: string;
}

export class HistoryApiClient {
  // The signing and error decoding are validate-logs' CloudTrail client's; only the targets differ.
  private readonly api: CloudTrailApiClient;

  constructor(options: HistoryApiClientOptions) {
    this.api = new CloudTrailApiClient({ endpoint: options.endpoint, region: options.region, credentials: options.credentials ?? defaultProvider() });
  }

  call<T>(target: string, input: Record<string, unknown>): Promise<T> {
    return this.api.callTarget(target, input);
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
        if (err instanceof CloudTrailApiError && err.code === 'ThrottlingException' && delay < 8000) {
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
