/**
 * `npm run bench`: runs every bench/*.bench.ts, one after another (they share the machine and the
 * stack; in parallel they would measure each other), each in its own process. Arguments filter by
 * name: `npm run bench -- runtime enricher`. When no stack is named in the environment, one is
 * started here once and shared by all, instead of one per benchmark.
 *
 * `npm run bench -- compare [--base 9a21ffc] [--benches a,b] [--rounds 2]`: every bench's figures
 * before and after a change instead (compare.ts).
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { endpointsFromEnv, endpointsToEnv, givenEndpoints, startStack, type Stack } from '@opentrail/stack';

const dir = fileURLToPath(new URL('.', import.meta.url));
if (process.argv[2] === 'compare') {
  const child = spawn(process.execPath, ['--import', 'tsx', join(dir, 'compare.ts'), ...process.argv.slice(3)], { stdio: 'inherit' });
  process.exit(await new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1))));
}
const filters = process.argv.slice(2);
const benches = readdirSync(dir)
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();
if (benches.length === 0) {
  console.error(`no benchmark matches ${filters.join(', ')}`);
  process.exit(2);
}

let stack: Stack | undefined;
if (!endpointsFromEnv()) stack = await startStack({ log: (line) => console.error(`stack: ${line}`), given: givenEndpoints() });
const env = { ...process.env, ...(stack ? endpointsToEnv(stack.endpoints) : {}) };

const results: { bench: string; code: number | null; seconds: number }[] = [];
try {
  for (const bench of benches) {
    console.log(`\n=== ${bench}`);
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', join(dir, bench)], { env, stdio: 'inherit' });
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    results.push({ bench, code, seconds: (Date.now() - started) / 1000 });
  }
} finally {
  await stack?.stop();
}

console.log('\n=== summary');
for (const r of results) console.log(`  ${r.bench.padEnd(28)} ${r.code === 0 ? 'ok' : `failed (${r.code})`}  ${r.seconds.toFixed(0)} s`);
process.exit(results.every((r) => r.code === 0) ? 0 : 1);
