import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { installTrino } from './install.js';
import { findJava } from './java.js';
import { freePort, spawnServer, waitUntilReady, type ServerProcess } from './process.js';

const run = promisify(execFile);

/** Trino 476 is compiled for Java 24 and refuses to start on anything older. */
export const TRINO_MIN_JAVA = 24;

/**
 * The plugins kept from the server tarball; the other 53 of its 55 (every other connector, the
 * exchange and resource-group managers, password authenticators, event listeners, ...) are deleted
 * after extraction. The server loads every plugin directory at start-up, each in a class loader
 * of its own: on this 2-core box all 55 took ~3 s of the start and ~100-200 MB more RSS, these two
 * 0.8 s. (The tarball's plugin jars are mostly hard links to lib/, so the install shrinks from
 * ~900 MB to ~500 MB, not more.)
 * - hive: the lake's catalog (external Parquet tables over the archive in S3, file metastore).
 * - iceberg: only for `bench/lake.bench.ts`, which measures Iceberg tables (JDBC catalog in
 *   PostgreSQL) against the lake's Hive tables (the `icebergCatalog` option below); kept so that
 *   without reinstalling.
 * File-based system access control is part of the server's core (lib/), not a plugin.
 */
export const TRINO_PLUGINS = ['hive', 'iceberg'] as const;

const MAVEN_CENTRAL = 'https://repo1.maven.org/maven2';

function tarballUrl(version: string, env: NodeJS.ProcessEnv = process.env): string {
  // A mirror of Maven Central (a company proxy) may be named; the layout is Maven's.
  const repo = (env.OPENTRAIL_MAVEN_REPO_URL ?? MAVEN_CENTRAL).replace(/\/+$/, '');
  return `${repo}/io/trino/trino-server/${version}/trino-server-${version}.tar.gz`;
}

/**
 * Downloads io.trino:trino-server:<version> from Maven Central into `dir`, checks the archive
 * against the `.sha1` Maven Central publishes beside it, extracts it (the server's `lib/` and
 * `plugin/` end up directly under `dir`) and removes every plugin but TRINO_PLUGINS. The archive
 * (~820 MB) is deleted once extracted: the extracted tree is what runs, and a reinstall downloads
 * again at the speed of the network, not of the disk.
 * Called by installStack inside its lock and `once` marker: `dir` is empty here.
 */
