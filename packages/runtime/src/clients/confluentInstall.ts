/**
 * Where @confluentinc/kafka-javascript comes from. It is a native module (librdkafka and its
 * binding); its prebuilt binaries come from GitHub releases, which a machine without that access
 * cannot fetch, so it is built from source against the system's libssl, zlib, zstd, sasl, lz4 and
 * curl (CKJS_LINKING=dynamic; Debian: libssl-dev zlib1g-dev libzstd-dev libsasl2-dev liblz4-dev
 * libcurl4-openssl-dev, build-essential, python3). That build takes many minutes on two cores and
 * can fail where those packages are missing, so it is not in the lockfile (a failure would break
 * `npm ci`, and every install would pay for it): it is built once per machine and Node ABI into
 * ~/.cache/opentrail/kafka-clients/confluent-<version>-node<abi>, like the stack's Kafka.
 *
 * Run directly (`node packages/runtime/src/clients/confluentInstall.ts`, as scripts/ensure-deps.mjs
 * does before `npm test`) it builds the package for the node that runs it. Node imports only, and
 * only erasable TypeScript: Node 24 runs this file without tsx, before anything else is installed.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export const CONFLUENT_PACKAGE = '@confluentinc/kafka-javascript';
export const CONFLUENT_VERSION = '1.10.1';
/** Written after a build that finished: a directory without it holds an interrupted build. */
const BUILT_MARK = '.built';

/** The directory whose node_modules holds the package built for the running Node. */
export function confluentCacheDir(): string {
  const cache = process.env.OPENTRAIL_CACHE_DIR ?? join(homedir(), '.cache', 'opentrail');
  return join(cache, 'kafka-clients', `confluent-${CONFLUENT_VERSION}-node${process.versions.modules}`);
}

function buildLogPath(dir: string): string {
  return `${dir}.build.log`;
}

export function confluentBuilt(dir = confluentCacheDir()): boolean {
  return existsSync(join(dir, BUILT_MARK));
}

/**
 * Builds the package into the cache unless it is there (returns the directory). Throws with the
 * build's reason; the build's own output goes to stderr only when `verbose`.
 */
export function ensureConfluent(log: (line: string) => void, verbose = false): string {
  const dir = confluentCacheDir();
  if (confluentBuilt(dir)) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "name": "opentrail-kafka-client-cache", "private": true }\n');
  log(`building the Kafka client ${CONFLUENT_PACKAGE}@${CONFLUENT_VERSION} from source into ${dir} (once per machine; 6 to 15 minutes on two cores)…`);
  const started = Date.now();
  const nodeDir = dirname(dirname(process.execPath));
  // The compiler's output goes to a log: on failure its path is in the error, not pages of it on the terminal.
  const buildLog = openSync(buildLogPath(dir), 'w');
  try {
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', `${CONFLUENT_PACKAGE}@${CONFLUENT_VERSION}`], {
      cwd: dir,
      stdio: ['ignore', verbose ? 'inherit' : buildLog, verbose ? 'inherit' : buildLog],
    env: {
      ...process.env,
      // The running node first: node-gyp builds for the node that runs it, with its own headers.
      PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      CKJS_LINKING: 'dynamic',
      // node-pre-gyp reads it: do not try the GitHub download first.
      npm_config_build_from_source: 'true',
        ...(existsSync(join(nodeDir, 'include', 'node', 'node.h')) ? { npm_config_nodedir: nodeDir } : {}),
      },
    });
  } catch (error) {
    throw new Error(`npm install failed (${(error as Error).message.split('\n')[0]}); its output: ${buildLogPath(dir)}`, { cause: error });
  } finally {
    closeSync(buildLog);
  }
  writeFileSync(join(dir, BUILT_MARK), `${new Date().toISOString()} ${Math.round((Date.now() - started) / 1000)} s\n`);
  log(`built ${CONFLUENT_PACKAGE}@${CONFLUENT_VERSION} in ${Math.round((Date.now() - started) / 1000)} s`);
  return dir;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    ensureConfluent((line) => console.error(`opentrail: ${line}`), process.argv.includes('--verbose'));
  } catch (error) {
    const reason = (error as Error).message;
    // Before the demo: one line, the demo runs on kafkajs. Before the tests: the whole story, and a failure.
    if (process.argv.includes('--quiet-failure')) {
      console.error(`opentrail: warning: cannot build ${CONFLUENT_PACKAGE} here (${reason}); the demo runs on kafkajs instead.`);
      process.exit(1);
    }
    let tail = '';
    try {
      tail = readFileSync(buildLogPath(confluentCacheDir()), 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      // no log: the build did not start
    }
    console.error(
      `${tail}\nopentrail: could not build ${CONFLUENT_PACKAGE}: ${reason}\n` +
        'It needs a C/C++ toolchain, python3 and the development packages of libssl, zlib, zstd, sasl, lz4 and curl ' +
        '(Debian: apt-get install build-essential python3 libssl-dev zlib1g-dev libzstd-dev libsasl2-dev liblz4-dev libcurl4-openssl-dev).',
    );
    process.exit(1);
  }
}
