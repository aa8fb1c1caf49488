import { connectKafka } from '@opentrail/runtime';
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { InstalledStack } from './install.js';
import { freePort, httpOk, spawnServer, tcpReachable, waitUntilReady, type ServerProcess } from './process.js';
import { isKafka4 } from './versions.js';

const run = promisify(execFile);

export interface KafkaServer {
  server: ServerProcess;
  brokers: string;
  port: number;
  controllerPort: number;
}

/**
 * Apache Kafka, single node, KRaft combined mode (local-stack.md §1.3). Advertises 127.0.0.1,
 * not localhost: Node may resolve localhost to ::1 while the listener is IPv4 only.
 * `restartOf` starts the broker of an earlier start again, on its ports and with its data (a
 * broker restart, as the chaos suite does); without it every start is a clean slate.
 */
export async function startKafka(installed: InstalledStack, dir: string, restartOf?: KafkaServer): Promise<KafkaServer> {
  const [port, controllerPort] = restartOf ? [restartOf.port, restartOf.controllerPort] : [await freePort(), await freePort()];
  const dataDir = join(dir, 'kafka-data');
  // A data directory formatted for another cluster id would be refused, so a fresh start wipes it.
  if (!restartOf) await rm(dataDir, { recursive: true, force: true });
  await mkdir(dataDir, { recursive: true });
  const properties = join(dir, 'kafka.properties');
  await writeFile(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'inter.broker.listener.name=PLAINTEXT',
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${dataDir}`,
      'num.partitions=1',
      // One broker: every internal topic has a single replica, and few partitions so the
      // first group join and the first transaction are quick.
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=true',
      'log.cleaner.dedupe.buffer.size=1048577',
      'log.cleaner.backoff.ms=1000',
      '',
    ].join('\n'),
  );
  const log4j = join(dir, isKafka4(installed.versions.kafka) ? 'log4j2.properties' : 'log4j.properties');
  await writeFile(
    log4j,
    isKafka4(installed.versions.kafka)
      ? 'appender.console.type=Console\nappender.console.name=STDOUT\nappender.console.layout.type=PatternLayout\nappender.console.layout.pattern=[%d] %p %m (%c)%n\nrootLogger.level=warn\nrootLogger.appenderRef.stdout.ref=STDOUT\nlogger.raft.name=kafka.server.KafkaRaftServer\nlogger.raft.level=info\n'
      : 'log4j.rootLogger=WARN, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\nlog4j.appender.stdout.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\nlog4j.logger.kafka.server.KafkaRaftServer=INFO\n',
  );
  const jvm = [
    '-Xms256m',
    '-Xmx768m',
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    isKafka4(installed.versions.kafka) ? `-Dlog4j2.configurationFile=${log4j}` : `-Dlog4j.configuration=file:${log4j}`,
    '-cp',
    join(installed.kafkaLibs, '*'),
  ];
  if (!restartOf) {
    const { stdout: clusterId } = await run('java', [...jvm, 'kafka.tools.StorageTool', 'random-uuid']);
    await run('java', [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId.trim(), '-c', properties, '--ignore-formatted']);
  }

  const server = spawnServer({ name: 'kafka', command: 'java', args: [...jvm, 'kafka.Kafka', properties], logFile: join(dir, 'kafka.log') });
  const brokers = `127.0.0.1:${port}`;
  await waitUntilReady(server, async () => (await tcpReachable(port)) && kafkaAnswers(brokers));
  return { server, brokers, port, controllerPort };
}

/** The broker is ready when a client can see the cluster and its metadata. */
async function kafkaAnswers(brokers: string): Promise<boolean> {
  const admin = connectKafka({ brokers: [brokers], retries: 0 }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.listTopics();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Apicurio Registry with in-memory storage; clients use its Confluent-compatible API (local-stack.md §2.3). */
export async function startRegistry(installed: InstalledStack, dir: string): Promise<{ server: ServerProcess; url: string }> {
  const [port, managementPort] = [await freePort(), await freePort()];
  const server = spawnServer({
    name: 'apicurio-registry',
    command: installed.registryJava,
    args: [
      '-Xmx384m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Dquarkus.http.host=127.0.0.1',
      `-Dquarkus.http.port=${port}`,
      // Quarkus's management interface (health, metrics) binds 0.0.0.0:9000 by default, which
      // would keep a second stack from starting beside the first.
      '-Dquarkus.management.host=127.0.0.1',
      `-Dquarkus.management.port=${managementPort}`,
      // Deleting subjects lets tests and the demo start clean without a restart.
      '-Dapicurio.rest.deletion.artifact.enabled=true',
      '-Dapicurio.rest.deletion.artifact-version.enabled=true',
      '-jar',
      installed.apicurioJar,
    ],
    logFile: join(dir, 'registry.log'),
  });
  const url = `http://127.0.0.1:${port}/apis/ccompat/v7`;
  await waitUntilReady(server, () => httpOk(`${url}/subjects`));
  return { server, url };
}

/** moto server: S3, KMS, SNS and SQS on one port (local-stack.md §3.1). */
export async function startMoto(installed: InstalledStack, dir: string, port?: number): Promise<{ server: ServerProcess; endpoint: string }> {
  const chosen = port ?? (await freePort());
  const server = spawnServer({
    name: 'moto',
    command: join(installed.venvBin, 'moto_server'),
    args: ['-H', '127.0.0.1', '-p', String(chosen)],
    logFile: join(dir, `moto-${chosen}.log`),
  });
  const endpoint = `http://127.0.0.1:${chosen}`;
  await waitUntilReady(server, () => httpOk(`${endpoint}/moto-api/`));
  return { server, endpoint };
}
