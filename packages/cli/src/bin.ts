#!/usr/bin/env -S node --import tsx
/**
 * The `opentrail` command. `npm start` runs `opentrail demo`; `npm run produce -- --rate 100`
 * runs `opentrail produce`; `npm run opentrail -- <command> --help` for the others.
 */
import { commands } from './commands/index.js';

const [name, ...argv] = process.argv.slice(2);
const command = name ? commands[name] : undefined;
if (!command) {
  process.stderr.write(`usage: opentrail <command> [options]\n\ncommands:\n${Object.entries(commands).map(([n, c]) => `  ${n.padEnd(16)}${c.summary}`).join('\n')}\n`);
  process.exit(name ? 2 : 0);
}
command.run(argv).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`opentrail ${name}: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