export async function installTrinoServer(dir: string, version: string, log: (line: string) => void = () => {}): Promise<void> {
  const url = tarballUrl(version);
  const archive = join(dir, `trino-server-${version}.tar.gz`);
  const sha1Response = await fetch(`${url}.sha1`);
  if (!sha1Response.ok) throw new Error(`GET ${url}.sha1: HTTP ${sha1Response.status}`);
  // Maven's .sha1 files hold the hex digest, sometimes followed by the file name.
  const expected = (await sha1Response.text()).trim().split(/\s+/)[0]!.toLowerCase();

  const started = Date.now();
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`GET ${url}: HTTP ${response.status}`);
  const hash = createHash('sha1');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(response.body), hashing, createWriteStream(archive));
  const actual = hash.digest('hex');
  if (actual !== expected) {
    await rm(archive, { force: true });
    throw new Error(`${url}: SHA-1 ${actual} does not match the published ${expected}`);
  }
  log(`downloaded and verified ${url} (SHA-1 ${actual}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  await run('tar', ['-xzf', archive, '-C', dir, '--strip-components=1'], { maxBuffer: 1 << 24 });
  await rm(archive, { force: true });
  const pluginDir = join(dir, 'plugin');
  const plugins = await readdir(pluginDir);
  const missing = TRINO_PLUGINS.filter((p) => !plugins.includes(p));
  if (missing.length > 0) throw new Error(`trino-server-${version} has no plugin ${missing.join(', ')} under ${pluginDir}`);
  await Promise.all(plugins.filter((p) => !(TRINO_PLUGINS as readonly string[]).includes(p)).map((p) => rm(join(pluginDir, p), { recursive: true, force: true })));
  log(`extracted Trino ${version}; kept plugins ${TRINO_PLUGINS.join(', ')} of ${plugins.length}`);
}

/**
 * The java binary for Trino: $OPENTRAIL_TRINO_JAVA_HOME when set (taken as given: Trino itself
 * refuses a Java older than it needs, and says so in its log), else the newest JDK 24+ that
 * findJava sees ($OPENTRAIL_JAVA_HOME, $JAVA_HOME, /usr/lib/jvm/*, PATH). Kafka and the registry
 * keep running on whatever they run on; only Trino needs this new a Java.
 */
export async function findTrinoJava(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.OPENTRAIL_TRINO_JAVA_HOME) return join(env.OPENTRAIL_TRINO_JAVA_HOME, 'bin', 'java');
  const java = await findJava(TRINO_MIN_JAVA);
  if (!java) {
    throw new Error(`Trino needs Java ${TRINO_MIN_JAVA}+ and none was found (install Temurin 25 under /usr/lib/jvm, or set OPENTRAIL_TRINO_JAVA_HOME)`);
  }
  return java.bin;
}

/** The Trino user that owns the lake's schemas and tables and registers partitions. */
export const TRINO_ADMIN_USER = 'lake-admin';
/** The Trino user that runs users' lake queries: SELECT on catalog `lake`, nothing else. */
export const TRINO_QUERY_USER = 'lake-query';
/** The one catalog: the Hive connector over the archive in S3. */
export const TRINO_LAKE_CATALOG = 'lake';
/** The measuring catalog (StartTrinoOptions.icebergCatalog). */
export const TRINO_ICEBERG_CATALOG = 'iceberg';

export interface StartTrinoOptions {
  /** Holds etc/ (the generated configuration), data/ (the node's data directory) and the logs. */
  dir: string;
  /** S3 endpoint (moto in the local stack); path-style addressing is used. */
  awsEndpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** HTTP port on 127.0.0.1; a free one by default. */
  port?: number;
  /**
   * Where the Hive file metastore keeps schema, table and partition metadata: an s3:// URI (beside
   * the data, so that it outlives this server and its directory) or a local directory. Default:
   * `<dir>/metastore`.
   */
  metastoreDir?: string;
  /** Maximum heap, e.g. '1536M' (default), sized for a two-core, shared box. */
  heap?: string;
  /**
   * A JDK AOT cache file (JEP 483/514, Java 25): used when it exists, else written by this run when
   * the JVM exits (which then takes ~10 s longer to stop). Classes on lib/ then start pre-loaded and
   * linked; plugin classes (their own class loaders) are not cached. Off by default: it is a ~140 MB
   * file per JDK build, a cache made by another JDK is ignored with a warning, and two servers must
   * not write the same file at once.
   */
  aotCache?: string;
  /** The Trino server's home (lib/, plugin/); default: installed into the cache on first use. */
  home?: string;
  /**
   * A second catalog, `iceberg` (TRINO_ICEBERG_CATALOG): the Iceberg connector with its JDBC catalog in
   * PostgreSQL, writable by `lake-admin` only. The lake does not use it; `bench/lake.bench.ts` does,
   * to measure Iceberg tables against the lake's Hive tables on the same server.
   */
  icebergCatalog?: IcebergJdbcCatalog;
  log?: (line: string) => void;
}

export interface IcebergJdbcCatalog {
  /** jdbc:postgresql://host:port/database */
  jdbcUrl: string;
  user: string;
  password: string;
  /** Where new schemas and tables go: an s3:// URI. */
  warehouse: string;
}

export interface TrinoServer {
  /** Base URL, e.g. http://127.0.0.1:41234 (the client protocol's /v1/statement is under it). */
  url: string;
  port: number;
  /** The JVM's process id (java runs directly, no launcher in between). */
  pid: number;
  server: ServerProcess;
  /** Trino's own log (airlift); the JVM's stdout and stderr go to launcher.log beside it. */
  serverLog: string;
  /** Milliseconds from spawning the JVM to /v1/info saying it has finished starting. */
  startupMs: number;
  /** SIGTERM (Trino shuts down through its lifecycle hooks), then SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * A single-node Trino (coordinator and worker in one JVM) listening on 127.0.0.1, with one catalog,
 * `lake`: the Hive connector with a file metastore and Trino's native S3 file system pointed at
 * `awsEndpoint`. File-based system access control limits `lake-query` to SELECT on `lake` and lets
 * `lake-admin` create schemas and tables and register partitions; any other user may do nothing.
 * The server logs to `<dir>/var/log/server.log` (the JVM's own output to `<dir>/var/log/launcher.log`).
 */
export async function startTrino(options: StartTrinoOptions): Promise<TrinoServer> {
  const log = options.log ?? (() => {});
  const home = options.home ?? (await installTrino(log));
  const java = await findTrinoJava();
  const port = options.port ?? (await freePort());
  const etc = join(options.dir, 'etc');
  const dataDir = join(options.dir, 'data');
  const logDir = join(options.dir, 'var', 'log');
  const metastoreDir = options.metastoreDir ?? join(options.dir, 'metastore');
  await Promise.all([etc, join(etc, 'catalog'), dataDir, logDir].map((d) => mkdir(d, { recursive: true })));
  if (!metastoreDir.includes('://')) await mkdir(metastoreDir, { recursive: true });

  const nodeProperties: Record<string, string> = {
    'node.environment': 'opentrail',
    // A node id of its own per start: this is a one-node cluster whose state is not kept.
    'node.id': randomUUID(),
    'node.data-dir': dataDir,
    // Bind and announce 127.0.0.1 only (the default binds every interface, and announces whatever
    // address the host name resolves to, which the coordinator then calls itself on).
    'node.bind-ip': '127.0.0.1',
    'node.internal-address': '127.0.0.1',
  };
  const files: Record<string, string> = {
    'node.properties': properties(nodeProperties),
    'config.properties': properties({
      coordinator: 'true',
      'node-scheduler.include-coordinator': 'true',
      'http-server.http.port': String(port),
      'discovery.uri': `http://127.0.0.1:${port}`,
      // Sized for a 2-core box shared with Kafka, the registry and PostgreSQL: a lake query scans
      // Parquet in S3 and aggregates a little; one that needs more than this is refused, not swapped.
      'query.max-memory': '512MB',
      'query.max-memory-per-node': '512MB',
      'task.concurrency': '2',
      'catalog.config-dir': join(etc, 'catalog'),
      'plugin.dir': join(home, 'plugin'),
      'access-control.config-files': join(etc, 'access-control.properties'),
      'log.path': join(logDir, 'server.log'),
      'log.enable-console': 'false',
      'http-server.log.path': join(logDir, 'http-request.log'),
      // Nothing here uses the web UI; off, it is one less thing served to whoever reaches the port.
      'web-ui.enabled': 'false',
    }),
    'jvm.config': `${trinoJvmOptions(options.heap ?? '1536M').join('\n')}\n`,
    'log.properties': properties({ 'io.trino': 'INFO' }),
    'access-control.properties': properties({
      'access-control.name': 'file',
      'security.config-file': join(etc, 'rules.json'),
    }),
    'rules.json': `${JSON.stringify(accessRules(options.icebergCatalog ? [TRINO_ICEBERG_CATALOG] : []), null, 2)}\n`,
    [join('catalog', `${TRINO_LAKE_CATALOG}.properties`)]: properties(lakeCatalog(options, metastoreDir)),
    ...(options.icebergCatalog ? { [join('catalog', `${TRINO_ICEBERG_CATALOG}.properties`)]: properties(icebergCatalog(options, options.icebergCatalog)) } : {}),
  };
  await Promise.all(Object.entries(files).map(([name, text]) => writeFile(join(etc, name), text, { mode: 0o600 })));

  // java runs directly rather than through bin/launcher (a Go binary): the process we signal and
  // measure is the JVM itself, and the command line is the launcher's (lib/* on the classpath,
  // jvm.config, node.properties and the config file as system properties).
  const args = [
    '-cp', join(home, 'lib', '*'),
    ...trinoJvmOptions(options.heap ?? '1536M'),
    ...(options.aotCache ? [existsSync(options.aotCache) ? `-XX:AOTCache=${options.aotCache}` : `-XX:AOTCacheOutput=${options.aotCache}`] : []),
    ...Object.entries(nodeProperties).map(([k, v]) => `-D${k}=${v}`),
    `-Dconfig=${join(etc, 'config.properties')}`,
    `-Dlog.levels-file=${join(etc, 'log.properties')}`,
    'io.trino.server.TrinoServer',
  ];
  log(`starting Trino (${java}) on 127.0.0.1:${port}, logs in ${logDir}`);
  const started = Date.now();
  const server = spawnServer({ name: 'trino', command: java, args, cwd: dataDir, logFile: join(logDir, 'launcher.log') });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(server, trinoStarted(url), 180_000);
  } catch (err) {
    // The JVM's own output says little once airlift's logging takes over; the reason is in server.log.
    await server.stop();
    throw new Error(`${(err as Error).message}\n--- ${join(logDir, 'server.log')} ---\n${await serverLogErrors(join(logDir, 'server.log'))}`);
  }
  const startupMs = Date.now() - started;
  log(`Trino ready in ${(startupMs / 1000).toFixed(1)} s at ${url}`);
  return { url, port, pid: server.pid, server, serverLog: join(logDir, 'server.log'), startupMs, stop: (timeoutMs = 30_000) => server.stop(timeoutMs) };
}

