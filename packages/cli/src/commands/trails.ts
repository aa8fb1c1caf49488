import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { CLOUDTRAIL_TARGET_PREFIX, CloudTrailApiClient, CloudTrailApiError } from '@opentrail/integrity';
import { UsageError } from '../history/arguments.js';
import { HELP, parseTrailsArguments } from '../trails/trailArguments.js';
import { printable, render } from '../trails/trailOutput.js';

/**
 * `opentrail trails create|update|delete|start|stop|status|list`: CloudTrail's trail operations,
 * signed and sent by the CloudTrail client validate-logs and the history commands use
 * (CloudTrailApiClient.callTarget of @opentrail/integrity).
 */
export async function trailsCommand(argv: string[], credentials?: ConstructorParameters<typeof CloudTrailApiClient>[0]['credentials']): Promise<number> {
  let invocation;
  try {
    invocation = parseTrailsArguments(argv);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      const sub = argv[0] && Object.hasOwn(HELP, argv[0]) ? (argv[0] as keyof typeof HELP) : 'trails';
      process.stderr.write(`opentrail trails${sub === 'trails' ? '' : ` ${sub}`}: ${(err as Error).message}\n\n${HELP[sub]}`);
      return 2;
    }
    throw err;
  }
  if (invocation.kind === 'help') {
    process.stdout.write(invocation.text);
    return 0;
  }
  const client = new CloudTrailApiClient({ ...invocation.target, credentials: credentials ?? defaultProvider() });
  try {
    const output = await client.callTarget(`${CLOUDTRAIL_TARGET_PREFIX}${invocation.operation}`, invocation.input);
    process.stdout.write(render(invocation.subcommand, invocation.input, output, invocation.format));
    return 0;
  } catch (err) {
    if (err instanceof CloudTrailApiError) {
      // The API's code and message (CloudTrailApiError's message is `<code>: <message>`).
      process.stderr.write(`opentrail trails ${invocation.subcommand}: ${printable(err.message)}\n`);
      return 1;
    }
    throw err;
  }
}
