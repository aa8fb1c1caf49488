import { parseArgs } from 'node:util';
import { HistoryApiClient } from '../history/historyApiClient.js';
import { eventJson, eventTable, type PrintedEvent } from '../history/eventTable.js';
import { apiTarget, HISTORY_OPTIONS, historyCommand, maxItems, outputFormat, timeRange, UsageError } from '../history/arguments.js';

const HELP = `usage: opentrail resource-history RESOURCE [--type TYPE] [--last] [--include-failed]
                                  [--start-time TIME] [--end-time TIME] [--max-items N]
                                  [--output table|json] [--region REGION] [--endpoint-url URL]

Every change to one resource (the calls that are not read-only), newest first: who, when, from
where (opentrail's GetResourceHistory). RESOURCE is an ARN or a plain name or id (a bucket name,
i-0abc..., sg-0abc..., a role name).

  --type TYPE          only where the resource has this type (e.g. AWS::EC2::SecurityGroup)
  --last               only the last change
  --include-failed     also calls that failed (they changed nothing)
  --start-time TIME    ISO-8601 (UTC unless it says otherwise); default 90 days ago
  --end-time TIME      default now
  --max-items N        at most N changes (default 50)
  --output table|json  default table
  --region REGION      default AWS_REGION, else us-east-1
  --endpoint-url URL   default OPENTRAIL_API_URL, else http://127.0.0.1:8090
`;

export async function resourceHistoryCommand(argv: string[]): Promise<number> {
  return historyCommand('resource-history', HELP, async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        type: { type: 'string' },
        last: { type: 'boolean' },
        'include-failed': { type: 'boolean' },
        ...HISTORY_OPTIONS,
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('name exactly one resource');
    const input: Record<string, unknown> = { ResourceName: positionals[0], ...timeRange(values) };
    if (values.type) input.ResourceType = values.type;
    if (values['include-failed']) input.IncludeFailed = true;
    const format = outputFormat(values.output);
    const client = new HistoryApiClient(apiTarget(values));
    const events = await client.collect<PrintedEvent>((i) => client.resourceHistory(i), input, values.last ? 1 : maxItems(values['max-items'], 50));
    process.stdout.write(format === 'json' ? eventJson(events) : eventTable(events));
    return 0;
  });
}