/**
 * Ready once the coordinator says it is no longer starting (its catalogs are then loaded) and its
 * node manager has listed itself as an active worker for NODE_MAP_SETTLE_MS: until the scheduler's
 * node map (memoised for seconds) has it, a query with a table scan fails with NO_NODES_AVAILABLE
 * while SELECT 1 already works (seen in CI on a busy machine).
 */
function trinoStarted(url: string): () => Promise<boolean> {
  let activeSince: number | undefined;
  return async () => {
    const res = await fetch(`${url}/v1/info`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return false;
    const info = (await res.json()) as { starting?: boolean };
    if (info.starting !== false) return false;
    const rows = await trinoRows(url, "SELECT count(*) FROM system.runtime.nodes WHERE state = 'active'");
    if (Number(rows[0]?.[0] ?? 0) < 1) {
      activeSince = undefined;
      return false;
    }
    activeSince ??= Date.now();
    return Date.now() - activeSince >= NODE_MAP_SETTLE_MS;
  };
}

/** Longer than the node scheduler's memoised node map lives (5 s in Trino's NodeScheduler). */
const NODE_MAP_SETTLE_MS = 6000;

/** One statement through Trino's REST protocol as the admin user: its rows (none when it failed). */
async function trinoRows(url: string, statement: string): Promise<unknown[][]> {
  let page = (await (await fetch(`${url}/v1/statement`, { method: 'POST', body: statement, headers: { 'X-Trino-User': TRINO_ADMIN_USER }, signal: AbortSignal.timeout(5000) })).json()) as { nextUri?: string; data?: unknown[][]; error?: unknown };
  const rows: unknown[][] = [...(page.data ?? [])];
  while (page.nextUri && !page.error) {
    page = (await (await fetch(page.nextUri, { signal: AbortSignal.timeout(5000) })).json()) as typeof page;
    rows.push(...(page.data ?? []));
  }
  return page.error ? [] : rows;
}

/**
 * What explains a failed start: the ERROR lines, Guice/airlift's numbered configuration errors and
 * the `Caused by:` chain, without the stack frames in between.
 */
async function serverLogErrors(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '(no log)');
  const wanted = text.split('\n').filter((l) => /\tERROR\t|^Caused by: |^\d+\) /.test(l));
  return (wanted.length > 0 ? wanted : text.split('\n').slice(-40)).slice(0, 40).join('\n');
}

