// Makes `npm start` / `npm test` work on a fresh clone: install the locked dependencies once.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
if (!existsSync(`${root}node_modules/.package-lock.json`)) {
  console.error('opentrail: installing dependencies (npm ci), once…');
  execSync('npm ci --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
}
