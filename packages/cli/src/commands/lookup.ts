import { parseArgs } from 'node:util';
import { HistoryApiClient } from '../history/historyApiClient.js';
import { eventJson, eventTable, type PrintedEvent } from '../history/eventTable.js';
import { apiTarget, HISTORY_OPTIONS, historyCommand, maxItems, outputFormat, timeRange, UsageError } from '../history/arguments.js';

const HELP = `usage: opentrail lookup [filters] [--start-time TIME] [--end-time TIME] [--max-items N]
                        [--output table|json] [--region REGION] [--endpoint-url URL]

Finds recorded API calls in the event history: every filter given must hold (opentrail's
QueryEvents; \`aws cloudtrail lookup-events\` takes one attribute only). Newest first.

  --username NAME          who (user name, role session name, root)
  --event-name NAME        e.g. RunInstances
  --event-source SOURCE    e.g. ec2.amazonaws.com
  --event-id ID
  --access-key-id KEY
  --resource-name NAME     an ARN or a plain name/id (bucket, instance id, role name...)
  --resource-type TYPE     e.g. AWS::S3::Bucket
  --source-ip IP|CIDR      an address, a CIDR block (10.0.0.0/8) or a service name
  --error-code CODE        e.g. AccessDenied
  --access-denied          only calls refused for lack of permission (AccessDenied and its kin)
  --read-only | --writes   only read-only calls, or only calls that may change something
  --account-id ID
  --insights               Insights events instead of API calls
  --start-time TIME        ISO-8601 (UTC unless it says otherwise); default 90 days ago
  --end-time TIME          default now
  --max-items N            at most N events (default 50)
  --output table|json      default table
  --region REGION          the region whose events are searched (default AWS_REGION, else us-east-1)
  --endpoint-url URL       the API (default OPENTRAIL_API_URL, else http://127.0.0.1:8090)

Requests are signed with Signature V4 like the AWS CLI's, with credentials from AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY (or a profile).
`;

const TEXT_FILTERS = {
  username: 'Username',
  'event-name': 'EventName',
  'event-source': 'EventSource',
  'event-id': 'EventId',
  'access-key-id': 'AccessKeyId',
  'resource-name': 'ResourceName',
  'resource-type': 'ResourceType',
  'source-ip': 'SourceIPAddress',
  'error-code': 'ErrorCode',
  'account-id': 'AccountId',
} as const;

export async function lookupCommand(argv: string[]): Promise<number> {
  return historyCommand('lookup', HELP, async () => {
    const { values } = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(Object.keys(TEXT_FILTERS).map((k) => [k, { type: 'string' as const }])),
        'access-denied': { type: 'boolean' },
        'read-only': { type: 'boolean' },
        writes: { type: 'boolean' },
        insights: { type: 'boolean' },
        ...HISTORY_OPTIONS,
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (values['read-only'] && values.writes) throw new UsageError('--read-only and --writes exclude each other');
    const input: Record<string, unknown> = { ...timeRange(values) };
    for (const [option, member] of Object.entries(TEXT_FILTERS)) {
      const value = (values as Record<string, unknown>)[option];
      if (typeof value === 'string') input[member] = value;
    }
    if (values['access-denied']) input.AccessDenied = true;
    if (values['read-only']) input.ReadOnly = true;
    if (values.writes) input.ReadOnly = false;
    if (values.insights) input.EventCategory = 'insight';
    const format = outputFormat(values.output);
    const client = new HistoryApiClient(apiTarget(values));
    const events = await client.collect<PrintedEvent>((i) => client.queryEvents(i), input, maxItems(values['max-items'], 50));
    process.stdout.write(format === 'json' ? eventJson(events) : eventTable(events));
    return 0;
  });
}