/** Resident set size of a process in bytes (from /proc; undefined where there is none). */
export async function processRss(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const kb = status && /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : undefined;
}

/**
 * Trino's recommended JVM options (docs: installation/deployment), scaled down: a small heap, a
 * smaller code cache, and no heap dump on OOM (a gigabyte file in a test directory helps no one).
 */
function trinoJvmOptions(heap: string): string[] {
  return [
    '-server',
    `-Xmx${heap}`,
    '-XX:+UseG1GC',
    '-XX:+ExplicitGCInvokesConcurrent',
    '-XX:+ExitOnOutOfMemoryError',
    '-XX:-OmitStackTraceInFastThrow',
    '-XX:ReservedCodeCacheSize=256M',
    '-XX:PerMethodRecompilationCutoff=10000',
    '-XX:PerBytecodeRecompilationCutoff=10000',
    '-Djdk.attach.allowAttachSelf=true',
    '-Djdk.nio.maxCachedBufferSize=2000000',
    '-Dfile.encoding=UTF-8',
    // The session time zone of a client that names none: CloudTrail times are UTC.
    '-Duser.timezone=UTC',
    '-XX:+EnableDynamicAgentLoading',
    '--enable-native-access=ALL-UNNAMED',
  ];
}

/** The `lake` catalog: Hive tables (external, Parquet) in S3, their metadata in a file metastore. */
function lakeCatalog(options: StartTrinoOptions, metastoreDir: string): Record<string, string> {
  return {
    'connector.name': 'hive',
    'hive.metastore': 'file',
    ...(metastoreDir.includes('://')
      ? { 'hive.metastore.catalog.dir': metastoreDir }
      : {
          // A local metastore goes through Trino's local file system, whose root is this directory:
          // local:/// means the directory itself, and no location can reach outside it.
          'hive.metastore.catalog.dir': 'local:///',
          'fs.native-local.enabled': 'true',
          'local.location': metastoreDir,
        }),
    ...s3FileSystem(options),
    // The lake is written by the lake service, never by Trino: tables are EXTERNAL over its
    // prefixes, and partitions are registered from what is in S3 before each query.
    'hive.non-managed-table-writes-enabled': 'false',
    'hive.allow-register-partition-procedure': 'true',
    // The zone the Parquet reader converts zone-adjusted timestamps with: UTC, like the JVM's
    // (-Duser.timezone), so that no reading of an event time depends on the host's zone.
    'hive.parquet.time-zone': 'UTC',
  };
}

