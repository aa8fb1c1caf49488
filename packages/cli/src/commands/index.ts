import { decrypt } from './decrypt.js';
import { demo } from './demo.js';
import { produce } from './produce.js';

export interface Command {
  summary: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

export const commands: Record<string, Command> = {
  decrypt,
  demo,
  produce,
  lookup: { summary: 'find recorded API calls by any combination of filters (event history)', run: async (argv) => (await import('./lookup.js')).lookupCommand(argv) },
  'resource-history': { summary: 'every change to one resource, newest first; --last for the last one', run: async (argv) => (await import('./resource-history.js')).resourceHistoryCommand(argv) },
  query: { summary: 'run a CloudTrail Lake SQL query over an event data store, with progress; table, JSON or CSV', run: async (argv) => (await import('./query.js')).queryCommand(argv) },
  trails: { summary: 'create, change, start, stop and list trails (CloudTrail API); trails --help', run: async (argv) => (await import('./trails.js')).trailsCommand(argv) },
  'validate-logs': { summary: 'validate digest and log files of a trail (as aws cloudtrail validate-logs)', run: async (argv) => (await import('./validate-logs.js')).validateLogsCommand(argv) },
};
