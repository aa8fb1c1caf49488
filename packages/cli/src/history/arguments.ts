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

/** The options every history command takes: the time range, how many, how to print, where the API is. */
export const HISTORY_OPTIONS = {
  'start-time': { type: 'string' },
  'end-time': { type: 'string' },
  'max-items': { type: 'string' },
  output: { type: 'string' },
  region: { type: 'string' },
  'endpoint-url': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** StartTime / EndTime of a history request, from --start-time / --end-time. */
export function timeRange(values: { 'start-time'?: string | undefined; 'end-time'?: string | undefined }): { StartTime?: number; EndTime?: number } {
  return {
    ...(values['start-time'] ? { StartTime: timeArgument(values['start-time'], '--start-time') } : {}),
    ...(values['end-time'] ? { EndTime: timeArgument(values['end-time'], '--end-time') } : {}),
  };
}

/**
 * Runs a history command: a usage error (ours or parseArgs') prints the message and the help and
 * exits 2; anything else is the caller's to report.
 */
export async function historyCommand(command: string, help: string, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`opentrail ${command}: ${(err as Error).message}\n\n${help}`);
      return 2;
    }
    throw err;
  }
}
