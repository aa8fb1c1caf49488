import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * A command's arguments through node's parseArgs, with the answers every command gives alike:
 * `--help` prints the help (exit 0), a command line parseArgs refuses prints why and the help
 * (exit 2). Returns the parsed values, or the exit code to return at once.
 */
export function parseCommandLine<T extends ParseArgsConfig>(config: T, help: string): ReturnType<typeof parseArgs<T>> | number {
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(config);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${help}`);
    return 2;
  }
  if ((parsed.values as { help?: unknown }).help) {
    process.stdout.write(help);
    return 0;
  }
  return parsed;
}