/**
 * The `iceberg` catalog: Iceberg tables in S3 whose catalog (table name → current metadata file) is
 * two tables in PostgreSQL, which must exist (ICEBERG_JDBC_CATALOG_DDL): the connector does not
 * create them.
 */
function icebergCatalog(options: StartTrinoOptions, catalog: IcebergJdbcCatalog): Record<string, string> {
  return {
    'connector.name': 'iceberg',
    'iceberg.catalog.type': 'jdbc',
    'iceberg.jdbc-catalog.driver-class': 'org.postgresql.Driver',
    'iceberg.jdbc-catalog.connection-url': catalog.jdbcUrl,
    'iceberg.jdbc-catalog.connection-user': catalog.user,
    'iceberg.jdbc-catalog.connection-password': catalog.password,
    'iceberg.jdbc-catalog.catalog-name': 'opentrail',
    'iceberg.jdbc-catalog.default-warehouse-dir': catalog.warehouse,
    'iceberg.file-format': 'PARQUET',
    ...s3FileSystem(options),
  };
}

/** Trino's native S3 file system, pointed at the stack's S3 (moto): path-style, static keys. */
function s3FileSystem(options: StartTrinoOptions): Record<string, string> {
  return {
    'fs.native-s3.enabled': 'true',
    's3.endpoint': options.awsEndpoint,
    's3.path-style-access': 'true',
    's3.region': options.region,
    's3.aws-access-key': options.accessKeyId,
    's3.aws-secret-key': options.secretAccessKey,
  };
}

