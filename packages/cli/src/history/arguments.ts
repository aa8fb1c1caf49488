import { OpentrailError } from '@opentrail/errors';
/** Options the history commands share: where the API is, how much to fetch, how to print. */
export class UsageError extends OpentrailError<'USAGE'> {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** A time as the AWS CLI takes it: ISO-8601, UTC unless it says otherwise; or epoch seconds. Returns epoch seconds. */
export function timeArgument(text: string, option: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const withZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(t) || !/\d{2}:\d{2}/.test(t) ? t : `${t}Z`;
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(withZone) ? `${withZone}T00:00:00Z` : withZone);
  if (!Number.isFinite(ms)) throw new UsageError(`${option}: cannot read ${JSON.stringify(text)} as a time`);
  return ms / 1000;
}

export function maxItems(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError('--max-items must be a positive integer');
  return n;
}

export function outputFormat(text: string | undefined): 'table' | 'json' {
  if (text === undefined || text === 'table' || text === 'json') return text ?? 'table';
  throw new UsageError('--output must be table or json');
}

export function apiTarget(values: { region?: string | undefined; 'endpoint-url'?: string | undefined }): { endpoint: string; region: string } {
  return {
    endpoint: values['endpoint-url'] ?? process.env.OPENTRAIL_API_URL ?? 'http://127.0.0.1:8090',
    region: values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
  };
}
