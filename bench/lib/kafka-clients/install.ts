/**
 * @confluentinc/kafka-javascript on demand. Its prebuilt binaries come from GitHub releases,
 * which a machine without that access cannot fetch, so it is built from source (librdkafka and the
 * binding, about ten minutes on two cores) against the system's libssl, zlib, zstd, sasl, lz4 and
 * curl (CKJS_LINKING=dynamic; Debian: libssl-dev zlib1g-dev libzstd-dev libsasl2-dev liblz4-dev
 * libcurl4-openssl-dev, build-essential, python3). A build that can fail would break `npm ci` on
 * a fresh machine, so the package is not in the lockfile: it is installed once, for the running
 * Node's ABI, into ~/.cache/opentrail/kafka-clients/confluent-<version>-node<abi>.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export const CONFLUENT_VERSION = '1.10.1';

/** The directory the package is installed in (built now if it is not yet); throws with the build's reason. */
export function ensureConfluent(log: (line: string) => void): string {
  const cache = process.env.OPENTRAIL_CACHE_DIR ?? join(homedir(), '.cache', 'opentrail');
  const dir = join(cache, 'kafka-clients', `confluent-${CONFLUENT_VERSION}-node${process.versions.modules}`);
  if (existsSync(join(dir, 'node_modules', '@confluentinc', 'kafka-javascript', 'build', 'Release'))) return dir;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "name": "opentrail-kafka-client-cache", "private": true }\n');
  log(`building @confluentinc/kafka-javascript@${CONFLUENT_VERSION} from source into ${dir} (once; several minutes)`);
  const nodeDir = dirname(dirname(process.execPath));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', `@confluentinc/kafka-javascript@${CONFLUENT_VERSION}`], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      // The running node first: node-gyp builds for the node that runs it, with its own headers.
      PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      CKJS_LINKING: 'dynamic',
      npm_config_build_from_source: 'true',
      ...(existsSync(join(nodeDir, 'include', 'node', 'node.h')) ? { npm_config_nodedir: nodeDir } : {}),
    },
  });
  return dir;
}