/**
 * The tables of Iceberg's JDBC catalog (org.apache.iceberg.jdbc.JdbcUtil, schema V1), for
 * PostgreSQL: the Iceberg connector expects them to exist.
 */
export const ICEBERG_JDBC_CATALOG_DDL = [
  `CREATE TABLE IF NOT EXISTS iceberg_tables (catalog_name VARCHAR(255) NOT NULL, table_namespace VARCHAR(255) NOT NULL,
     table_name VARCHAR(255) NOT NULL, metadata_location VARCHAR(1000), previous_metadata_location VARCHAR(1000),
     iceberg_type VARCHAR(5), PRIMARY KEY (catalog_name, table_namespace, table_name))`,
  `CREATE TABLE IF NOT EXISTS iceberg_namespace_properties (catalog_name VARCHAR(255) NOT NULL, namespace VARCHAR(255) NOT NULL,
     property_key VARCHAR(255) NOT NULL, property_value VARCHAR(1000), PRIMARY KEY (catalog_name, namespace, property_key))`,
];

/**
 * File-based system access control (docs: security/file-system-access-control). Every section
 * is explicit: a section left out means "allow everything" for that kind of check, and the first
 * matching rule wins. This sits under the lake's own SQL parser as a second line: even a query that
 * got past it can only read the lake.
 */
function accessRules(measuringCatalogs: readonly string[]): object {
  const admin = TRINO_ADMIN_USER;
  const query = TRINO_QUERY_USER;
  const lake = TRINO_LAKE_CATALOG;
  // The admin's catalogs: the lake's, and a measuring one where the bench asks for it.
  const owned = [lake, ...measuringCatalogs].join('|');
  return {
    catalogs: [
      { user: admin, catalog: `${owned}|system`, allow: 'all' },
      { user: query, catalog: lake, allow: 'read-only' },
      // Without this the system catalog (runtime.queries: everyone's SQL text) is open to all.
      { catalog: '.*', allow: 'none' },
    ],
    schemas: [
      { user: admin, catalog: owned, owner: true },
      { catalog: '.*', owner: false },
    ],
    tables: [
      { user: admin, catalog: `${owned}|system`, privileges: ['SELECT', 'INSERT', 'DELETE', 'UPDATE', 'OWNERSHIP'] },
      { user: query, catalog: lake, privileges: ['SELECT'] },
    ],
    procedures: [
      {
        user: admin,
        catalog: lake,
        schema: 'system',
        procedure: 'register_partition|unregister_partition|sync_partition_metadata|drop_stats|flush_metadata_cache',
        privileges: ['EXECUTE'],
      },
    ],
    // Only system.builtin functions (always allowed); no table functions such as `query`.
    functions: [],
    // The admin may read /v1/node and the like; the query user may not.
    system_information: [{ user: admin, allow: ['read'] }],
    queries: [
      { user: admin, allow: ['execute', 'view', 'kill'] },
      // Users always see and kill their own queries; lake-query sees no one else's.
      { user: query, allow: ['execute'] },
    ],
    system_session_properties: [{ user: admin, allow: true }],
    catalog_session_properties: [{ user: admin, allow: true }],
    impersonation: [],
    // ALTER ... SET AUTHORIZATION: nobody (ownership stays with lake-admin).
    authorization: [],
  };
}

function properties(entries: Record<string, string>): string {
  return `${Object.entries(entries).map(([k, v]) => `${k}=${v}`).join('\n')}\n`;
}
