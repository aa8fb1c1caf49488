import { parseArgs } from 'node:util';
import { HistoryApiClient } from '../history/historyApiClient.js';
import { apiTarget, historyCommand, UsageError } from '../history/arguments.js';

const HELP = `usage: opentrail query "SELECT ... FROM <event data store ID> ..." [--parameter VALUE ...]
                       [--output table|json|csv] [--max-rows N] [--region REGION] [--endpoint-url URL]

Runs a CloudTrail Lake query (StartQuery), shows its progress while it runs (DescribeQuery), and
prints its rows (GetQueryResults, every page). The SQL is CloudTrail Lake's: Trino's SELECT with an
event data store's ID in FROM; \`?\` markers take the --parameter values, in order.

  --parameter VALUE        a QueryParameters value (repeat for several)
  --delivery-s3-uri URI    also deliver the results to S3 (s3://bucket/prefix)
  --output table|json|csv  default table
  --max-rows N             print at most N rows (default: all)
  --region REGION          default AWS_REGION, else us-east-1
  --endpoint-url URL       the API (default OPENTRAIL_API_URL, else http://127.0.0.1:8090)

Progress goes to stderr, rows to stdout. Ctrl-C cancels the query (CancelQuery).
`;

interface DescribeQuery {
  QueryStatus: string;
  ErrorMessage?: string;
  QueryStatistics?: { EventsScanned?: number; BytesScanned?: number; ExecutionTimeInMillis?: number; EventsMatched?: number };
}
interface ResultsPage {
  QueryStatus: string;
  QueryResultRows?: Record<string, string | null>[][];
  NextToken?: string;
  ErrorMessage?: string;
}

const FINAL = new Set(['FINISHED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);

export async function queryCommand(argv: string[]): Promise<number> {
  return historyCommand('query', HELP, async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        parameter: { type: 'string', multiple: true },
        'delivery-s3-uri': { type: 'string' },
        output: { type: 'string' },
        'max-rows': { type: 'string' },
        region: { type: 'string' },
        'endpoint-url': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('give the query as one argument (quote it)');
    const format = values.output ?? 'table';
    if (format !== 'table' && format !== 'json' && format !== 'csv') throw new UsageError('--output must be table, json or csv');
    const maxRows = values['max-rows'] === undefined ? Infinity : Number(values['max-rows']);
    if (!Number.isSafeInteger(maxRows) && maxRows !== Infinity) throw new UsageError('--max-rows must be a whole number');

    const client = new HistoryApiClient(apiTarget(values));
    const call = <T>(op: string, input: Record<string, unknown>) => client.call<T>(`CloudTrail_20131101.${op}`, input);
    const { QueryId } = await call<{ QueryId: string }>('StartQuery', {
      QueryStatement: positionals[0],
      ...(values.parameter?.length ? { QueryParameters: values.parameter } : {}),
      ...(values['delivery-s3-uri'] ? { DeliveryS3Uri: values['delivery-s3-uri'] } : {}),
    });
    const cancel = () => {
      void call('CancelQuery', { QueryId }).finally(() => process.exit(130));
    };
    process.once('SIGINT', cancel);
    try {
      let described: DescribeQuery;
      const started = Date.now();
      for (let delay = 200; ; delay = Math.min(2000, delay * 1.5)) {
        described = await call<DescribeQuery>('DescribeQuery', { QueryId });
        const s = described.QueryStatistics ?? {};
        if (process.stderr.isTTY) process.stderr.write(`\r${QueryId} ${described.QueryStatus} ${((Date.now() - started) / 1000).toFixed(1)} s, ${s.EventsScanned ?? 0} events scanned, ${s.BytesScanned ?? 0} bytes `);
        if (FINAL.has(described.QueryStatus)) break;
        await new Promise((r) => setTimeout(r, delay));
      }
      if (process.stderr.isTTY) process.stderr.write('\n');
      if (described.QueryStatus !== 'FINISHED') {
        process.stderr.write(`query ${QueryId} ${described.QueryStatus}${described.ErrorMessage ? `: ${described.ErrorMessage}` : ''}\n`);
        return 1;
      }
      const rows: [string, string | null][][] = [];
      let token: string | undefined;
      do {
        const page = await call<ResultsPage>('GetQueryResults', { QueryId, MaxQueryResults: 1000, ...(token ? { NextToken: token } : {}) });
        for (const row of page.QueryResultRows ?? []) {
          if (rows.length >= maxRows) break;
          rows.push(row.map((cell) => Object.entries(cell)[0] ?? ['', null]));
        }
        token = rows.length < maxRows ? page.NextToken : undefined;
      } while (token);
      process.stdout.write(format === 'json' ? json(rows) : format === 'csv' ? csv(rows) : table(rows));
      const s = described.QueryStatistics ?? {};
      process.stderr.write(`${rows.length} rows; ${s.EventsScanned ?? 0} events and ${s.BytesScanned ?? 0} bytes scanned in ${s.ExecutionTimeInMillis ?? 0} ms (query ${QueryId})\n`);
      return 0;
    } finally {
      process.removeListener('SIGINT', cancel);
    }
  });
}

const columnsOf = (rows: [string, string | null][][]) => rows[0]?.map(([c]) => c) ?? [];

function json(rows: [string, string | null][][]): string {
  return `${JSON.stringify(rows.map((row) => Object.fromEntries(row)), null, 2)}\n`;
}

function csvField(value: string | null): string {
  if (value === null) return '';
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function csv(rows: [string, string | null][][]): string {
  const columns = columnsOf(rows);
  return [columns.map(csvField).join(','), ...rows.map((row) => row.map(([, v]) => csvField(v)).join(','))].join('\n') + '\n';
}

/** Control characters shown escaped: a value can never move the terminal's cursor or colour it. */
function cell(value: string | null): string {
  if (value === null) return 'NULL';
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function table(rows: [string, string | null][][]): string {
  const columns = columnsOf(rows);
  if (columns.length === 0) return '(no rows)\n';
  const cells = rows.map((row) => row.map(([, v]) => cell(v)));
  const widths = columns.map((c, i) => Math.min(80, Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length))));
  const line = (values: string[]) => values.map((v, i) => (v.length > widths[i]! ? `${v.slice(0, widths[i]! - 1)}…` : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}
